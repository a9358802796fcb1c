"""``DataKeys`` (services/ports.py) backed by KMS: envelope encryption for other services.

Secrets Manager (and later RDS snapshots) ask for a fresh 256-bit data key under a KMS key,
store only its ciphertext blob beside the data they encrypt with it, and ask for it back
with the same encryption context. This is the same key lookup and blob format as the KMS
API uses, so a blob made here also opens with KMS Decrypt (given the caller may use the key).

These calls are made by a service on its own behalf after it authorized its own caller; they
do not evaluate the key policy (see the report: a later ``kms:ViaService`` check belongs
here once the Protocol carries the principal). Every KMS refusal becomes ``KeyUnavailable``
with the KMS error code AWS services surface.
"""

from __future__ import annotations

from collections.abc import Mapping

from warden.core.errors import AwsError
from warden.core.redacted import Redacted
from warden.services.ports import DataKey, KeyUnavailable

from .crypto import Crypto
from .keys import Keys, require_enabled
from .model import ALIAS_PREFIX, Key

DATA_KEY_BYTES = 32


def _alias(managed_alias: str) -> str:
    return managed_alias if managed_alias.startswith(ALIAS_PREFIX) else ALIAS_PREFIX + managed_alias


class KmsDataKeys:
    def __init__(self, keys: Keys, crypto: Crypto) -> None:
        self._keys = keys
        self._crypto = crypto

    def _key(self, account_id: str, region: str, key_id: str | None, managed_alias: str) -> Key:
        try:
            if key_id is None:
                key = self._keys.managed(account_id, region, _alias(managed_alias))
            else:
                ref = self._keys.ref(key_id, account_id, region)
                key = self._keys.get(ref, create_managed=True)
            require_enabled(key)
        except AwsError as exc:
            raise KeyUnavailable(exc.message, code=exc.wire_name) from None
        return key

    def generate_data_key(
        self,
        *,
        account_id: str,
        region: str,
        key_id: str | None,
        managed_alias: str,
        encryption_context: Mapping[str, str],
    ) -> DataKey:
        key = self._key(account_id, region, key_id, managed_alias)
        try:
            plaintext, blob = self._crypto.data_key(key, DATA_KEY_BYTES, encryption_context)
        except AwsError as exc:
            raise KeyUnavailable(exc.message, code=exc.wire_name) from None
        return DataKey(plaintext=plaintext, ciphertext_blob=blob, key_arn=key.arn)

    def decrypt_data_key(
        self,
        *,
        account_id: str,
        region: str,
        ciphertext_blob: bytes,
        encryption_context: Mapping[str, str],
    ) -> tuple[Redacted[bytes], str]:
        try:
            opened = self._crypto.decrypt(ciphertext_blob, encryption_context, account_id, region)
        except AwsError as exc:
            raise KeyUnavailable(exc.message, code=exc.wire_name) from None
        return opened.plaintext, opened.key.arn

    def resolve_key(
        self, *, account_id: str, region: str, key_id: str | None, managed_alias: str
    ) -> str:
        return self._key(account_id, region, key_id, managed_alias).arn
