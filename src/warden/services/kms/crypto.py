"""Encrypting under a KMS key and decrypting its ciphertext blobs (format: ``blob.py``).

Invariants:
- New ciphertext always uses the key's current material version; decryption uses the
  version the blob names, so ciphertexts made before any number of rotations still open.
- Decryption fails with InvalidCiphertextException for anything that does not authenticate:
  a malformed or tampered blob, a different encryption context, a key the caller's account
  and region do not hold, a material version the key never had.
- A blob opens only with an ``Enabled`` key (DisabledException / KMSInvalidStateException).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from warden.core.ids import IdFactory
from warden.core.redacted import Redacted

from . import blob, repository
from .errors import IncorrectKeyException, InvalidCiphertextException, KMSInternalException
from .keys import Keys, require_enabled
from .keystore import CiphertextRejected, MaterialUnavailable
from .model import Key, KeyRef

INCORRECT_KEY = "The key ID in the request does not identify a CMK that can perform this operation."


@dataclass(frozen=True, slots=True)
class Opened:
    key: Key
    plaintext: Redacted[bytes]
    version: int  # the material version that sealed it


class Crypto:
    def __init__(self, keys: Keys, ids: IdFactory) -> None:
        self._keys = keys
        self._ids = ids

    def encrypt(self, key: Key, plaintext: bytes, context: Mapping[str, str]) -> bytes:
        """A blob of ``plaintext`` under the key's current material. The key must be usable."""
        require_enabled(key)
        version = key.current_material_version
        try:
            nonce, sealed = self._keys.keystore.encrypt(
                key.key_id, version, plaintext, blob.aad(key.key_id, version, context)
            )
        except MaterialUnavailable:
            raise _unavailable() from None
        return blob.Blob(key.key_id, version, nonce, sealed).encode()

    def data_key(
        self, key: Key, size: int, context: Mapping[str, str]
    ) -> tuple[Redacted[bytes], bytes]:
        """A fresh random data key of ``size`` bytes and its blob under ``key``."""
        plaintext = self._ids.token_bytes(size)
        return Redacted(plaintext), self.encrypt(key, plaintext, context)

    def key_of(self, data: bytes, account_id: str, region: str) -> Key:
        """The live key in the caller's account and region that a blob names."""
        parsed = blob.parse(data)
        if parsed is None:
            raise InvalidCiphertextException()
        with self._keys.store.read() as conn:
            key = repository.by_id(conn, parsed.key_id, self._keys.clock.now())
        if key is None or (key.account_id, key.region) != (account_id, region):
            raise InvalidCiphertextException()
        return key

    def check(
        self, data: bytes, account_id: str, region: str, expected: KeyRef | None = None
    ) -> Key:
        """The usable key that would open ``data``: the blob names it, ``expected`` (Decrypt's
        KeyId) must name the same key, and it must be Enabled."""
        key = self.key_of(data, account_id, region)
        if expected is not None and self._keys.get(expected).key_id != key.key_id:
            raise IncorrectKeyException(message=INCORRECT_KEY)
        require_enabled(key)
        return key

    def decrypt(
        self,
        data: bytes,
        context: Mapping[str, str],
        account_id: str,
        region: str,
        expected: KeyRef | None = None,
    ) -> Opened:
        """Open a blob (after ``check``) under the material version it names."""
        return self.open(self.check(data, account_id, region, expected), data, context)

    def open(self, key: Key, data: bytes, context: Mapping[str, str]) -> Opened:
        """Open a blob under ``key``, which ``check`` returned for it."""
        parsed = blob.parse(data)
        if parsed is None or parsed.version > key.current_material_version:
            raise InvalidCiphertextException()
        try:
            plaintext = self._keys.keystore.decrypt(
                key.key_id,
                parsed.version,
                parsed.nonce,
                parsed.ciphertext,
                blob.aad(key.key_id, parsed.version, context),
            )
        except CiphertextRejected:
            raise InvalidCiphertextException() from None
        except MaterialUnavailable:
            raise _unavailable() from None
        return Opened(key, Redacted(plaintext), parsed.version)


def _unavailable() -> KMSInternalException:
    # Material that should exist and does not open is our failure, not the caller's.
    return KMSInternalException(message="The key material is unavailable.")
