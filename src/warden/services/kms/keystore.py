"""Where KMS key material lives, behind a small interface an external KMS or HSM can replace.

``KeyStore`` works on (key id, material version) and never hands material out: callers ask
it to create material, to encrypt or decrypt under one version, and to destroy all of a
key's versions. Every version is kept until the key is destroyed, so ciphertexts made
before a rotation still decrypt.

``SealedKeyStore`` is the default: 256-bit AES-GCM material generated here, stored in the
``kms_key_material`` table sealed by the key ring's internal key (never plaintext at rest),
with associated data binding each sealed row to its key id and version, so a row copied
onto another key or version does not open. Opened material is cached per version (bounded);
material never changes once written, so the cache cannot go stale, and ``destroy`` empties it.

``create`` is idempotent: it runs in its own transaction before the key row that refers to
the version is written, so a crash in between leaves at most an unused version that the
retried operation reuses.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from typing import Protocol

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.exc import IntegrityError

from warden.core.clock import Clock
from warden.core.ids import IdFactory
from warden.store.db import Store
from warden.store.keyring import KeyRing, UnsealError
from warden.store.schema import kms_key_material

NONCE_BYTES = 12


class MaterialUnavailable(Exception):
    """No usable material for that key and version (never created, destroyed, or corrupt)."""


class CiphertextRejected(Exception):
    """The ciphertext failed authentication under the material (tampered or wrong AAD)."""


class KeyStore(Protocol):
    def create(self, key_id: str, version: int) -> None:
        """Make material for (key_id, version) unless it already has some."""
        ...

    def encrypt(
        self, key_id: str, version: int, plaintext: bytes, aad: bytes
    ) -> tuple[bytes, bytes]:
        """AES-256-GCM under that version: (12-byte nonce, ciphertext || 16-byte tag)."""
        ...

    def decrypt(
        self, key_id: str, version: int, nonce: bytes, ciphertext: bytes, aad: bytes
    ) -> bytes:
        """The plaintext; CiphertextRejected or MaterialUnavailable when it cannot be had."""
        ...

    def destroy(self, key_id: str) -> None:
        """Delete every version of the key's material (irreversible)."""
        ...


def _aad(key_id: str, version: int) -> bytes:
    return f"warden:kms-material:{key_id}#{version}".encode()


class SealedKeyStore:
    def __init__(
        self, store: Store, ring: KeyRing, clock: Clock, ids: IdFactory, *, cache_size: int = 1024
    ) -> None:
        self._store = store
        self._ring = ring
        self._clock = clock
        self._ids = ids
        self._cache: OrderedDict[tuple[str, int], AESGCM] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def create(self, key_id: str, version: int) -> None:
        material = self._ids.token_bytes(32)
        if len(material) != 32:
            raise MaterialUnavailable("the id factory returned short key material")
        sealed = self._ring.seal(material, aad=_aad(key_id, version))
        try:
            with self._store.begin() as conn:
                conn.execute(
                    kms_key_material.insert().values(
                        key_id=key_id,
                        version=version,
                        sealed_material=sealed,
                        created_at=self._clock.now(),
                    )
                )
        except IntegrityError:
            pass  # already made by an earlier attempt: that material stands

    def encrypt(
        self, key_id: str, version: int, plaintext: bytes, aad: bytes
    ) -> tuple[bytes, bytes]:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce, self._aead(key_id, version).encrypt(nonce, plaintext, aad)

    def decrypt(
        self, key_id: str, version: int, nonce: bytes, ciphertext: bytes, aad: bytes
    ) -> bytes:
        try:
            return self._aead(key_id, version).decrypt(nonce, ciphertext, aad)
        except InvalidTag as exc:
            raise CiphertextRejected("ciphertext failed authentication") from exc

    def destroy(self, key_id: str) -> None:
        with self._store.begin() as conn:
            conn.execute(kms_key_material.delete().where(kms_key_material.c.key_id == key_id))
        with self._lock:
            for slot in [s for s in self._cache if s[0] == key_id]:
                del self._cache[slot]

    def _aead(self, key_id: str, version: int) -> AESGCM:
        slot = (key_id, version)
        with self._lock:
            found = self._cache.get(slot)
            if found is not None:
                self._cache.move_to_end(slot)
                return found
        with self._store.read() as conn:
            sealed = conn.execute(
                sa.select(kms_key_material.c.sealed_material).where(
                    kms_key_material.c.key_id == key_id, kms_key_material.c.version == version
                )
            ).scalar()
        if sealed is None:
            raise MaterialUnavailable(f"no material for {key_id} version {version}")
        try:
            aead = AESGCM(self._ring.unseal(bytes(sealed), aad=_aad(key_id, version)))
        except UnsealError as exc:
            raise MaterialUnavailable(
                f"material for {key_id} version {version} is corrupt"
            ) from exc
        with self._lock:
            self._cache[slot] = aead
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return aead
