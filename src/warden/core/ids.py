"""Injected randomness: request ids, IAM unique ids, access keys.

AWS identifier shapes: access key ids are ``AKIA``/``ASIA`` + 16 characters of
base32 upper-case; unique ids are a 4-letter prefix (``AIDA`` user, ``AGPA`` group,
``AROA`` role, ``ANPA`` policy) + 17 characters; secret keys are 40 characters.
"""

from __future__ import annotations

import random
import secrets
import string
import threading
from typing import Protocol

_B32 = string.ascii_uppercase + "234567"
_SECRET = string.ascii_letters + string.digits + "+/"
# RFC 4122 version 4: version nibble 0100, variant bits 10 (what uuid.UUID(version=4) sets).
_V4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_V4_SET = (0x4000 << 64) | (0x8000 << 48)


def uuid_text(raw: bytes) -> str:
    """``str(uuid.UUID(bytes=raw))`` without building the object (several per request)."""
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


class IdFactory(Protocol):
    def request_id(self) -> str: ...

    def unique_id(self, prefix: str) -> str: ...

    def access_key_id(self, prefix: str = "AKIA") -> str: ...

    def secret_access_key(self) -> str: ...

    def token_bytes(self, n: int) -> bytes: ...


class RandomIds:
    """Random ids. Secrets and access key ids come from the ``secrets`` module; request
    ids need only be unique, not unguessable, so they come from a PRNG seeded from the
    OS once (``uuid4`` costs a system call per id, a measurable share of a request)."""

    def __init__(self) -> None:
        self._prng = random.Random(secrets.randbits(128))
        self._lock = threading.Lock()

    def request_id(self) -> str:
        with self._lock:
            bits = self._prng.getrandbits(128)
        return uuid_text((bits & _V4_CLEAR | _V4_SET).to_bytes(16, "big"))

    def unique_id(self, prefix: str) -> str:
        return prefix + "".join(secrets.choice(_B32) for _ in range(17))

    def access_key_id(self, prefix: str = "AKIA") -> str:
        return prefix + "".join(secrets.choice(_B32) for _ in range(16))

    def secret_access_key(self) -> str:
        return "".join(secrets.choice(_SECRET) for _ in range(40))

    def token_bytes(self, n: int) -> bytes:
        return secrets.token_bytes(n)
