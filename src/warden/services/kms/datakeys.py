"""``DataKeys`` (services/ports.py) backed by KMS: envelope encryption for other services.

Secrets Manager (and later RDS snapshots) ask for a fresh 256-bit data key under a KMS key,
store only its ciphertext blob beside the data they encrypt with it, and ask for it back
with the same encryption context. This is the same key lookup and blob format as the KMS
API uses, so a blob made here also opens with KMS Decrypt (given the caller may use the key).

A call that names its ``caller`` is authorized for that principal, as KMS does when a
service uses a key for someone: ``kms:GenerateDataKey`` or ``kms:Decrypt`` on the key, its
key policy required to allow, with ``kms:ViaService`` = ``<service>.<region>.amazonaws.com``
and ``kms:CallerAccount``; a refusal is ``KeyAccessDenied``. Without a caller the service
acts for itself. Every other KMS refusal becomes ``KeyUnavailable`` with the KMS error code
AWS services surface.
"""

from __future__ import annotations

from collections.abc import Mapping

from warden.core.errors import AwsError
from warden.core.redacted import Redacted
from warden.policy import Deferred
from warden.services.context import CallContext
from warden.services.ports import DataKey, KeyAccessDenied, KeyUnavailable

from .authz import KeyAccess, Target, context_keys, key_keys, require
from .crypto import Crypto
from .keys import Keys, require_enabled
from .model import ALIAS_PREFIX, Key

DATA_KEY_BYTES = 32


def _alias(managed_alias: str) -> str:
    return managed_alias if managed_alias.startswith(ALIAS_PREFIX) else ALIAS_PREFIX + managed_alias


class KmsDataKeys:
    def __init__(self, keys: Keys, crypto: Crypto, access: KeyAccess | None) -> None:
        self._keys = keys
        self._crypto = crypto
        self._access = access

    def _authorize(
        self,
        caller: CallContext | None,
        action: str,
        key: Key,
        context: Mapping[str, str],
        via: str | None = None,
    ) -> None:
        if caller is None:
            return
        keys = {
            "kms:ViaService": f"{via or caller.service}.{key.region}.amazonaws.com",
            # Read only should a condition name kms:ResourceAliases.
            **key_keys(key, None, Deferred(lambda: list(self._keys.aliases_of(key.key_id)))),
            **context_keys(context),
        }
        target = Target(arn=key.arn, key=key, alias=None, policy=key.policy)
        try:
            require(self._access, caller, action, target, keys)
        except AwsError:
            raise KeyAccessDenied("Access to KMS is not allowed") from None

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
        caller: CallContext | None = None,
    ) -> DataKey:
        key = self._key(account_id, region, key_id, managed_alias)
        self._authorize(caller, "kms:GenerateDataKey", key, encryption_context)
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
        caller: CallContext | None = None,
    ) -> tuple[Redacted[bytes], str]:
        try:
            key = self._crypto.check(ciphertext_blob, account_id, region)
            # Authorized on the key the blob names, before anything is opened.
            self._authorize(caller, "kms:Decrypt", key, encryption_context)
            opened = self._crypto.open(key, ciphertext_blob, encryption_context)
        except AwsError as exc:
            raise KeyUnavailable(exc.message, code=exc.wire_name) from None
        return opened.plaintext, opened.key.arn

    def resolve_key(
        self,
        *,
        account_id: str,
        region: str,
        key_id: str | None,
        managed_alias: str,
        caller: CallContext | None = None,
        uses: tuple[str, ...] = ("kms:CreateGrant",),
        via: str | None = None,
    ) -> str:
        key = self._key(account_id, region, key_id, managed_alias)
        for action in uses:
            self._authorize(caller, action, key, {}, via)
        return key.arn
