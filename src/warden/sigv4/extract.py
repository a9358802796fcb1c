"""Reading what a request claims about its signature, before any key is looked up.

``extract`` turns the Authorization header (or the presign query parameters) into a
``SignatureInfo`` and rejects everything malformed with ``AuthFailure.INCOMPLETE`` and AWS's own
wording. Invariants: it never raises anything but ``SigV4Error``; a returned ``SignatureInfo``
has a 5-part scope ending in ``aws4_request`` whose date is the request's date, signs ``host``,
names only headers that are present, and carries a timezone-aware UTC ``request_time``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import unquote_to_bytes

from warden.sigv4.canonical import ALGORITHM, TERMINATOR, format_amz_date, wire_bytes
from warden.sigv4.errors import AuthFailure, SigV4Error

MAX_PRESIGN_EXPIRES = 604800  # seven days, AWS's ceiling for X-Amz-Expires

_AMZ_DATE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z")
_HEADER_TOKENS = re.compile(r"[,\s]+")
_QUERY_AUTH_PARAMS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature")
_PRESIGN_REQUIRED = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
)


@dataclass(frozen=True, slots=True)
class SignatureInfo:
    """What a request claims: who signed it, for which scope and time, over which headers."""

    access_key_id: str
    scope_date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    request_time: datetime
    presigned: bool
    expires_seconds: int | None
    security_token: str | None
    amz_date: str  # request_time as YYYYMMDDTHHMMSSZ, the string to sign's second line


def _incomplete(message: str) -> SigV4Error:
    return SigV4Error(AuthFailure.INCOMPLETE, message)


def header_value(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    """All values of a (lower-case) header joined with ``,``, as a canonical request sees them."""
    values = [value for key, value in headers if key == name]
    return ",".join(values) if values else None


def _index(headers: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Header name to its values joined with ``,`` (one pass, for repeated look-ups)."""
    index: dict[str, str] = {}
    for name, value in headers:
        index[name] = f"{index[name]},{value}" if name in index else value
    return index


def _decode(component: str) -> str:
    if "%" not in component:
        return component
    return unquote_to_bytes(wire_bytes(component)).decode("utf-8", "replace")


def _amz_query_params(query_string: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for part in query_string.split("&"):
        name, _, value = part.partition("=")
        name = _decode(name)
        if name.startswith("X-Amz-"):
            found.setdefault(name, []).append(_decode(value))
    return found


def extract(
    method: str, raw_path: str, query_string: str, headers: Sequence[tuple[str, str]]
) -> SignatureInfo | None:
    """The claimed signature, or None when the request carries none (neither form).

    ``method`` and ``raw_path`` are part of the signature's coverage, not of its claim; they are
    accepted so callers pass the same request parts here as to ``verify``.
    """
    del method, raw_path
    by_name = _index(headers)
    authorization = by_name.get("authorization", "").strip()
    params = _amz_query_params(query_string)
    query_auth = any(name in params for name in _QUERY_AUTH_PARAMS)
    if authorization and query_auth:
        raise _incomplete(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
            "Signature query string parameter or the Authorization header should be specified"
        )
    if authorization:
        return _from_header(authorization, by_name)
    if query_auth:
        return _from_query(params, by_name)
    return None


def _from_header(raw: str, headers: Mapping[str, str]) -> SignatureInfo:
    algorithm, _, rest = raw.partition(" ")
    fields: dict[str, str] = {}
    # AWS reads nothing past an unknown algorithm, so every part is reported missing.
    if algorithm == ALGORITHM:
        for token in _HEADER_TOKENS.split(rest):
            if not token:
                continue
            name, sep, value = token.partition("=")
            if not sep:
                raise _incomplete(
                    f"'{token}' not a valid key=value pair (missing equal-sign) "
                    f"in Authorization header: '{raw}'."
                )
            if name in fields:
                raise _incomplete(
                    f"Authorization header has a duplicate '{name}' parameter. Authorization={raw}"
                )
            fields[name] = value
    amz_date = headers.get("x-amz-date")
    http_date = headers.get("date")
    problems = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if name not in fields
    ]
    if amz_date is None and http_date is None:
        problems.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if problems:
        raise _incomplete(" ".join(problems) + f" Authorization={raw}")
    request_time = (
        _parse_amz_date(amz_date) if amz_date is not None else _parse_http_date(http_date)
    )
    return _assemble(
        credential=fields["Credential"],
        signed_headers=fields["SignedHeaders"],
        signature=fields["Signature"],
        request_time=request_time,
        headers=headers,
        presigned=False,
        expires_seconds=None,
        security_token=headers.get("x-amz-security-token"),
        malformed_credential=(
            "Authorization header is malformed; the Credential is mal-formed; "
            'expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
        ),
    )


def _from_query(params: Mapping[str, list[str]], headers: Mapping[str, str]) -> SignatureInfo:
    if any(name not in params for name in _PRESIGN_REQUIRED):
        raise _incomplete(
            "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', "
            "'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders'. "
            "Re-examine the query-string parameters."
        )
    for name in (*_PRESIGN_REQUIRED, "X-Amz-Expires", "X-Amz-Security-Token"):
        if len(params.get(name, ())) > 1:
            raise _incomplete(f"The query-string parameter '{name}' must appear only once.")
    single = {name: values[0] for name, values in params.items()}
    if single["X-Amz-Algorithm"] != ALGORITHM:
        raise _incomplete(f'X-Amz-Algorithm only supports "{ALGORITHM}"')
    token = single.get("X-Amz-Security-Token")
    return _assemble(
        credential=single["X-Amz-Credential"],
        signed_headers=single["X-Amz-SignedHeaders"],
        signature=single["X-Amz-Signature"],
        request_time=_parse_amz_date(single["X-Amz-Date"]),
        headers=headers,
        presigned=True,
        expires_seconds=_parse_expires(single.get("X-Amz-Expires")),
        security_token=token if token is not None else headers.get("x-amz-security-token"),
        malformed_credential=(
            "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
            'expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
        ),
    )


def _assemble(
    *,
    credential: str,
    signed_headers: str,
    signature: str,
    request_time: datetime,
    headers: Mapping[str, str],
    presigned: bool,
    expires_seconds: int | None,
    security_token: str | None,
    malformed_credential: str,
) -> SignatureInfo:
    parts = credential.split("/")
    if len(parts) != 5 or not parts[0]:
        raise _incomplete(malformed_credential)
    access_key_id, scope_date, region, service, terminator = parts
    if terminator != TERMINATOR:
        raise _incomplete(
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}', "
            f"not '{terminator}'."
        )
    if not region:
        raise _incomplete("Credential should be scoped to a valid region, not ''.")
    if not service:
        raise _incomplete("Credential should be scoped to correct service: ''.")
    amz_date = format_amz_date(request_time)
    if scope_date != amz_date[:8]:
        raise _incomplete(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{scope_date}' != '{amz_date[:8]}', from '{amz_date}'."
        )
    names = tuple(name.lower() for name in signed_headers.split(";"))
    if "host" not in names:
        raise _incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
        )
    for name in names:
        if name not in headers:
            raise _incomplete(
                f"'{name}' is named as a SignedHeader, but it does not exist in the HTTP request."
            )
    return SignatureInfo(
        access_key_id=access_key_id,
        scope_date=scope_date,
        region=region,
        service=service,
        signed_headers=names,
        signature=signature,
        request_time=request_time,
        presigned=presigned,
        expires_seconds=expires_seconds,
        security_token=security_token,
        amz_date=amz_date,
    )


def _parse_amz_date(value: str) -> datetime:
    match = _AMZ_DATE.fullmatch(value)
    if match is not None:
        year, month, day, hour, minute, second = (int(group) for group in match.groups())
        try:
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            pass
    raise _incomplete(
        f"Date must be in ISO-8601 'basic format'. Got '{value}'. "
        "See http://en.wikipedia.org/wiki/ISO_8601"
    )


def _parse_http_date(value: str | None) -> datetime:
    try:
        parsed = parsedate_to_datetime(value or "")
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC).replace(microsecond=0)
    except (TypeError, ValueError, OverflowError, IndexError):
        raise _incomplete(
            f"Date must be in RFC 1123 format (from the 'Date' header). Got '{value}'."
        ) from None


def _parse_expires(value: str | None) -> int | None:
    if value is None:
        return None
    if not re.fullmatch(r"[0-9]+", value):
        raise _incomplete("X-Amz-Expires should be a number")
    # Count digits before int(): Python refuses to convert very long digit strings.
    digits = value.lstrip("0") or "0"
    if len(digits) > len(str(MAX_PRESIGN_EXPIRES)) or int(digits) > MAX_PRESIGN_EXPIRES:
        raise _incomplete(
            f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGN_EXPIRES}"
        )
    if int(digits) < 1:
        raise _incomplete("X-Amz-Expires must be at least 1 second")
    return int(digits)
