"""KMS black-box through boto3 and the aws CLI: envelope crypto, key states, rotation,
aliases, key policies evaluated as resource policies, and AWS's error codes."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from harness import Warden

ACCOUNT = "123456789012"


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


@pytest.fixture(scope="module")
def kms(warden: Warden) -> Any:
    return warden.client("kms")


def _key(kms: Any, **params: Any) -> str:
    return str(kms.create_key(Description=f"test {uuid.uuid4()}", **params)["KeyMetadata"]["KeyId"])


def _user(warden: Warden) -> tuple[str, Any]:
    """A fresh IAM user with no policies at all, and a KMS client signed by it."""
    iam: Any = warden.client("iam")
    name = f"kms-user-{uuid.uuid4().hex[:8]}"
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, warden.raw_client("kms", key=key["AccessKeyId"], secret=key["SecretAccessKey"])


def test_encrypt_decrypt_round_trip_and_context_binding(kms: Any) -> None:
    key_id = _key(kms)
    out = kms.encrypt(KeyId=key_id, Plaintext=b"hello", EncryptionContext={"app": "a"})
    assert out["KeyId"].endswith(key_id) and out["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    back = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"app": "a"})
    assert back["Plaintext"] == b"hello" and back["KeyId"] == out["KeyId"]
    for context in ({}, {"app": "b"}):
        with pytest.raises(ClientError) as err:
            kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext=context)
        assert _code(err) == "InvalidCiphertextException"
    tampered = bytearray(out["CiphertextBlob"])
    tampered[-1] ^= 1
    with pytest.raises(ClientError) as err:
        kms.decrypt(CiphertextBlob=bytes(tampered), EncryptionContext={"app": "a"})
    assert _code(err) == "InvalidCiphertextException"


def test_data_keys_and_reencrypt(kms: Any) -> None:
    one, two = _key(kms), _key(kms)
    made = kms.generate_data_key(KeyId=one, KeySpec="AES_256", EncryptionContext={"k": "v"})
    assert len(made["Plaintext"]) == 32
    bare = kms.generate_data_key_without_plaintext(KeyId=one, NumberOfBytes=64)
    assert "Plaintext" not in bare
    moved = kms.re_encrypt(
        CiphertextBlob=made["CiphertextBlob"],
        SourceEncryptionContext={"k": "v"},
        DestinationKeyId=two,
    )
    assert moved["SourceKeyId"].endswith(one) and moved["KeyId"].endswith(two)
    assert kms.decrypt(CiphertextBlob=moved["CiphertextBlob"])["Plaintext"] == made["Plaintext"]
    with pytest.raises(ClientError) as err:
        kms.decrypt(CiphertextBlob=moved["CiphertextBlob"], KeyId=one)
    assert _code(err) == "IncorrectKeyException"


def test_disabled_key_refuses_use_until_enabled(kms: Any) -> None:
    key_id = _key(kms)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    kms.disable_key(KeyId=key_id)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
    for call in (
        lambda: kms.encrypt(KeyId=key_id, Plaintext=b"x"),
        lambda: kms.decrypt(CiphertextBlob=blob),
        lambda: kms.generate_data_key(KeyId=key_id, KeySpec="AES_128"),
    ):
        with pytest.raises(ClientError) as err:
            call()
        assert _code(err) == "DisabledException"
    kms.enable_key(KeyId=key_id)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


def test_rotation_keeps_old_ciphertexts_decryptable(kms: Any) -> None:
    key_id = _key(kms)
    before = kms.encrypt(KeyId=key_id, Plaintext=b"before")["CiphertextBlob"]
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=180)
    status = kms.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 180
    kms.rotate_key_on_demand(KeyId=key_id)
    after = kms.encrypt(KeyId=key_id, Plaintext=b"after")["CiphertextBlob"]
    one, two = kms.decrypt(CiphertextBlob=before), kms.decrypt(CiphertextBlob=after)
    assert (one["Plaintext"], two["Plaintext"]) == (b"before", b"after")
    assert one["KeyMaterialId"] != two["KeyMaterialId"]
    rotations = kms.list_key_rotations(KeyId=key_id)["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["ON_DEMAND"]
    with pytest.raises(ClientError) as err:
        kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=2561)
    assert _code(err) == "ValidationException"


def test_pending_deletion_and_cancel(kms: Any) -> None:
    key_id = _key(kms)
    out = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert out["KeyState"] == "PendingDeletion" and out["PendingWindowInDays"] == 7
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion" and "DeletionDate" in meta
    with pytest.raises(ClientError) as err:
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
    assert _code(err) == "KMSInvalidStateException"
    kms.cancel_key_deletion(KeyId=key_id)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
    for days in (6, 31):
        with pytest.raises(ClientError) as err:
            kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=days)
        assert _code(err) == "ValidationException"


def test_aliases(kms: Any) -> None:
    one, two = _key(kms), _key(kms)
    name = f"alias/test-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=name, TargetKeyId=one)
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == one
    blob = kms.encrypt(KeyId=name, Plaintext=b"via alias")["CiphertextBlob"]
    with pytest.raises(ClientError) as err:
        kms.create_alias(AliasName=name, TargetKeyId=two)
    assert _code(err) == "AlreadyExistsException"
    kms.update_alias(AliasName=name, TargetKeyId=two)
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == two
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"via alias"  # the blob names `one`
    listed = kms.list_aliases(KeyId=two)["Aliases"]
    assert [a["AliasName"] for a in listed] == [name]
    kms.delete_alias(AliasName=name)
    with pytest.raises(ClientError) as err:
        kms.describe_key(KeyId=name)
    assert _code(err) == "NotFoundException"
    with pytest.raises(ClientError) as err:
        kms.create_alias(AliasName="alias/aws/mine", TargetKeyId=one)
    assert _code(err) == "NotAuthorizedException"
    with pytest.raises(ClientError) as err:
        kms.create_alias(AliasName="no-prefix", TargetKeyId=one)
    assert _code(err) == "ValidationException"


def test_aws_managed_key_is_created_on_first_use_and_only_usable_via_its_service(
    kms: Any,
) -> None:
    meta = kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]
    assert meta["KeyManager"] == "AWS" and meta["KeyState"] == "Enabled"
    # Its policy admits use only through Secrets Manager (kms:ViaService), not directly.
    with pytest.raises(ClientError) as err:
        kms.encrypt(KeyId="alias/aws/secretsmanager", Plaintext=b"x")
    assert _code(err) == "AccessDeniedException"
    with pytest.raises(ClientError) as err:
        kms.disable_key(KeyId=meta["KeyId"])
    assert _code(err) == "AccessDeniedException"


def test_key_policy_that_does_not_delegate_denies_the_admin(warden: Warden, kms: Any) -> None:
    user_arn, user_kms = _user(warden)
    # The new user has no IAM policy: the default (delegating) key policy gives it nothing.
    open_key = _key(kms)
    with pytest.raises(ClientError) as err:
        user_kms.encrypt(KeyId=open_key, Plaintext=b"x")
    assert _code(err) == "AccessDeniedException"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OnlyTheUser",
                "Effect": "Allow",
                "Principal": {"AWS": user_arn},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"],
                "Resource": "*",
            }
        ],
    }
    # Without the bypass, KMS refuses a policy that would lock the caller out.
    with pytest.raises(ClientError) as err:
        kms.create_key(Policy=json.dumps(policy))
    assert _code(err) == "MalformedPolicyDocumentException"
    key_id = _key(kms, Policy=json.dumps(policy), BypassPolicyLockoutSafetyCheck=True)
    # The admin's AdministratorAccess does not count: the key policy does not delegate.
    with pytest.raises(ClientError) as err:
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
    assert _code(err) == "AccessDeniedException"
    assert "kms:Encrypt" in err.value.response["Error"]["Message"]
    # The user the key policy names may use the key without any IAM policy.
    blob = user_kms.encrypt(KeyId=key_id, Plaintext=b"mine")["CiphertextBlob"]
    assert user_kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"mine"
    with pytest.raises(ClientError) as err:
        user_kms.disable_key(KeyId=key_id)
    assert _code(err) == "AccessDeniedException"


def test_aws_error_codes_for_bad_input(kms: Any) -> None:
    key_id = _key(kms)
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("describe_key", {"KeyId": str(uuid.uuid4())}, "NotFoundException"),
        ("describe_key", {"KeyId": "not-a-key"}, "NotFoundException"),
        ("describe_key", {"KeyId": "alias/never-made"}, "NotFoundException"),
        ("create_key", {"KeySpec": "RSA_2048"}, "UnsupportedOperationException"),
        ("create_key", {"KeyUsage": "SIGN_VERIFY"}, "ValidationException"),
        ("create_key", {"Policy": "{not json"}, "MalformedPolicyDocumentException"),
        ("encrypt", {"KeyId": key_id, "Plaintext": b"x" * 4097}, "ValidationException"),
        ("generate_data_key", {"KeyId": key_id}, "ValidationException"),
        ("decrypt", {"CiphertextBlob": b"garbage" * 8}, "InvalidCiphertextException"),
        ("get_key_policy", {"KeyId": key_id, "PolicyName": "other"}, "NotFoundException"),
        ("cancel_key_deletion", {"KeyId": key_id}, "KMSInvalidStateException"),
        ("list_keys", {"Limit": 1001}, "ValidationException"),
    ]
    for method, params, code in cases:
        with pytest.raises(ClientError) as err:
            getattr(kms, method)(**params)
        assert _code(err) == code, (method, params, err.value.response)
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_list_keys_pages_and_tags(kms: Any) -> None:
    key_id = _key(kms, Tags=[{"TagKey": "team", "TagValue": "db"}])
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "env", "TagValue": "test"}])
    kms.untag_resource(KeyId=key_id, TagKeys=["team"])
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == [{"TagKey": "env", "TagValue": "test"}]
    first = kms.list_keys(Limit=1)
    assert len(first["Keys"]) == 1 and first["Truncated"] is True
    every = [k["KeyId"] for p in kms.get_paginator("list_keys").paginate() for k in p["Keys"]]
    assert key_id in every and len(every) == len(set(every))


def test_cli_encrypt_decrypt(warden: Warden, tmp_path: Any) -> None:
    made = warden.aws("kms", "create-key", "--description", "cli", "--output", "json")
    assert made.returncode == 0, made.stderr
    key_id = json.loads(made.stdout)["KeyMetadata"]["KeyId"]
    (tmp_path / "plain").write_bytes(b"from the cli")
    enc = warden.aws(
        "kms", "encrypt", "--key-id", key_id, "--plaintext", f"fileb://{tmp_path / 'plain'}",
        "--encryption-context", "purpose=test", "--output", "json",
    )  # fmt: skip
    assert enc.returncode == 0, enc.stderr
    (tmp_path / "blob").write_bytes(base64.b64decode(json.loads(enc.stdout)["CiphertextBlob"]))
    dec = warden.aws(
        "kms", "decrypt", "--ciphertext-blob", f"fileb://{tmp_path / 'blob'}",
        "--encryption-context", "purpose=test", "--output", "json",
    )  # fmt: skip
    assert dec.returncode == 0, dec.stderr
    assert base64.b64decode(json.loads(dec.stdout)["Plaintext"]) == b"from the cli"
    bad = warden.aws("kms", "decrypt", "--ciphertext-blob", f"fileb://{tmp_path / 'blob'}")
    assert bad.returncode != 0 and "InvalidCiphertextException" in bad.stderr
