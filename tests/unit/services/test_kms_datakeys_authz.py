"""KMS as the other services see it (DataKeys) and as the pipeline sees it (authz entries),
plus the second authorization ReEncrypt and UpdateAlias make through KeyAccess."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from kms_support import ACCOUNT, ADMIN, REGION, Env, make_env

from warden.policy import Decision, Deferred, Effect, PolicyType
from warden.services.context import CallContext, Scope
from warden.services.kms.errors import AccessDeniedException
from warden.services.kms.handlers import Kms
from warden.services.ports import DataKeys, KeyAccessDenied, KeyUnavailable

SCOPE = Scope(ACCOUNT, REGION, ADMIN.arn)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    made = make_env(tmp_path)
    yield made
    made.store.close()


def _key(env: Env) -> str:
    return str(env.call("CreateKey")["KeyMetadata"]["KeyId"])


def test_data_keys_round_trip_under_the_managed_key(env: Env) -> None:
    keys: DataKeys = env.kms.data_keys
    made = keys.generate_data_key(
        account_id=ACCOUNT,
        region=REGION,
        key_id=None,
        managed_alias="alias/aws/secretsmanager",
        encryption_context={"SecretARN": "arn:s", "SecretVersionId": "v1"},
    )
    assert len(made.plaintext.reveal()) == 32 and "***" in repr(made.plaintext)
    assert (
        made.key_arn
        == env.call("DescribeKey", KeyId="alias/aws/secretsmanager")["KeyMetadata"]["Arn"]
    )
    plaintext, arn = keys.decrypt_data_key(
        account_id=ACCOUNT,
        region=REGION,
        ciphertext_blob=made.ciphertext_blob,
        encryption_context={"SecretVersionId": "v1", "SecretARN": "arn:s"},
    )
    assert plaintext == made.plaintext and arn == made.key_arn
    with pytest.raises(KeyUnavailable) as err:
        keys.decrypt_data_key(
            account_id=ACCOUNT,
            region=REGION,
            ciphertext_blob=made.ciphertext_blob,
            encryption_context={"SecretARN": "arn:other", "SecretVersionId": "v1"},
        )
    assert err.value.code == "InvalidCiphertextException"
    # The blob is a KMS blob: KMS Decrypt opens it too.
    opened = env.call(
        "Decrypt",
        CiphertextBlob=made.ciphertext_blob,
        EncryptionContext={"SecretARN": "arn:s", "SecretVersionId": "v1"},
    )
    assert opened["Plaintext"] == made.plaintext.reveal()


def test_data_keys_report_unusable_customer_keys(env: Env) -> None:
    key_id = _key(env)
    common: dict[str, Any] = {"account_id": ACCOUNT, "region": REGION, "managed_alias": "aws/rds"}
    made = env.kms.data_keys.generate_data_key(key_id=key_id, encryption_context={}, **common)
    env.call("DisableKey", KeyId=key_id)
    for call in (
        lambda: env.kms.data_keys.resolve_key(key_id=key_id, **common),
        lambda: env.kms.data_keys.generate_data_key(key_id=key_id, encryption_context={}, **common),
    ):
        with pytest.raises(KeyUnavailable) as err:
            call()
        assert err.value.code == "DisabledException"
    with pytest.raises(KeyUnavailable) as err:
        env.kms.data_keys.decrypt_data_key(
            account_id=ACCOUNT,
            region=REGION,
            ciphertext_blob=made.ciphertext_blob,
            encryption_context={},
        )
    assert err.value.code == "DisabledException"
    env.call("EnableKey", KeyId=key_id)
    env.call("ScheduleKeyDeletion", KeyId=key_id)
    with pytest.raises(KeyUnavailable) as err:
        env.kms.data_keys.resolve_key(key_id=key_id, **common)
    assert err.value.code == "KMSInvalidStateException"
    with pytest.raises(KeyUnavailable) as err:
        env.kms.data_keys.resolve_key(key_id="alias/missing", **common)
    assert err.value.code == "NotFoundException"


def test_every_operation_has_an_entry_named_after_the_model(env: Env) -> None:
    model = botocore.session.get_session().get_service_model("kms")
    service = env.kms.service
    assert set(service.handlers) == set(service.authz)
    for op, entry in service.authz.items():
        assert op in model.operation_names
        expected = "kms:ReEncryptFrom" if op == "ReEncrypt" else f"kms:{op}"
        assert entry.action == expected


def test_key_operations_name_the_key_and_require_its_policy(env: Env) -> None:
    key_id = _key(env)
    env.call("CreateAlias", AliasName="alias/auth", TargetKeyId=key_id)
    arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"
    entry = env.kms.service.authz["Encrypt"]
    assert entry.resource_policy_required
    for ref in (key_id, arn, "alias/auth"):
        params = {"KeyId": ref, "EncryptionContext": {"app": "x"}}
        assert tuple(entry.resources(SCOPE, params)) == (arn,)
        assert entry.resource_policies is not None and entry.conditions is not None
        (policy,) = entry.resource_policies(SCOPE, params)
        assert "Enable IAM User Permissions" in policy[1]
        keys = entry.conditions(SCOPE, params)
        assert keys["kms:EncryptionContext:app"] == "x"
        assert keys["kms:CallerAccount"] == ACCOUNT
        assert keys["kms:ResourceAliases"] == ["alias/auth"]
    blob = env.call("Encrypt", KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    decrypt = env.kms.service.authz["Decrypt"]
    assert tuple(decrypt.resources(SCOPE, {"CiphertextBlob": blob})) == (arn,)
    # Unknown keys: the ARN the request implies, and a delegating policy (IAM decides).
    missing = "11111111-2222-4333-8444-555555555555"
    (resource,) = entry.resources(SCOPE, {"KeyId": missing})
    assert resource.endswith(missing)
    assert entry.resource_policies is not None
    assert "root" in entry.resource_policies(SCOPE, {"KeyId": missing})[0][1]
    alias_entry = env.kms.service.authz["CreateAlias"]
    got = tuple(alias_entry.resources(SCOPE, {"AliasName": "alias/new", "TargetKeyId": key_id}))
    assert got == (f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/new", arn)
    create = env.kms.service.authz["CreateKey"]
    assert tuple(create.resources(SCOPE, {})) == ("*",) and not create.resource_policy_required


class RecordingAccess:
    def __init__(self, allow: bool) -> None:
        self.allow = allow
        self.calls: list[tuple[str, str, Mapping[str, Any]]] = []

    def __call__(
        self,
        ctx: CallContext,
        action: str,
        resource: str,
        *,
        resource_policies: Sequence[tuple[str, str]],
        condition_keys: Mapping[str, Any],
        resource_tags: Mapping[str, str],
    ) -> Decision:
        self.calls.append((action, resource, condition_keys))
        effect = Effect.ALLOWED if self.allow else Effect.IMPLICIT_DENY
        return Decision(effect, PolicyType.RESOURCE)


@pytest.mark.parametrize("allow", [True, False])
def test_reencrypt_and_update_alias_authorize_the_second_key(env: Env, allow: bool) -> None:
    access = RecordingAccess(allow)
    env.kms = Kms(env.store, env.ring, env.clock, env.ids, access=access)
    one, two = _key(env), _key(env)
    data = env.call("Encrypt", KeyId=one, Plaintext=b"p", EncryptionContext={"a": "1"})[
        "CiphertextBlob"
    ]
    env.call("CreateAlias", AliasName="alias/moving", TargetKeyId=one)
    params: dict[str, Any] = {
        "CiphertextBlob": data,
        "SourceEncryptionContext": {"a": "1"},
        "DestinationKeyId": two,
        "DestinationEncryptionContext": {"b": "2"},
    }
    if not allow:
        with pytest.raises(AccessDeniedException, match="kms:ReEncryptTo"):
            env.call("ReEncrypt", **params)
        with pytest.raises(AccessDeniedException, match="kms:UpdateAlias"):
            env.call("UpdateAlias", AliasName="alias/moving", TargetKeyId=two)
        return
    out = env.call("ReEncrypt", **params)
    assert out["SourceKeyId"].endswith(one) and out["KeyId"].endswith(two)
    action, resource, keys = access.calls[-1]
    assert (action, resource.endswith(two)) == ("kms:ReEncryptTo", True)
    assert keys["kms:EncryptionContext:b"] == "2" and keys["kms:ReEncryptOnSameKey"] is False
    back = env.call("Decrypt", CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"b": "2"})
    assert back["Plaintext"] == b"p"
    env.call("UpdateAlias", AliasName="alias/moving", TargetKeyId=two)
    assert access.calls[-1][0] == "kms:UpdateAlias"
    assert env.call("DescribeKey", KeyId="alias/moving")["KeyMetadata"]["KeyId"] == two


@pytest.mark.parametrize("allow", [True, False])
def test_data_keys_for_a_caller_are_authorized_for_it_via_the_service(
    env: Env, allow: bool
) -> None:
    access = RecordingAccess(allow)
    env.kms = Kms(env.store, env.ring, env.clock, env.ids, access=access)
    key_id = _key(env)
    caller = replace(env.ctx(operation="GetSecretValue"), service="secretsmanager")
    context = {"SecretARN": "arn:s", "SecretVersionId": "v1"}
    common: dict[str, Any] = {"account_id": ACCOUNT, "region": REGION}
    # Made for the service itself (no caller): no second authorization.
    made = env.kms.data_keys.generate_data_key(
        key_id=key_id, managed_alias="alias/aws/secretsmanager", encryption_context=context,
        **common,
    )  # fmt: skip
    assert access.calls == []
    attempts: list[Callable[[], object]] = [
        lambda: env.kms.data_keys.generate_data_key(
            key_id=key_id,
            managed_alias="alias/aws/secretsmanager",
            encryption_context=context,
            caller=caller,
            **common,
        ),
        lambda: env.kms.data_keys.decrypt_data_key(
            ciphertext_blob=made.ciphertext_blob,
            encryption_context=context,
            caller=caller,
            **common,
        ),
    ]
    for attempt, action in zip(attempts, ("kms:GenerateDataKey", "kms:Decrypt"), strict=True):
        if allow:
            attempt()
        else:
            with pytest.raises(KeyAccessDenied, match="Access to KMS is not allowed"):
                attempt()
        name, resource, keys = access.calls[-1]
        assert (name, resource.endswith(key_id)) == (action, True)
        assert keys["kms:ViaService"] == f"secretsmanager.{REGION}.amazonaws.com"
        assert keys["kms:CallerAccount"] == ACCOUNT
        assert keys["kms:EncryptionContext:SecretARN"] == "arn:s"


def test_without_a_key_access_check_a_caller_is_refused(env: Env) -> None:
    # Fail closed: KMS built without the server's authorizer allows no caller any key.
    made = env.kms.data_keys.generate_data_key(
        account_id=ACCOUNT, region=REGION, key_id=None, managed_alias="alias/aws/secretsmanager",
        encryption_context={},
    )  # fmt: skip
    caller = replace(env.ctx(operation="GetSecretValue"), service="secretsmanager")
    with pytest.raises(KeyAccessDenied):
        env.kms.data_keys.decrypt_data_key(
            account_id=ACCOUNT, region=REGION, ciphertext_blob=made.ciphertext_blob,
            encryption_context={}, caller=caller,
        )  # fmt: skip


def test_a_service_use_of_a_key_reads_its_aliases_only_if_a_condition_asks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Mapping[str, Any]] = []

    def access(ctx: CallContext, action: str, resource: str, **kw: Any) -> Decision:
        seen.append(kw["condition_keys"])
        return Decision(Effect.ALLOWED)

    env = make_env(tmp_path)
    try:
        kms = Kms(env.store, env.ring, env.clock, env.ids, access=access)
        key_id = str(kms.service.handlers["CreateKey"](env.ctx(), {})["KeyMetadata"]["KeyId"])
        kms.service.handlers["CreateAlias"](
            env.ctx(), {"AliasName": "alias/auth", "TargetKeyId": key_id}
        )
        common: dict[str, Any] = {"account_id": ACCOUNT, "region": REGION}
        made = kms.data_keys.generate_data_key(
            key_id=key_id, managed_alias="aws/rds", encryption_context={}, **common
        )
        reads: list[str] = []
        real = kms.keys.aliases_of

        def counted(key: str) -> Sequence[str]:
            reads.append(key)
            return real(key)

        monkeypatch.setattr(kms.keys, "aliases_of", counted)
        kms.data_keys.decrypt_data_key(
            ciphertext_blob=made.ciphertext_blob,
            encryption_context={},
            caller=env.ctx(),
            **common,
        )
        (keys,) = seen
        aliases = keys["kms:ResourceAliases"]
        assert isinstance(aliases, Deferred) and reads == []  # authorized without the read
        assert aliases() == ["alias/auth"] and reads == [key_id]  # a condition would read it
    finally:
        env.store.close()
