"""Sealing what an instance must not show: master and admin passwords, TLS private keys.

Each value is sealed by the key ring (AES-256-GCM) with associated data naming its purpose
and the volume it belongs to, so a ciphertext copied to another row or purpose does not
open. The master password is kept (sealed) rather than only as a SCRAM verifier because
the reconciler needs it after the API returned: to create the master user asynchronously,
after a crash, and to check that the password in the database is still the one set
through the API (``Engine.password_matches``).
"""

from __future__ import annotations

import secrets
from enum import StrEnum

from warden.core.redacted import Redacted
from warden.store.keyring import KeyRing


class Purpose(StrEnum):
    MASTER = "master-password"
    ADMIN = "admin-password"
    TLS_KEY = "tls-key"


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


def admin_password() -> Redacted[str]:
    """A fresh password for warden's own superuser in one volume (never shown anywhere)."""
    return Redacted(secrets.token_urlsafe(32))
