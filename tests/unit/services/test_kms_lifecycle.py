"""KMS key states, rotation, deletion, aliases, key policies and tags over a real store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from kms_support import ACCOUNT, ADMIN, REGION, Env, make_env

from warden.core.principal import Principal, PrincipalType
from warden.services.kms.errors import (
    AlreadyExistsException,
    ConflictException,
    DisabledException,
    KMSInvalidStateException,
    LimitExceededException,
    MalformedPolicyDocumentException,
    NotAuthorizedException,
    NotFoundException,
    TagException,
    UnsupportedOperationException,
    ValidationException,
)
from warden.services.kms.keypolicy import allows_put_policy, default_policy
from warden.store.schema import KmsRotationType, kms_aliases, kms_key_material, kms_keys


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    made = make_env(tmp_path)
    yield made
    made.store.close()


def _key(env: Env, **params: object) -> str:
    return str(env.call("CreateKey", **params)["KeyMetadata"]["KeyId"])


def _state(env: Env, key_id: str) -> str:
    return str(env.call("DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyState"])


def _encrypt(env: Env, key_id: str, plaintext: bytes = b"x") -> bytes:
    return bytes(env.call("Encrypt", KeyId=key_id, Plaintext=plaintext)["CiphertextBlob"])


def test_create_key_metadata_and_default_policy(env: Env) -> None:
    meta = env.call("CreateKey", Description="d", Tags=[{"TagKey": "k", "TagValue": "v"}])[
        "KeyMetadata"
    ]
    assert meta["KeyState"] == "Enabled" and meta["Enabled"] is True
    assert meta["KeySpec"] == "SYMMETRIC_DEFAULT" and meta["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert meta["KeyManager"] == "CUSTOMER" and meta["Origin"] == "AWS_KMS"
    assert meta["Arn"] == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{meta['KeyId']}"
    assert len(meta["CurrentKeyMaterialId"]) == 64
    policy = json.loads(env.call("GetKeyPolicy", KeyId=meta["KeyId"])["Policy"])
    (stmt,) = policy["Statement"]
    assert stmt["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert stmt["Action"] == "kms:*"
    tags = env.call("ListResourceTags", KeyId=meta["KeyId"])["Tags"]
    assert tags == [{"TagKey": "k", "TagValue": "v"}]


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"KeySpec": "RSA_2048"}, UnsupportedOperationException),
        ({"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"}, UnsupportedOperationException),
        ({"KeySpec": "NOPE"}, ValidationException),
        ({"KeyUsage": "SIGN_VERIFY"}, ValidationException),
        (
            {"KeySpec": "SYMMETRIC_DEFAULT", "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT"},
            ValidationException,
        ),
        ({"Origin": "EXTERNAL"}, UnsupportedOperationException),
        ({"MultiRegion": True}, UnsupportedOperationException),
        ({"Policy": "{not json"}, MalformedPolicyDocumentException),
        ({"Tags": [{"TagKey": "aws:x", "TagValue": "v"}]}, TagException),
    ],
)
def test_create_key_refuses_what_aws_refuses(
    env: Env, params: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        env.call("CreateKey", **params)


def test_disable_enable_and_the_disabled_error(env: Env) -> None:
    key_id = _key(env)
    env.call("DisableKey", KeyId=key_id)
    assert _state(env, key_id) == "Disabled"
    with pytest.raises(DisabledException, match="is disabled"):
        _encrypt(env, key_id)
    env.call("EnableKey", KeyId=key_id)
    _encrypt(env, key_id)


def test_scheduled_deletion_cancel_and_expiry(env: Env) -> None:
    key_id = _key(env)
    data = _encrypt(env, key_id)
    for days in (6, 31):
        with pytest.raises(ValidationException):
            env.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=days)
    out = env.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    assert out["KeyState"] == "PendingDeletion"
    assert out["DeletionDate"] == env.clock.now() + timedelta(days=7)
    for call in (
        lambda: _encrypt(env, key_id),
        lambda: env.call("Decrypt", CiphertextBlob=data),
        lambda: env.call("EnableKey", KeyId=key_id),
        lambda: env.call("ScheduleKeyDeletion", KeyId=key_id),
    ):
        with pytest.raises(KMSInvalidStateException):
            call()
    env.call("CancelKeyDeletion", KeyId=key_id)
    assert _state(env, key_id) == "Disabled"  # not straight back to Enabled, as in AWS
    with pytest.raises(KMSInvalidStateException, match="not pending deletion"):
        env.call("CancelKeyDeletion", KeyId=key_id)
    env.call("EnableKey", KeyId=key_id)
    assert env.call("Decrypt", CiphertextBlob=data)["Plaintext"] == b"x"

    env.call("CreateAlias", AliasName="alias/doomed", TargetKeyId=key_id)
    env.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    env.clock.advance(timedelta(days=7))
    # Past its date the key is gone even before the sweeper runs ...
    with pytest.raises(NotFoundException):
        env.call("DescribeKey", KeyId=key_id)
    assert key_id not in [k["KeyId"] for k in env.call("ListKeys")["Keys"]]
    # ... and the sweeper removes the row, its aliases and every version of its material.
    assert env.kms.delete_due(env.clock.now()) == [key_id]
    with env.store.read() as conn:
        for table in (kms_keys, kms_aliases, kms_key_material):
            assert conn.execute(sa.select(table).where(table.c.key_id == key_id)).first() is None
    assert env.kms.delete_due(env.clock.now()) == []


def test_rotation_keeps_every_old_ciphertext_decryptable(env: Env) -> None:
    key_id = _key(env)
    blobs = [_encrypt(env, key_id, b"v1")]
    for i in range(2, 5):
        env.call("RotateKeyOnDemand", KeyId=key_id)
        blobs.append(_encrypt(env, key_id, f"v{i}".encode()))
    materials = {env.call("Decrypt", CiphertextBlob=b)["KeyMaterialId"] for b in blobs}
    assert len(materials) == 4  # each ciphertext used the material current at the time
    assert [env.call("Decrypt", CiphertextBlob=b)["Plaintext"] for b in blobs] == [
        b"v1",
        b"v2",
        b"v3",
        b"v4",
    ]
    rotations = env.call("ListKeyRotations", KeyId=key_id)["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["ON_DEMAND"] * 3
    assert [r["KeyMaterialState"] for r in rotations] == ["NON_CURRENT", "NON_CURRENT", "CURRENT"]
    every = env.call("ListKeyRotations", KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")
    assert len(every["Rotations"]) == 4


def test_automatic_rotation_schedule_and_rotate_due(env: Env) -> None:
    key_id = _key(env)
    status = env.call("GetKeyRotationStatus", KeyId=key_id)
    assert status["KeyRotationEnabled"] is False and "NextRotationDate" not in status
    for days in (89, 2561):
        with pytest.raises(ValidationException):
            env.call("EnableKeyRotation", KeyId=key_id, RotationPeriodInDays=days)
    env.call("EnableKeyRotation", KeyId=key_id)
    status = env.call("GetKeyRotationStatus", KeyId=key_id)
    assert status["RotationPeriodInDays"] == 365
    assert status["NextRotationDate"] == env.clock.now() + timedelta(days=365)
    env.call("EnableKeyRotation", KeyId=key_id, RotationPeriodInDays=90)
    assert env.call("GetKeyRotationStatus", KeyId=key_id)["NextRotationDate"] == (
        env.clock.now() + timedelta(days=90)
    )
    old = _encrypt(env, key_id, b"old")
    env.clock.advance(timedelta(days=89))
    assert env.kms.rotate_due(env.clock.now()) == []
    env.clock.advance(timedelta(days=1))
    assert env.kms.rotate_due(env.clock.now()) == [key_id]
    assert env.kms.rotate_due(env.clock.now()) == []  # the next date moved on
    assert env.call("GetKeyRotationStatus", KeyId=key_id)["NextRotationDate"] == (
        env.clock.now() + timedelta(days=90)
    )
    assert env.call("ListKeyRotations", KeyId=key_id)["Rotations"][0]["RotationType"] == (
        "AUTOMATIC"
    )
    assert env.call("Decrypt", CiphertextBlob=old)["Plaintext"] == b"old"
    # A disabled key is not rotated when due; it is once enabled again.
    env.clock.advance(timedelta(days=90))
    env.call("DisableKey", KeyId=key_id)
    assert env.kms.rotate_due(env.clock.now()) == []
    env.call("EnableKey", KeyId=key_id)
    assert env.kms.rotate_due(env.clock.now()) == [key_id]
    env.call("DisableKeyRotation", KeyId=key_id)
    env.clock.advance(timedelta(days=400))
    assert env.kms.rotate_due(env.clock.now()) == []


def test_rotation_states_and_on_demand_limit(env: Env) -> None:
    key_id = _key(env)
    env.call("DisableKey", KeyId=key_id)
    for op in ("EnableKeyRotation", "DisableKeyRotation", "RotateKeyOnDemand"):
        with pytest.raises(DisabledException):
            env.call(op, KeyId=key_id)
    env.call("EnableKey", KeyId=key_id)
    for _ in range(25):
        env.call("RotateKeyOnDemand", KeyId=key_id)
    with pytest.raises(LimitExceededException):
        env.call("RotateKeyOnDemand", KeyId=key_id)


def test_a_stale_rotation_loses_and_a_crashed_one_is_reused(env: Env) -> None:
    key_id = _key(env)
    key = env.kms.keys.lookup(key_id, ACCOUNT, REGION)
    # A crash after the material of version 2 was made, before the key moved to it:
    env.kms.keystore.create(key_id, 2)
    assert env.kms.rotator.rotate(key, KmsRotationType.ON_DEMAND) == 2
    with pytest.raises(ConflictException):
        env.kms.rotator.rotate(key, KmsRotationType.ON_DEMAND)  # still thinks it is at 1


def test_aliases(env: Env) -> None:
    one, two = _key(env), _key(env)
    env.call("CreateAlias", AliasName="alias/app/db", TargetKeyId=one)
    with pytest.raises(AlreadyExistsException):
        env.call("CreateAlias", AliasName="alias/app/db", TargetKeyId=two)
    with pytest.raises(NotAuthorizedException):
        env.call("CreateAlias", AliasName="alias/aws/mine", TargetKeyId=one)
    with pytest.raises(ValidationException, match='prefix "alias/"'):
        env.call("CreateAlias", AliasName="app", TargetKeyId=one)
    with pytest.raises(ValidationException):
        env.call("CreateAlias", AliasName="alias/bad name", TargetKeyId=one)
    with pytest.raises(ValidationException):
        env.call("CreateAlias", AliasName="alias/x", TargetKeyId="alias/app/db")
    names = [a["AliasName"] for a in env.call("ListAliases")["Aliases"]]
    assert names == ["alias/app/db", "alias/aws/rds", "alias/aws/secretsmanager"]
    predefined = [
        a for a in env.call("ListAliases")["Aliases"] if a["AliasName"] == "alias/aws/rds"
    ]
    assert "TargetKeyId" not in predefined[0]
    assert [a["AliasName"] for a in env.call("ListAliases", KeyId=one)["Aliases"]] == [
        "alias/app/db"
    ]
    env.call("DeleteAlias", AliasName="alias/app/db")
    with pytest.raises(NotFoundException):
        env.call("DeleteAlias", AliasName="alias/app/db")
    with pytest.raises(NotFoundException):
        env.call("DescribeKey", KeyId="alias/app/db")


def test_managed_keys_are_created_once_on_first_use(env: Env) -> None:
    with ThreadPoolExecutor(8) as pool:
        arns = set(
            pool.map(
                lambda _: env.kms.data_keys.resolve_key(
                    account_id=ACCOUNT,
                    region=REGION,
                    key_id=None,
                    managed_alias="aws/secretsmanager",
                ),
                range(16),
            )
        )
    assert len(arns) == 1
    meta = env.call("DescribeKey", KeyId="alias/aws/secretsmanager")["KeyMetadata"]
    assert meta["Arn"] in arns and meta["KeyManager"] == "AWS"
    assert env.call("GetKeyRotationStatus", KeyId=meta["KeyId"])["KeyRotationEnabled"] is True
    # DescribeKey of a predefined alias creates its key, as AWS services rely on.
    rds = env.call("DescribeKey", KeyId="alias/aws/rds")["KeyMetadata"]
    assert rds["KeyManager"] == "AWS"
    for op, extra in (
        ("DisableKey", {}),
        ("ScheduleKeyDeletion", {}),
        ("PutKeyPolicy", {"Policy": default_policy(ACCOUNT)}),
        ("EnableKeyRotation", {}),
        ("RotateKeyOnDemand", {}),
        ("TagResource", {"Tags": [{"TagKey": "a", "TagValue": "b"}]}),
    ):
        with pytest.raises(UnsupportedOperationException):
            env.call(op, KeyId=rds["KeyId"], **extra)
    with pytest.raises(NotAuthorizedException):
        env.call("DeleteAlias", AliasName="alias/aws/rds")


def test_key_policy_put_get_and_lockout_check(env: Env) -> None:
    key_id = _key(env)
    other = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/someone-else"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    with pytest.raises(MalformedPolicyDocumentException, match="will not allow you"):
        env.call("PutKeyPolicy", KeyId=key_id, Policy=json.dumps(other))
    env.call(
        "PutKeyPolicy", KeyId=key_id, Policy=json.dumps(other), BypassPolicyLockoutSafetyCheck=True
    )
    assert json.loads(env.call("GetKeyPolicy", KeyId=key_id)["Policy"]) == other
    assert env.call("ListKeyPolicies", KeyId=key_id)["PolicyNames"] == ["default"]
    with pytest.raises(NotFoundException):
        env.call("GetKeyPolicy", KeyId=key_id, PolicyName="other")
    with pytest.raises(MalformedPolicyDocumentException):
        env.call("PutKeyPolicy", KeyId=key_id, Policy='{"Statement": [{"Effect": "Allow"}]}')


def test_lockout_check_follows_principal_and_delegation() -> None:
    arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k"
    assert allows_put_policy(default_policy(ACCOUNT), ADMIN, arn)
    named = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": ADMIN.arn},
                "Action": "kms:PutKeyPolicy",
                "Resource": "*",
            }
        ],
    }
    assert allows_put_policy(json.dumps(named), ADMIN, arn)
    root = Principal(f"arn:aws:iam::{ACCOUNT}:root", PrincipalType.ROOT, ACCOUNT, ACCOUNT, "", "")
    assert not allows_put_policy(json.dumps(named), root, arn)
    denied = {
        "Version": "2012-10-17",
        "Statement": [
            *json.loads(default_policy(ACCOUNT))["Statement"],
            {"Effect": "Deny", "Principal": "*", "Action": "kms:PutKeyPolicy", "Resource": "*"},
        ],
    }
    assert not allows_put_policy(json.dumps(denied), ADMIN, arn)


def test_tags_merge_untag_and_limits(env: Env) -> None:
    key_id = _key(env, Tags=[{"TagKey": "a", "TagValue": "1"}])
    env.call(
        "TagResource",
        KeyId=key_id,
        Tags=[{"TagKey": "a", "TagValue": "2"}, {"TagKey": "b", "TagValue": ""}],
    )
    assert env.call("ListResourceTags", KeyId=key_id)["Tags"] == [
        {"TagKey": "a", "TagValue": "2"},
        {"TagKey": "b", "TagValue": ""},
    ]
    env.call("UntagResource", KeyId=key_id, TagKeys=["a", "missing"])
    assert env.call("ListResourceTags", KeyId=key_id)["Tags"] == [{"TagKey": "b", "TagValue": ""}]
    many = [{"TagKey": f"k{i}", "TagValue": "v"} for i in range(50)]
    with pytest.raises(LimitExceededException):
        env.call("TagResource", KeyId=key_id, Tags=many)
    with pytest.raises(TagException):
        env.call("TagResource", KeyId=key_id, Tags=[{"TagKey": "d", "TagValue": "1"}] * 2)


@pytest.mark.postgres
def test_races_resolve_on_postgresql_too(tmp_path: Path, pg_url: str) -> None:
    env = make_env(tmp_path, pg_url)
    try:
        with ThreadPoolExecutor(8) as pool:
            arns = set(
                pool.map(
                    lambda _: env.kms.data_keys.resolve_key(
                        account_id=ACCOUNT, region=REGION, key_id=None, managed_alias="aws/rds"
                    ),
                    range(16),
                )
            )
        assert len(arns) == 1
        key_id = _key(env)
        key = env.kms.keys.lookup(key_id, ACCOUNT, REGION)
        env.kms.rotator.rotate(key, KmsRotationType.ON_DEMAND)
        with pytest.raises(ConflictException):
            env.kms.rotator.rotate(key, KmsRotationType.ON_DEMAND)
        blob = _encrypt(env, key_id, b"pg")
        assert env.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == b"pg"
    finally:
        env.store.close()
