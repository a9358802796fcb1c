"""KMS cryptographic operations: Encrypt, Decrypt, GenerateDataKey(WithoutPlaintext),
ReEncrypt.

Order of checks, as in AWS: the request's own members, then the key (NotFound, its state),
then DryRun, then the work. Plaintext only ever leaves in a response member the model marks
sensitive (redacted from the audit trail by the protocol layer).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warden.services.context import CallContext

from . import requests
from .authz import KeyAccess, KmsAuthz, context_keys, key_keys, require
from .crypto import Crypto
from .errors import ValidationException, bound_message, enum_message
from .keys import Keys, require_enabled
from .model import SYMMETRIC_DEFAULT, material_id

_DATA_KEY_SPECS = {"AES_256": 32, "AES_128": 16}
EITHER_SIZE = "Please specify either number of bytes or key spec."


def data_key_size(params: Mapping[str, Any]) -> int:
    count, spec = params.get("NumberOfBytes"), params.get("KeySpec")
    if (count is None) == (spec is None):
        raise ValidationException(message=EITHER_SIZE)
    if spec is not None:
        if spec not in _DATA_KEY_SPECS:
            raise ValidationException(message=enum_message("keySpec", spec, tuple(_DATA_KEY_SPECS)))
        return _DATA_KEY_SPECS[spec]
    if not isinstance(count, int) or count < 1:
        raise ValidationException(
            message=bound_message("numberOfBytes", count, "greater than or equal to", 1)
        )
    if count > 1024:
        raise ValidationException(
            message=bound_message("numberOfBytes", count, "less than or equal to", 1024)
        )
    return count


class Operations:
    def __init__(
        self, keys: Keys, crypto: Crypto, authz: KmsAuthz, access: KeyAccess | None
    ) -> None:
        self._keys = keys
        self._crypto = crypto
        self._authz = authz
        self._access = access

    def encrypt(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        requests.algorithm(params)
        plaintext = requests.plaintext(params)
        context = requests.encryption_context(params)
        key = self._keys.lookup(params["KeyId"], ctx.account_id, ctx.region)
        require_enabled(key)
        requests.dry_run(params)
        return {
            "CiphertextBlob": self._crypto.encrypt(key, plaintext, context),
            "KeyId": key.arn,
            "EncryptionAlgorithm": SYMMETRIC_DEFAULT,
        }

    def decrypt(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        requests.algorithm(params)
        requests.no_recipient(params)
        data = requests.blob(params)
        context = requests.encryption_context(params)
        expected = (
            self._keys.ref(params["KeyId"], ctx.account_id, ctx.region)
            if params.get("KeyId")
            else None
        )
        if params.get("DryRun") is True:
            self._crypto.check(data, ctx.account_id, ctx.region, expected)
            requests.dry_run(params)
        opened = self._crypto.decrypt(data, context, ctx.account_id, ctx.region, expected)
        return {
            "KeyId": opened.key.arn,
            "Plaintext": opened.plaintext.reveal(),
            "EncryptionAlgorithm": SYMMETRIC_DEFAULT,
            "KeyMaterialId": material_id(opened.key.key_id, opened.version),
        }

    def _data_key(
        self, ctx: CallContext, params: Mapping[str, Any], *, with_plaintext: bool
    ) -> dict[str, Any]:
        requests.no_recipient(params)
        size = data_key_size(params)
        context = requests.encryption_context(params)
        key = self._keys.lookup(params["KeyId"], ctx.account_id, ctx.region)
        require_enabled(key)
        requests.dry_run(params)
        plaintext, sealed = self._crypto.data_key(key, size, context)
        out: dict[str, Any] = {
            "CiphertextBlob": sealed,
            "KeyId": key.arn,
            "KeyMaterialId": material_id(key.key_id, key.current_material_version),
        }
        if with_plaintext:
            out["Plaintext"] = plaintext.reveal()
        return out

    def generate_data_key(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        return self._data_key(ctx, params, with_plaintext=True)

    def generate_data_key_without_plaintext(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        return self._data_key(ctx, params, with_plaintext=False)

    def re_encrypt(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        requests.algorithm(params, "SourceEncryptionAlgorithm")
        requests.algorithm(params, "DestinationEncryptionAlgorithm")
        data = requests.blob(params)
        source_context = requests.encryption_context(params, "SourceEncryptionContext")
        dest_context = requests.encryption_context(params, "DestinationEncryptionContext")
        expected = (
            self._keys.ref(params["SourceKeyId"], ctx.account_id, ctx.region)
            if params.get("SourceKeyId")
            else None
        )
        source = self._crypto.check(data, ctx.account_id, ctx.region, expected)
        target = self._authz.target(ctx.account_id, ctx.region, params["DestinationKeyId"])
        same = target.key is not None and target.key.key_id == source.key_id
        require(
            self._access,
            ctx,
            "kms:ReEncryptTo",
            target,
            {
                **key_keys(target.key, target.alias, target.aliases),
                **context_keys(dest_context),
                "kms:EncryptionAlgorithm": SYMMETRIC_DEFAULT,
                "kms:ReEncryptOnSameKey": same,
            },
        )
        dest = self._keys.lookup(params["DestinationKeyId"], ctx.account_id, ctx.region)
        require_enabled(dest)
        requests.dry_run(params)
        opened = self._crypto.decrypt(data, source_context, ctx.account_id, ctx.region, expected)
        return {
            "CiphertextBlob": self._crypto.encrypt(dest, opened.plaintext.reveal(), dest_context),
            "SourceKeyId": opened.key.arn,
            "KeyId": dest.arn,
            "SourceEncryptionAlgorithm": SYMMETRIC_DEFAULT,
            "DestinationEncryptionAlgorithm": SYMMETRIC_DEFAULT,
            "SourceKeyMaterialId": material_id(opened.key.key_id, opened.version),
            "DestinationKeyMaterialId": material_id(dest.key_id, dest.current_material_version),
        }
