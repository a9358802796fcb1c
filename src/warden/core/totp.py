"""Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP), as virtual MFA devices use.

IAM's virtual MFA devices are HMAC-SHA-1, 6 digits, 30-second steps from the Unix epoch.
Pure: no clock and no randomness here. Callers pass the time (or the step counter) and
the seed; the seed's randomness comes from the caller's ``IdFactory``.

Invariants: codes are compared with ``hmac.compare_digest``; a match reports the counter
it matched so the caller can refuse any counter at or below the last one it accepted
(a code is good once); matching only ever looks ``window`` steps either side of now.
"""

from __future__ import annotations

import base64
import hmac
import struct
import urllib.parse
from collections.abc import Iterable
from datetime import datetime

STEP_SECONDS = 30
DIGITS = 6
WINDOW = 1  # steps accepted either side of now: device clocks drift, people type slowly


def hotp(secret: bytes, counter: int, digits: int = DIGITS, digest: str = "sha1") -> str:
    """RFC 4226 §5.3: the ``digits``-digit code for ``counter`` (zero-padded)."""
    mac = hmac.new(secret, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    binary = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def counter_at(when: datetime | float, step: int = STEP_SECONDS) -> int:
    """The RFC 6238 time step ``T`` containing ``when`` (a datetime or Unix seconds)."""
    seconds = when.timestamp() if isinstance(when, datetime) else when
    return int(seconds // step)


def totp(secret: bytes, when: datetime | float, digits: int = DIGITS, digest: str = "sha1") -> str:
    return hotp(secret, counter_at(when), digits, digest)


def _same(code: str, expected: str) -> bool:
    return hmac.compare_digest(code.encode(), expected.encode())


def _candidates(center: int, window: int) -> Iterable[int]:
    # Now first, then outwards: the common case costs one HMAC.
    yield center
    for distance in range(1, window + 1):
        yield center - distance
        yield center + distance


def match(
    secret: bytes, code: str, center: int, *, window: int = WINDOW, after: int = -1
) -> int | None:
    """The counter within ``center ± window`` whose code is ``code``, or None.

    Counters at or below ``after`` (the last one accepted) never match: replay protection.
    """
    if len(code) != DIGITS or not code.isdigit():
        return None
    for counter in _candidates(center, window):
        if counter > after and counter >= 0 and _same(code, hotp(secret, counter)):
            return counter
    return None


def match_consecutive(
    secret: bytes, first: str, second: str, center: int, *, window: int = WINDOW, after: int = -1
) -> int | None:
    """The counter of ``second`` when ``first`` and ``second`` are the codes of two
    consecutive steps ending within ``center ± window``, or None. IAM asks for two
    consecutive codes when a device is enabled or resynchronised."""
    found = match(secret, second, center, window=window, after=after + 1)
    if found is None or not _same(first, hotp(secret, found - 1)):
        return None
    return found


def base32_seed(secret: bytes) -> str:
    """The seed as authenticator apps take it: RFC 4648 base32, without padding."""
    return base64.b32encode(secret).decode("ascii").rstrip("=")


def seed_from_base32(text: str) -> bytes:
    padded = text.upper() + "=" * (-len(text) % 8)
    return base64.b32decode(padded)


def otpauth_uri(secret: bytes, *, account: str, issuer: str) -> str:
    """The ``otpauth://totp/…`` URI an authenticator app reads from a QR code."""
    label = urllib.parse.quote(f"{issuer}:{account}", safe="@:")
    query = urllib.parse.urlencode(
        {"secret": base32_seed(secret), "issuer": issuer}, quote_via=urllib.parse.quote
    )
    return f"otpauth://totp/{label}?{query}"
