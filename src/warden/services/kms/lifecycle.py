"""KMS key lifecycle operations: create, describe, list, enable/disable, scheduled deletion,
key policies and tags.

Key states follow AWS: Enabled ⇄ Disabled; either → PendingDeletion (ScheduleKeyDeletion,
7-30 days); PendingDeletion → Disabled (CancelKeyDeletion), never straight to Enabled.
State changes read the key under a row lock in the writing transaction. AWS-managed keys
cannot be changed by anyone (their key policy already denies it; the handlers refuse too).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from warden.services.context import CallContext
from warden.store.schema import KmsKeyState

from . import repository, requests
from .errors import (
    CustomKeyStoreNotFoundException,
    KMSInvalidStateException,
    MalformedPolicyDocumentException,
    NotFoundException,
    UnsupportedOperationException,
    ValidationException,
    bound_message,
    enum_message,
)
from .keypolicy import LOCKOUT_MESSAGE, allows_put_policy, check_policy
from .keys import Keys, not_found
from .model import (
    DEFAULT_POLICY_NAME,
    ENCRYPT_DECRYPT,
    MAX_PENDING_DAYS,
    MIN_PENDING_DAYS,
    ORIGIN,
    SYMMETRIC_DEFAULT,
    Key,
    key_arn,
    tags_to_json,
)

KEY_SPECS = (
    "RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521",
    "ECC_SECG_P256K1", "SYMMETRIC_DEFAULT", "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512",
    "SM2", "ML_DSA_44", "ML_DSA_65", "ML_DSA_87", "ECC_NIST_EDWARDS25519", "ML_KEM_512",
    "ML_KEM_768", "ML_KEM_1024",
)  # fmt: skip
KEY_USAGES = (
    "SIGN_VERIFY", "ENCRYPT_DECRYPT", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT",
    "ENCAPSULATE_DECAPSULATE",
)  # fmt: skip
ORIGINS = ("AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE")
MAX_DESCRIPTION = 8192
_PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000"
Changes = Mapping[str, Any] | Callable[[Key], Mapping[str, Any]]


def customer_managed(key: Key, operation: str) -> None:
    if key.aws_managed:
        raise UnsupportedOperationException(
            message=f"{key.arn} is an AWS managed key; {operation} is not allowed on it."
        )


def key_spec(params: Mapping[str, Any]) -> str:
    """The key spec CreateKey asks for, after AWS's checks; warden makes only symmetric keys."""
    if params.get("KeySpec") is not None and params.get("CustomerMasterKeySpec") is not None:
        raise ValidationException(
            message="You cannot specify KeySpec and CustomerMasterKeySpec in the same request. "
            "CustomerMasterKeySpec is deprecated."
        )
    spec = params.get("KeySpec") or params.get("CustomerMasterKeySpec") or SYMMETRIC_DEFAULT
    if spec not in KEY_SPECS:
        raise ValidationException(message=enum_message("keySpec", spec, KEY_SPECS))
    usage = params.get("KeyUsage") or ENCRYPT_DECRYPT
    if usage not in KEY_USAGES:
        raise ValidationException(message=enum_message("keyUsage", usage, KEY_USAGES))
    origin = params.get("Origin") or ORIGIN
    if origin not in ORIGINS:
        raise ValidationException(message=enum_message("origin", origin, ORIGINS))
    if params.get("CustomKeyStoreId") is not None:
        raise CustomKeyStoreNotFoundException(message="The custom key store does not exist.")
    if spec != SYMMETRIC_DEFAULT:
        raise UnsupportedOperationException(
            message=f"warden supports only SYMMETRIC_DEFAULT KMS keys, not {spec}."
        )
    if usage != ENCRYPT_DECRYPT:
        raise ValidationException(
            message=f"KeyUsage {usage} is not compatible with KeySpec {SYMMETRIC_DEFAULT}."
        )
    if origin != ORIGIN:
        raise UnsupportedOperationException(
            message=f"warden supports only key material it generates (Origin {ORIGIN})."
        )
    if params.get("MultiRegion") is True:
        raise UnsupportedOperationException(message="warden does not support multi-Region keys.")
    return spec


class Lifecycle:
    def __init__(self, keys: Keys) -> None:
        self._keys = keys

    # -- create, describe, list --------------------------------------------------------

    def create_key(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        key_spec(params)
        description = params.get("Description") or ""
        if len(description) > MAX_DESCRIPTION:
            raise ValidationException(
                message="1 validation error detected: Value at 'description' failed to satisfy "
                f"constraint: Member must have length less than or equal to {MAX_DESCRIPTION}"
            )
        tags = requests.tags(params.get("Tags"))
        requests.merged_tags((), tags)
        policy = params.get("Policy")
        if policy is not None:
            check_policy(policy)
            placeholder = key_arn(ctx.account_id, ctx.region, _PLACEHOLDER_ID)
            if params.get("BypassPolicyLockoutSafetyCheck") is not True and not allows_put_policy(
                policy, ctx.principal, placeholder
            ):
                raise MalformedPolicyDocumentException(message=LOCKOUT_MESSAGE)
        key = self._keys.create(
            ctx.account_id, ctx.region, description=description, policy=policy, tags=tags
        )
        return {"KeyMetadata": key.metadata()}

    def describe_key(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        ref = self._keys.ref(params["KeyId"], ctx.account_id, ctx.region)
        return {"KeyMetadata": self._keys.get(ref, create_managed=True).metadata()}

    def list_keys(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        requests.limit(params, 1000)
        with self._keys.store.read() as conn:
            keys = repository.list_keys(conn, ctx.account_id, ctx.region, ctx.now)
        page, more = ctx.page([{"KeyId": k.key_id, "KeyArn": k.arn} for k in keys])
        return {"Keys": page, **more}

    # -- state ---------------------------------------------------------------------------

    def _change(self, ctx: CallContext, params: Mapping[str, Any], operation: str) -> Key:
        """The customer managed key a changing request names (as read now; ``_set`` re-reads
        it under a row lock before writing)."""
        ref = self._keys.ref(params["KeyId"], ctx.account_id, ctx.region)
        with self._keys.store.read() as conn:
            key = repository.find(conn, ref, ctx.now)
        if key is None:
            raise not_found(ref)
        customer_managed(key, operation)
        return key

    def _set(self, key: Key, expect: set[KmsKeyState], values: Changes) -> None:
        """Re-read the key under a row lock and, if it is still in one of the ``expect``
        states, write ``values`` (or what ``values`` computes from the locked row)."""
        with self._keys.store.begin() as conn:
            current = repository.by_id(conn, key.key_id, self._keys.clock.now(), lock=True)
            if current is None:
                raise NotFoundException(message=f"Key '{key.arn}' does not exist")
            if current.state not in expect:
                raise _state_error(current)
            changes = values(current) if callable(values) else values
            repository.update_key(conn, key.key_id, **changes)

    def enable_key(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        key = self._change(ctx, params, "EnableKey")
        live = {KmsKeyState.ENABLED, KmsKeyState.DISABLED}
        self._set(key, live, {"state": KmsKeyState.ENABLED.value})
        return {}

    def disable_key(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        key = self._change(ctx, params, "DisableKey")
        live = {KmsKeyState.ENABLED, KmsKeyState.DISABLED}
        self._set(key, live, {"state": KmsKeyState.DISABLED.value})
        return {}

    def schedule_key_deletion(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        days = params.get("PendingWindowInDays", MAX_PENDING_DAYS)
        if not isinstance(days, int) or days < MIN_PENDING_DAYS:
            raise ValidationException(
                message=bound_message(
                    "pendingWindowInDays", days, "greater than or equal to", MIN_PENDING_DAYS
                )
            )
        if days > MAX_PENDING_DAYS:
            raise ValidationException(
                message=bound_message(
                    "pendingWindowInDays", days, "less than or equal to", MAX_PENDING_DAYS
                )
            )
        key = self._change(ctx, params, "ScheduleKeyDeletion")
        deletion = ctx.now + timedelta(days=days)
        values = {"state": KmsKeyState.PENDING_DELETION.value, "deletion_date": deletion}
        self._set(key, {KmsKeyState.ENABLED, KmsKeyState.DISABLED}, values)
        return {
            "KeyId": key.arn,
            "DeletionDate": deletion,
            "KeyState": KmsKeyState.PENDING_DELETION.value,
            "PendingWindowInDays": days,
        }

    def cancel_key_deletion(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        key = self._change(ctx, params, "CancelKeyDeletion")
        if key.state is not KmsKeyState.PENDING_DELETION:
            raise KMSInvalidStateException(message=f"{key.arn} is not pending deletion.")
        # AWS: a key whose deletion is cancelled comes back Disabled, never straight Enabled.
        values = {"state": KmsKeyState.DISABLED.value, "deletion_date": None}
        self._set(key, {KmsKeyState.PENDING_DELETION}, values)
        return {"KeyId": key.arn}

    # -- key policies --------------------------------------------------------------------

    def get_key_policy(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        key = self._keys.lookup(params["KeyId"], ctx.account_id, ctx.region)
        _policy_name(params)
        return {"Policy": key.policy, "PolicyName": DEFAULT_POLICY_NAME}

    def put_key_policy(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        name = params.get("PolicyName") or DEFAULT_POLICY_NAME
        if name == "AWS_RAM":
            raise ValidationException(
                message="The AWS_RAM policy can only be managed by the RAM service."
            )
        _policy_name(params)
        key = self._change(ctx, params, "PutKeyPolicy")
        policy = params["Policy"]
        check_policy(policy)
        if params.get("BypassPolicyLockoutSafetyCheck") is not True and not allows_put_policy(
            policy, ctx.principal, key.arn
        ):
            raise MalformedPolicyDocumentException(message=LOCKOUT_MESSAGE)
        every = {KmsKeyState.ENABLED, KmsKeyState.DISABLED, KmsKeyState.PENDING_DELETION}
        self._set(key, every, {"policy": policy})
        return {}

    def list_key_policies(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        requests.limit(params, 1000)
        self._keys.lookup(params["KeyId"], ctx.account_id, ctx.region)
        page, more = ctx.page([DEFAULT_POLICY_NAME])
        return {"PolicyNames": page, **more}

    # -- tags ----------------------------------------------------------------------------

    def tag_resource(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        new = requests.tags(params.get("Tags"))
        key = self._change(ctx, params, "TagResource")
        live = {KmsKeyState.ENABLED, KmsKeyState.DISABLED}
        self._set(key, live, lambda k: {"tags": tags_to_json(requests.merged_tags(k.tags, new))})
        return {}

    def untag_resource(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        drop = set(params.get("TagKeys") or ())
        key = self._change(ctx, params, "UntagResource")
        live = {KmsKeyState.ENABLED, KmsKeyState.DISABLED}
        self._set(
            key,
            live,
            lambda k: {"tags": tags_to_json(tuple(t for t in k.tags if t[0] not in drop))},
        )
        return {}

    def list_resource_tags(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        requests.limit(params, 50)
        key = self._keys.lookup(params["KeyId"], ctx.account_id, ctx.region)
        page, more = ctx.page(tags_to_json(key.tags), default_page=50)
        return {"Tags": page, **more}


def _policy_name(params: Mapping[str, Any]) -> None:
    name = params.get("PolicyName") or DEFAULT_POLICY_NAME
    if name != DEFAULT_POLICY_NAME:
        raise NotFoundException(message="No such policy exists")


def _state_error(key: Key) -> KMSInvalidStateException:
    if key.state is KmsKeyState.PENDING_DELETION:
        return KMSInvalidStateException(message=f"{key.arn} is pending deletion.")
    return KMSInvalidStateException(message=f"{key.arn} is {key.state.value.lower()}.")
