"""Injected randomness: request ids, audit event ids, IAM unique ids, access keys.

AWS identifier shapes: access key ids are ``AKIA``/``ASIA`` + 16 characters of
base32 upper-case; unique ids are a 4-letter prefix (``AIDA`` user, ``AGPA`` group,
``AROA`` role, ``ANPA`` policy) + 17 characters; secret keys are 40 characters.
"""

from __future__ import annotations

import random
import secrets
import string
import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

_B32 = string.ascii_uppercase + "234567"
_SECRET = string.ascii_letters + string.digits + "+/"
# RFC 4122 version 4: version nibble 0100, variant bits 10 (what uuid.UUID(version=4) sets).
_V4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_V4_SET = (0x4000 << 64) | (0x8000 << 48)
# RFC 9562 version 7: 48 bits of Unix milliseconds, version nibble 0111, 12 random bits,
# variant bits 10, 62 random bits.
_V7_VERSION = 0x7 << 76
_V7_VARIANT = 0b10 << 62
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def uuid_text(raw: bytes) -> str:
    """``str(uuid.UUID(bytes=raw))`` without building the object (several per request)."""
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


class IdFactory(Protocol):
    def request_id(self) -> str: ...

    def event_id(self, at: datetime) -> str: ...

    def unique_id(self, prefix: str) -> str: ...

    def access_key_id(self, prefix: str = "AKIA") -> str: ...

    def secret_access_key(self) -> str: ...

    def token_bytes(self, n: int) -> bytes: ...


class RandomIds:
    """Random ids. Secrets and access key ids come from the ``secrets`` module; request
    and audit event ids need only be unique, not unguessable (nothing relies on their being
    secret), so they come from a PRNG seeded from the OS once (``uuid4`` costs a system
    call per id, a measurable share of a request)."""

    def __init__(self) -> None:
        self._prng = random.Random(secrets.randbits(128))
        self._lock = threading.Lock()

    def request_id(self) -> str:
        with self._lock:
            bits = self._prng.getrandbits(128)
        return uuid_text((bits & _V4_CLEAR | _V4_SET).to_bytes(16, "big"))

    def event_id(self, at: datetime) -> str:
        """An audit event's id: a version-7 UUID of the event's time. CloudTrail's eventID
        is a GUID, and so is this; being time-ordered, the audit trail's index of event ids
        grows at its end, so a batch of records dirties a page or two of it rather than a
        random page per record (a quarter of the audit writer's CPU, measured)."""
        millis = (at - _EPOCH) // _MILLISECOND & ((1 << 48) - 1)
        with self._lock:
            rand_a, rand_b = self._prng.getrandbits(12), self._prng.getrandbits(62)
        bits = millis << 80 | _V7_VERSION | rand_a << 64 | _V7_VARIANT | rand_b
        return uuid_text(bits.to_bytes(16, "big"))

    def unique_id(self, prefix: str) -> str:
        return prefix + "".join(secrets.choice(_B32) for _ in range(17))

    def access_key_id(self, prefix: str = "AKIA") -> str:
        return prefix + "".join(secrets.choice(_B32) for _ in range(16))

    def secret_access_key(self) -> str:
        return "".join(secrets.choice(_SECRET) for _ in range(40))

    def token_bytes(self, n: int) -> bytes:
        return secrets.token_bytes(n)
