"""Injected randomness: request ids, IAM unique ids, access keys.

AWS identifier shapes: access key ids are ``AKIA``/``ASIA`` + 16 characters of
base32 upper-case; unique ids are a 4-letter prefix (``AIDA`` user, ``AGPA`` group,
``AROA`` role, ``ANPA`` policy) + 17 characters; secret keys are 40 characters.
"""

from __future__ import annotations

import secrets
import string
import uuid
from typing import Protocol

_B32 = string.ascii_uppercase + "234567"
_SECRET = string.ascii_letters + string.digits + "+/"


class IdFactory(Protocol):
    def request_id(self) -> str: ...

    def unique_id(self, prefix: str) -> str: ...

    def access_key_id(self, prefix: str = "AKIA") -> str: ...

    def secret_access_key(self) -> str: ...

    def token_bytes(self, n: int) -> bytes: ...


class RandomIds:
    """Cryptographically random ids (the ``secrets`` module)."""

    def request_id(self) -> str:
        return str(uuid.uuid4())

    def unique_id(self, prefix: str) -> str:
        return prefix + "".join(secrets.choice(_B32) for _ in range(17))

    def access_key_id(self, prefix: str = "AKIA") -> str:
        return prefix + "".join(secrets.choice(_B32) for _ in range(16))

    def secret_access_key(self) -> str:
        return "".join(secrets.choice(_SECRET) for _ in range(40))

    def token_bytes(self, n: int) -> bytes:
        return secrets.token_bytes(n)
