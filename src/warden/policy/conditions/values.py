"""Parsing condition values into comparable form; ``None`` means "not a valid value".

Numbers are exact decimals; dates become exact epoch seconds (ISO 8601 with or
without time and offset, naive read as UTC, or epoch seconds); IP values are
networks (a bare address is /32 or /128); binary values are base64. Nothing here
raises: a value that does not parse is ``None``.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_EPOCH = re.compile(r"-?\d+(?:\.\d+)?")
_EPOCH_ZERO = datetime(1970, 1, 1, tzinfo=UTC)


def number(text: str) -> Decimal | None:
    if len(text) > 64 or not _NUMBER.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def date(text: str) -> Decimal | None:
    """Seconds since the epoch, exactly."""
    if len(text) > 64:
        return None
    if _EPOCH.fullmatch(text):
        return Decimal(text)
    try:
        when = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        delta = when - _EPOCH_ZERO
    except OverflowError:
        return None
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / 1000000


def network(text: str) -> Network | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def binary(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def boolean(text: str) -> bool | None:
    lowered = text.lower()
    return True if lowered == "true" else False if lowered == "false" else None
