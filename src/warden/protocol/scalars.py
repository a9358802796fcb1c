"""Wire codecs for scalar values: text in (strict, hostile-input safe), text out.

Every ``parse_*`` function raises ``ValueError`` (never anything else) on input a
real AWS service would reject; callers turn that into the protocol's modelled
error. Every ``format_*`` function accepts what handlers return (``datetime``,
``bytes``, numbers) and produces exactly what botocore's parsers accept.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)

_INT_RE = re.compile(r"[+-]?[0-9]{1,20}")
_FLOAT_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")
_SPECIAL_FLOATS = {"Infinity": math.inf, "-Infinity": -math.inf, "NaN": math.nan}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_SECOND = timedelta(seconds=1)
# The range of ``datetime``: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z.
_MIN_EPOCH = -62135596800.0
_MAX_EPOCH = 253402300799.0


def parse_int(text: str, *, bits: int = 32) -> int:
    if not _INT_RE.fullmatch(text):
        raise ValueError(f"not an integer: {text[:64]!r}")
    value = int(text)
    lo, hi = INT32 if bits == 32 else INT64
    if not lo <= value <= hi:
        raise ValueError(f"integer out of range: {text[:64]!r}")
    return value


def check_int(value: object, *, bits: int = 32) -> int:
    """A JSON number as an integer member: ints only (never bool), in range."""
    if type(value) is not int:
        raise ValueError("expected an integer")
    lo, hi = INT32 if bits == 32 else INT64
    if not lo <= value <= hi:
        raise ValueError("integer out of range")
    return value


def parse_float(text: str) -> float:
    special = _SPECIAL_FLOATS.get(text)
    if special is not None:
        return special
    if not _FLOAT_RE.fullmatch(text):
        raise ValueError(f"not a number: {text[:64]!r}")
    return float(text)


def check_float(value: object) -> float:
    """A JSON value as a float member: a number, or botocore's special strings."""
    if type(value) is float or type(value) is int:
        return _as_float(value)
    if isinstance(value, str) and value in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[value]
    raise ValueError("expected a number")


def _as_float(value: float) -> float:
    try:
        return float(value)
    except OverflowError as exc:  # an int too large for a double
        raise ValueError("number out of range") from exc


def parse_bool(text: str) -> bool:
    # Exactly the two spellings every SDK sends; anything else is refused, not guessed.
    if text == "true":
        return True
    if text == "false":
        return False
    raise ValueError(f"not a boolean: {text[:64]!r}")


def parse_blob(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError("invalid base64") from exc


def from_epoch(value: float) -> datetime:
    if not math.isfinite(value) or not _MIN_EPOCH <= value <= _MAX_EPOCH:
        raise ValueError("timestamp out of range")
    # Rounding to whole microseconds undoes the float division botocore did.
    return _EPOCH + timedelta(microseconds=round(value * 1_000_000))


def parse_timestamp(text: str, fmt: str | None) -> datetime:
    """A timestamp in ``fmt`` (iso8601 | unixTimestamp | rfc822; None: any of them)."""
    try:
        return _parse_timestamp(text, (fmt or "").lower())
    except OverflowError as exc:
        raise ValueError("timestamp out of range") from exc


def _parse_timestamp(text: str, fmt: str) -> datetime:
    if fmt == "unixtimestamp" or (not fmt and _FLOAT_RE.fullmatch(text)):
        return from_epoch(parse_float(text))
    if fmt == "rfc822":
        return _rfc822(text)
    if len(text) > 40:
        raise ValueError("timestamp too long")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        if fmt:
            raise
        return _rfc822(text)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def check_timestamp(value: object, fmt: str | None) -> datetime:
    """A JSON value as a timestamp: epoch seconds (the JSON default) or a string."""
    if type(value) is int or type(value) is float:
        return from_epoch(_as_float(value))
    if isinstance(value, str):
        return parse_timestamp(value, fmt if fmt and fmt.lower() != "unixtimestamp" else None)
    raise ValueError("expected a timestamp")


def _rfc822(text: str) -> datetime:
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError) as exc:
        raise ValueError("invalid timestamp") from exc
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def as_utc(value: object) -> datetime:
    """A handler's timestamp (aware or naive-UTC datetime, or epoch seconds) in UTC."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return from_epoch(float(value))
    raise TypeError(f"expected a datetime, got {type(value).__name__}")


def format_iso(value: object) -> str:
    """ISO 8601 with milliseconds and Z, as the query protocol answers."""
    dt = as_utc(value)
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:"
        f"{dt.second:02d}.{dt.microsecond // 1000:03d}Z"
    )


def format_epoch(value: object) -> int | float:
    dt = as_utc(value)
    delta = dt - _EPOCH
    if delta.microseconds == 0:
        return delta.days * 86400 + delta.seconds
    return delta / _ONE_SECOND


def format_rfc822(value: object) -> str:
    return format_datetime(as_utc(value).replace(microsecond=0), usegmt=True)


def format_timestamp(value: object, fmt: str | None, default: str) -> str | int | float:
    fmt = (fmt or default).lower()
    if fmt == "unixtimestamp":
        return format_epoch(value)
    if fmt == "rfc822":
        return format_rfc822(value)
    return format_iso(value)


def format_float(value: object) -> float | str:
    """A float for a JSON body: botocore writes non-finite values as strings."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return number


def float_text(value: object) -> str:
    formatted = format_float(value)
    return formatted if isinstance(formatted, str) else repr(formatted)


def to_bytes(value: object) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TypeError(f"expected bytes, got {type(value).__name__}")


def b64(value: object) -> str:
    return base64.b64encode(to_bytes(value)).decode("ascii")


def check_text(value: str) -> str:
    """Reject strings that cannot be UTF-8 (lone surrogates from JSON escapes)."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError("invalid unicode in string") from exc
    return value
