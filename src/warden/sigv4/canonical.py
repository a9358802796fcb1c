"""SigV4 canonicalisation: the canonical request, the string to sign and the signing key.

Invariant: for any request botocore's ``SigV4Auth``/``SigV4QueryAuth`` signs (services other
than S3), the canonical request built here from what arrived on the wire is byte-for-byte the
one botocore built before sending. That means: the raw wire path with dot segments removed and
empty segments collapsed, then percent-encoded again (botocore double-encodes for non-S3
services); query names and values decoded and re-encoded with only ``-_.~`` left bare, sorted
by name then value; each signed header's values trimmed, inner whitespace runs collapsed and
duplicates joined with ``,``. Nothing here raises on hostile input: strings that are not valid
UTF-8 are carried through as the bytes they came from.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from urllib.parse import quote, unquote_to_bytes

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
SIGNATURE_PARAM = "X-Amz-Signature"

_UNRESERVED = re.compile(r"[A-Za-z0-9\-_.~]*")


def wire_bytes(text: str) -> bytes:
    """The bytes a wire string stands for, without ever raising.

    The server decodes raw paths and query strings as UTF-8 with ``surrogateescape``, so that
    form round-trips exactly; any other lone surrogate is kept via ``surrogatepass``.
    """
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def format_amz_date(moment: datetime) -> str:
    """``YYYYMMDDTHHMMSSZ`` in UTC; zero-padded by hand because strftime does not pad years."""
    t = moment if moment.tzinfo in (None, UTC) else moment.astimezone(UTC)
    return f"{t.year:04d}{t.month:02d}{t.day:02d}T{t.hour:02d}{t.minute:02d}{t.second:02d}Z"


def uri_encode(value: str | bytes, safe: str = "-_.~") -> str:
    """Percent-encode everything except unreserved characters (and ``safe``), as AWS does."""
    return quote(value if isinstance(value, bytes) else wire_bytes(value), safe=safe)


def remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 plus collapsing empty segments, exactly as botocore does."""
    if not path:
        return ""
    kept: list[str] = []
    for segment in path.split("/"):
        if not segment or segment == ".":
            continue
        if segment == "..":
            if kept:
                kept.pop()
        else:
            kept.append(segment)
    first = "/" if path[0] == "/" else ""
    last = "/" if path[-1] == "/" and kept else ""
    return first + "/".join(kept) + last


def canonical_uri(raw_path: str) -> str:
    normalized = remove_dot_segments(raw_path) if raw_path else "/"
    # The path is encoded a second time on purpose: botocore signs quote(wire path).
    return uri_encode(normalized, safe="/~")


def _reencode(component: str) -> str:
    if _UNRESERVED.fullmatch(component):
        return component
    return quote(unquote_to_bytes(wire_bytes(component)), safe="-_.~")


def canonical_query(query_string: str, *, exclude: str | None = None) -> str:
    """Sorted, re-encoded ``name=value`` pairs; a pair named ``exclude`` is left out."""
    pairs: list[tuple[str, str]] = []
    for part in query_string.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        encoded_name = _reencode(name)
        if encoded_name == exclude:
            continue
        pairs.append((encoded_name, _reencode(value)))
    pairs.sort()
    return "&".join(f"{name}={value}" for name, value in pairs)


def canonical_headers(headers: Iterable[tuple[str, str]], signed_headers: Sequence[str]) -> str:
    """One ``name:value\\n`` line per signed header, in the order the signer listed them."""
    wanted = set(signed_headers)
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        if name in wanted:
            grouped.setdefault(name, []).append(" ".join(value.split()))
    return "".join(f"{name}:{','.join(grouped.get(name, ()))}\n" for name in signed_headers)


def canonical_request(
    *,
    method: str,
    raw_path: str,
    query_string: str,
    headers: Iterable[tuple[str, str]],
    signed_headers: Sequence[str],
    payload_hash: str,
    exclude_query: str | None = None,
) -> str:
    return "\n".join(
        (
            method.upper(),
            canonical_uri(raw_path),
            canonical_query(query_string, exclude=exclude_query),
            canonical_headers(headers, signed_headers),
            ";".join(signed_headers),
            payload_hash,
        )
    )


def credential_scope(date: str, region: str, service: str) -> str:
    return f"{date}/{region}/{service}/{TERMINATOR}"


def string_to_sign(*, amz_date: str, scope: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.digest(key, message.encode("utf-8", "surrogatepass"), "sha256")


def derive_signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    k_date = _hmac(f"AWS4{secret_access_key}".encode("utf-8", "surrogatepass"), date)
    return _hmac(_hmac(_hmac(k_date, region), service), TERMINATOR)


def signature(signing_key: bytes, to_sign: str) -> str:
    return _hmac(signing_key, to_sign).hex()


class SigningKeys:
    """A small thread-safe LRU cache of derived signing keys.

    Keyed by (access key id, SHA-256 of the secret, date, region, service): a rotated or
    replaced secret never hits an old entry, and the secret itself is not held as a key.
    """

    def __init__(self, maxsize: int = 1024) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self._maxsize = maxsize
        self._keys: OrderedDict[tuple[str, bytes, str, str, str], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._keys)

    def get(
        self, *, access_key_id: str, secret_access_key: str, date: str, region: str, service: str
    ) -> bytes:
        secret_digest = hashlib.sha256(secret_access_key.encode("utf-8", "surrogatepass")).digest()
        cache_key = (access_key_id, secret_digest, date, region, service)
        with self._lock:
            found = self._keys.get(cache_key)
            if found is not None:
                self._keys.move_to_end(cache_key)
                return found
        derived = derive_signing_key(secret_access_key, date, region, service)
        with self._lock:
            self._keys[cache_key] = derived
            self._keys.move_to_end(cache_key)
            while len(self._keys) > self._maxsize:
                self._keys.popitem(last=False)
        return derived
