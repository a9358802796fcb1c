"""Sealing what an instance must not show: master and admin passwords, TLS private keys;
and the passwords RDS makes itself.

Each value is sealed by the key ring (AES-256-GCM) with associated data naming its purpose
and the volume it belongs to, so a ciphertext copied to another row or purpose does not
open. The master password is kept (sealed) rather than only as a SCRAM verifier because
the reconciler needs it after the API returned: to create the master user asynchronously,
after a crash, and to check that the password in the database is still the one set
through the API (``Engine.password_matches``).
"""

from __future__ import annotations

import secrets
import string
from enum import StrEnum

from warden.core.redacted import Redacted
from warden.store.keyring import KeyRing


class Purpose(StrEnum):
    MASTER = "master-password"
    ADMIN = "admin-password"
    TLS_KEY = "tls-key"
    SNAPSHOT_KEY = "snapshot-key"  # an unencrypted cluster's snapshot file key


class Sealer:
    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring

    @staticmethod
    def _aad(purpose: Purpose, owner: str) -> bytes:
        return f"warden/rds/{purpose.value}/{owner}".encode()

    def seal(self, purpose: Purpose, owner: str, value: Redacted[str] | Redacted[bytes]) -> bytes:
        raw = value.reveal()
        data = raw.encode() if isinstance(raw, str) else raw
        return self._ring.seal(data, aad=self._aad(purpose, owner))

    def open_bytes(self, purpose: Purpose, owner: str, sealed: bytes) -> Redacted[bytes]:
        return Redacted(self._ring.unseal(sealed, aad=self._aad(purpose, owner)))

    def open_text(self, purpose: Purpose, owner: str, sealed: bytes) -> Redacted[str]:
        return Redacted(self.open_bytes(purpose, owner, sealed).reveal().decode())


# What RDS puts in the master passwords it generates: printable ASCII without the
# characters RDS forbids ('/', '"', '@', space) and those that break connection strings.
_GENERATED = string.ascii_letters + string.digits + "!#$%&()*+,-.;<=>?[]^_{|}~"
GENERATED_LENGTH = 32


def generated_master_password() -> Redacted[str]:
    """A master password RDS makes for a cluster whose password it manages: 32 characters
    with at least one upper-case letter, lower-case letter, digit and punctuation mark."""
    classes = (string.ascii_uppercase, string.ascii_lowercase, string.digits, _GENERATED[62:])
    while True:
        text = "".join(secrets.choice(_GENERATED) for _ in range(GENERATED_LENGTH))
        if all(any(c in group for c in text) for group in classes):
            return Redacted(text)


def admin_password() -> Redacted[str]:
    """A fresh password for warden's own superuser in one volume (never shown anywhere)."""
    return Redacted(secrets.token_urlsafe(32))
