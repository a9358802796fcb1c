"""KMS, composed: the API's handlers and authz entries, DataKeys for other services, and the
periodic sweeps (automatic rotation, deletion of keys whose waiting period is over).

``Kms`` is built once by the server. ``Kms.service`` goes into the pipeline's services,
``Kms.data_keys`` (a ``services.ports.DataKeys``) to the services that envelope-encrypt,
and ``rotate_due`` / ``delete_due`` to a periodic job.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from warden.core.clock import Clock
from warden.core.ids import IdFactory
from warden.services.context import AuthzEntry, Scope, ServiceHandlers
from warden.store.db import Store
from warden.store.keyring import KeyRing

from . import blob as blobs
from .aliases import Aliases
from .authz import KeyAccess, KmsAuthz, context_keys
from .crypto import Crypto
from .datakeys import KmsDataKeys
from .keys import Keys
from .keystore import KeyStore, SealedKeyStore
from .lifecycle import Lifecycle
from .model import ENCRYPT_DECRYPT, ORIGIN, SYMMETRIC_DEFAULT
from .operations import Operations
from .rotation import RotationOps, Rotator


def _caller(scope: Scope, params: Mapping[str, Any]) -> Mapping[str, Any]:
    return {"kms:CallerAccount": scope.account_id}


def _create(scope: Scope, params: Mapping[str, Any]) -> Mapping[str, Any]:
    keys: dict[str, Any] = {
        "kms:CallerAccount": scope.account_id,
        "kms:KeySpec": params.get("KeySpec")
        or params.get("CustomerMasterKeySpec")
        or SYMMETRIC_DEFAULT,
        "kms:KeyUsage": params.get("KeyUsage") or ENCRYPT_DECRYPT,
        "kms:KeyOrigin": params.get("Origin") or ORIGIN,
        "kms:MultiRegion": bool(params.get("MultiRegion")),
    }
    if "BypassPolicyLockoutSafetyCheck" in params:
        keys["kms:BypassPolicyLockoutSafetyCheck"] = bool(params["BypassPolicyLockoutSafetyCheck"])
    return keys


def _crypto(scope: Scope, params: Mapping[str, Any]) -> Mapping[str, Any]:
    return {
        **context_keys(params.get("EncryptionContext") or {}),
        "kms:EncryptionAlgorithm": params.get("EncryptionAlgorithm") or SYMMETRIC_DEFAULT,
    }


def _bypass(scope: Scope, params: Mapping[str, Any]) -> Mapping[str, Any]:
    return {
        "kms:BypassPolicyLockoutSafetyCheck": bool(params.get("BypassPolicyLockoutSafetyCheck"))
    }


def _window(scope: Scope, params: Mapping[str, Any]) -> Mapping[str, Any]:
    return {"kms:ScheduleKeyDeletionPendingWindowInDays": params.get("PendingWindowInDays", 30)}


def _period(scope: Scope, params: Mapping[str, Any]) -> Mapping[str, Any]:
    days = params.get("RotationPeriodInDays")
    return {} if days is None else {"kms:RotationPeriodInDays": days}


def _untag(scope: Scope, params: Mapping[str, Any]) -> Mapping[str, Any]:
    return {"aws:TagKeys": list(params.get("TagKeys") or ())}


class Kms:
    def __init__(
        self,
        store: Store,
        ring: KeyRing,
        clock: Clock,
        ids: IdFactory,
        *,
        keystore: KeyStore | None = None,
        access: KeyAccess | None = None,
    ) -> None:
        self.keystore: KeyStore = keystore or SealedKeyStore(store, ring, clock, ids)
        self.keys = Keys(store, self.keystore, clock, ids)
        self.crypto = Crypto(self.keys, ids)
        self.rotator = Rotator(self.keys)
        self.data_keys = KmsDataKeys(self.keys, self.crypto, access)
        self.authz = KmsAuthz(self.keys)
        life = Lifecycle(self.keys)
        aliases = Aliases(self.keys, self.authz, access)
        ops = Operations(self.keys, self.crypto, self.authz, access)
        rot = RotationOps(self.keys, self.rotator)
        handlers = {
            "CreateKey": life.create_key,
            "DescribeKey": life.describe_key,
            "ListKeys": life.list_keys,
            "EnableKey": life.enable_key,
            "DisableKey": life.disable_key,
            "ScheduleKeyDeletion": life.schedule_key_deletion,
            "CancelKeyDeletion": life.cancel_key_deletion,
            "GetKeyPolicy": life.get_key_policy,
            "PutKeyPolicy": life.put_key_policy,
            "ListKeyPolicies": life.list_key_policies,
            "TagResource": life.tag_resource,
            "UntagResource": life.untag_resource,
            "ListResourceTags": life.list_resource_tags,
            "CreateAlias": aliases.create_alias,
            "UpdateAlias": aliases.update_alias,
            "DeleteAlias": aliases.delete_alias,
            "ListAliases": aliases.list_aliases,
            "Encrypt": ops.encrypt,
            "Decrypt": ops.decrypt,
            "GenerateDataKey": ops.generate_data_key,
            "GenerateDataKeyWithoutPlaintext": ops.generate_data_key_without_plaintext,
            "ReEncrypt": ops.re_encrypt,
            "EnableKeyRotation": rot.enable_key_rotation,
            "DisableKeyRotation": rot.disable_key_rotation,
            "GetKeyRotationStatus": rot.get_key_rotation_status,
            "RotateKeyOnDemand": rot.rotate_key_on_demand,
            "ListKeyRotations": rot.list_key_rotations,
        }
        self.service = ServiceHandlers(name="kms", handlers=handlers, authz=self._entries())

    def rotate_due(self, now: datetime) -> list[str]:
        """Rotate the keys whose automatic rotation is due; the ids rotated."""
        return self.rotator.rotate_due(now)

    def delete_due(self, now: datetime) -> list[str]:
        """Delete the keys whose deletion waiting period is over; the ids deleted."""
        return self.rotator.delete_due(now)

    def _reencrypt(self, scope: Scope, params: Mapping[str, Any]) -> Mapping[str, Any]:
        dest = self.authz.target(
            scope.account_id, scope.region, str(params.get("DestinationKeyId"))
        )
        source_id = params.get("SourceKeyId")
        source = (
            self.authz.target(scope.account_id, scope.region, str(source_id)) if source_id else None
        )
        if source is None:
            data = params.get("CiphertextBlob")
            parsed = blobs.parse(data) if isinstance(data, bytes) else None
            source_key = parsed.key_id if parsed else None
        else:
            source_key = source.key.key_id if source.key else None
        same = dest.key is not None and dest.key.key_id == source_key
        return {
            **context_keys(params.get("SourceEncryptionContext") or {}),
            "kms:EncryptionAlgorithm": params.get("SourceEncryptionAlgorithm") or SYMMETRIC_DEFAULT,
            "kms:ReEncryptOnSameKey": same,
        }

    def _entries(self) -> dict[str, AuthzEntry]:
        e = self.authz.entry
        return {
            "CreateKey": AuthzEntry("kms:CreateKey", conditions=_create),
            "ListKeys": AuthzEntry("kms:ListKeys", read_only=True, conditions=_caller),
            "ListAliases": AuthzEntry("kms:ListAliases", read_only=True, conditions=_caller),
            "DescribeKey": e("DescribeKey", "KeyId", read_only=True),
            "GetKeyPolicy": e("GetKeyPolicy", "KeyId", read_only=True),
            "ListKeyPolicies": e("ListKeyPolicies", "KeyId", read_only=True),
            "ListResourceTags": e("ListResourceTags", "KeyId", read_only=True),
            "GetKeyRotationStatus": e("GetKeyRotationStatus", "KeyId", read_only=True),
            "ListKeyRotations": e("ListKeyRotations", "KeyId", read_only=True),
            "EnableKey": e("EnableKey", "KeyId"),
            "DisableKey": e("DisableKey", "KeyId"),
            "ScheduleKeyDeletion": e("ScheduleKeyDeletion", "KeyId", extra=_window),
            "CancelKeyDeletion": e("CancelKeyDeletion", "KeyId"),
            "PutKeyPolicy": e("PutKeyPolicy", "KeyId", extra=_bypass),
            "TagResource": e("TagResource", "KeyId"),
            "UntagResource": e("UntagResource", "KeyId", extra=_untag),
            "EnableKeyRotation": e("EnableKeyRotation", "KeyId", extra=_period),
            "DisableKeyRotation": e("DisableKeyRotation", "KeyId"),
            "RotateKeyOnDemand": e("RotateKeyOnDemand", "KeyId"),
            # CloudTrail records KMS's cryptographic operations as read-only events.
            "Encrypt": e("Encrypt", "KeyId", read_only=True, extra=_crypto),
            "Decrypt": e("Decrypt", "Blob", read_only=True, extra=_crypto),
            "GenerateDataKey": e("GenerateDataKey", "KeyId", read_only=True, extra=_crypto),
            "GenerateDataKeyWithoutPlaintext": e(
                "GenerateDataKeyWithoutPlaintext", "KeyId", read_only=True, extra=_crypto
            ),
            "ReEncrypt": e(
                "ReEncrypt",
                "ReEncryptSource",
                action="kms:ReEncryptFrom",
                read_only=True,
                extra=self._reencrypt,
            ),
            "CreateAlias": e("CreateAlias", "TargetKeyId", alias_member="AliasName"),
            "UpdateAlias": e("UpdateAlias", "AliasName", alias_member="AliasName"),
            "DeleteAlias": e("DeleteAlias", "AliasName", alias_member="AliasName"),
        }


def build(
    store: Store, ring: KeyRing, clock: Clock, ids: IdFactory, *, access: KeyAccess | None = None
) -> ServiceHandlers:
    return Kms(store, ring, clock, ids, access=access).service
