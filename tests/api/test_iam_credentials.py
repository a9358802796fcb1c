"""Access keys, console passwords, the account password policy and the account summary."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from harness import Warden

from warden.store.db import Store
from warden.store.schema import access_keys, iam_login_profiles, iam_users


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


@pytest.fixture
def iam(warden: Warden) -> Any:
    return warden.client("iam")


def _identity(warden: Warden, key: str, secret: str) -> str:
    sts = warden.raw_client("sts", key=key, secret=secret)
    return str(sts.get_caller_identity()["Arn"])  # type: ignore[attr-defined]


def test_access_key_rotation_and_the_two_key_limit(warden: Warden, iam: Any) -> None:
    user = _name("rotor")
    iam.create_user(UserName=user)
    first = iam.create_access_key(UserName=user)["AccessKey"]
    assert first["AccessKeyId"].startswith("AKIA") and len(first["SecretAccessKey"]) == 40
    assert first["Status"] == "Active" and first["UserName"] == user
    arn = f"arn:aws:iam::123456789012:user/{user}"
    assert _identity(warden, first["AccessKeyId"], first["SecretAccessKey"]) == arn

    second = iam.create_access_key(UserName=user)["AccessKey"]
    with pytest.raises(ClientError) as err:  # a third key
        iam.create_access_key(UserName=user)
    assert _code(err) == "LimitExceeded"
    keys = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    assert {k["AccessKeyId"] for k in keys} == {first["AccessKeyId"], second["AccessKeyId"]}

    assert _identity(warden, second["AccessKeyId"], second["SecretAccessKey"]) == arn
    iam.update_access_key(UserName=user, AccessKeyId=first["AccessKeyId"], Status="Inactive")
    statuses = {
        k["AccessKeyId"]: k["Status"]
        for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    }
    assert statuses[first["AccessKeyId"]] == "Inactive"
    with pytest.raises(ClientError) as err:
        _identity(warden, first["AccessKeyId"], first["SecretAccessKey"])
    assert _code(err) == "InvalidClientTokenId"

    with pytest.raises(ClientError) as err:  # keys with a user cannot be deleted
        iam.delete_user(UserName=user)
    assert _code(err) == "DeleteConflict"
    iam.delete_access_key(UserName=user, AccessKeyId=first["AccessKeyId"])
    with pytest.raises(ClientError) as err:
        iam.delete_access_key(UserName=user, AccessKeyId=first["AccessKeyId"])
    assert _code(err) == "NoSuchEntity"
    iam.delete_access_key(UserName=user, AccessKeyId=second["AccessKeyId"])
    iam.delete_user(UserName=user)


def test_access_key_secret_is_stored_sealed(warden: Warden, iam: Any) -> None:
    user = _name("sealed")
    iam.create_user(UserName=user)
    made = iam.create_access_key(UserName=user)["AccessKey"]
    store = Store.sqlite_in(warden.data_dir)
    try:
        with store.read() as conn:
            sealed = (
                conn.execute(
                    access_keys.select().where(access_keys.c.access_key_id == made["AccessKeyId"])
                )
                .mappings()
                .one()["secret_ciphertext"]
            )
    finally:
        store.close()
    assert made["SecretAccessKey"].encode() not in bytes(sealed)
    iam.delete_access_key(UserName=user, AccessKeyId=made["AccessKeyId"])
    iam.delete_user(UserName=user)


def test_a_user_manages_its_own_keys_without_naming_itself(warden: Warden, iam: Any) -> None:
    user = _name("self")
    iam.create_user(UserName=user)
    iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/IAMFullAccess")
    key = iam.create_access_key(UserName=user)["AccessKey"]
    me = warden.raw_client("iam", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    listed = me.list_access_keys()["AccessKeyMetadata"]  # type: ignore[attr-defined]
    assert [k["AccessKeyId"] for k in listed] == [key["AccessKeyId"]]
    assert listed[0]["UserName"] == user
    extra = me.create_access_key()["AccessKey"]  # type: ignore[attr-defined]
    assert extra["UserName"] == user
    me.delete_access_key(AccessKeyId=extra["AccessKeyId"])  # type: ignore[attr-defined]
    iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
    iam.detach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/IAMFullAccess")
    iam.delete_user(UserName=user)


def test_login_profiles_and_the_password_policy(warden: Warden, iam: Any) -> None:
    user = _name("console")
    iam.create_user(UserName=user)
    with pytest.raises(ClientError) as err:  # AWS's default policy: 8+ chars, 3 of 4 classes
        iam.create_login_profile(UserName=user, Password="short")
    assert _code(err) == "PasswordPolicyViolation"
    assert "short" not in err.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as err:
        iam.get_login_profile(UserName=user)
    assert _code(err) == "NoSuchEntity"

    made = iam.create_login_profile(
        UserName=user, Password="Correct-Horse-9", PasswordResetRequired=True
    )["LoginProfile"]
    assert made["UserName"] == user and made["PasswordResetRequired"] is True
    with pytest.raises(ClientError) as err:
        iam.create_login_profile(UserName=user, Password="Correct-Horse-9")
    assert _code(err) == "EntityAlreadyExists"
    store = Store.sqlite_in(warden.data_dir)
    try:
        with store.read() as conn:
            stored = (
                conn.execute(
                    iam_login_profiles.select()
                    .join(iam_users, iam_users.c.user_id == iam_login_profiles.c.user_id)
                    .where(iam_users.c.name == user)
                )
                .mappings()
                .one()
            )
    finally:
        store.close()
    assert stored["password_hash"].startswith("scrypt$")
    assert "Correct-Horse-9" not in stored["password_hash"]

    with pytest.raises(ClientError) as err:
        iam.get_account_password_policy()
    assert _code(err) == "NoSuchEntity"
    iam.update_account_password_policy(
        MinimumPasswordLength=20, RequireSymbols=True, MaxPasswordAge=90
    )
    try:
        policy = iam.get_account_password_policy()["PasswordPolicy"]
        assert policy["MinimumPasswordLength"] == 20 and policy["RequireSymbols"] is True
        assert policy["ExpirePasswords"] is True and policy["MaxPasswordAge"] == 90
        assert policy["RequireNumbers"] is False
        with pytest.raises(ClientError) as err:
            iam.update_login_profile(UserName=user, Password="Correct-Horse-9")
        assert _code(err) == "PasswordPolicyViolation"
        assert "20" in err.value.response["Error"]["Message"]
        with pytest.raises(ClientError) as err:
            iam.update_login_profile(UserName=user, Password="alongenoughpassword0123")
        assert _code(err) == "PasswordPolicyViolation"
        assert "symbol" in err.value.response["Error"]["Message"]
        iam.update_login_profile(UserName=user, Password="a-long-enough-password-0")
    finally:
        iam.delete_account_password_policy()
    with pytest.raises(ClientError) as err:
        iam.delete_account_password_policy()
    assert _code(err) == "NoSuchEntity"

    iam.update_login_profile(UserName=user, PasswordResetRequired=False)
    assert iam.get_login_profile(UserName=user)["LoginProfile"]["PasswordResetRequired"] is False
    with pytest.raises(ClientError) as err:
        iam.delete_user(UserName=user)
    assert _code(err) == "DeleteConflict"
    iam.delete_login_profile(UserName=user)
    iam.delete_user(UserName=user)


def test_password_policy_bounds_are_validated(iam: Any) -> None:
    with pytest.raises(ClientError) as err:
        iam.update_account_password_policy(MinimumPasswordLength=200)
    assert _code(err) == "ValidationError"
    with pytest.raises(ClientError) as err:
        iam.get_account_password_policy()
    assert _code(err) == "NoSuchEntity"


def test_account_summary_counts_and_quotas(iam: Any) -> None:
    before = iam.get_account_summary()["SummaryMap"]
    user = _name("counted")
    iam.create_user(UserName=user)
    after = iam.get_account_summary()["SummaryMap"]
    assert after["Users"] == before["Users"] + 1
    assert after["AccessKeysPerUserQuota"] == 2 and after["GroupsPerUserQuota"] == 10
    assert after["VersionsPerPolicyQuota"] == 5 and after["PolicySizeQuota"] == 6144
    assert after["UsersQuota"] == 5000 and after["AttachedPoliciesPerUserQuota"] == 10
    assert after["AccountAccessKeysPresent"] == 0  # root has no keys
    assert after["Groups"] >= 1 and after["PolicyVersionsInUse"] >= 1
    iam.delete_user(UserName=user)


def test_cli_access_keys(warden: Warden) -> None:
    user = _name("cli-keys")
    assert warden.aws("iam", "create-user", "--user-name", user).returncode == 0
    made = warden.aws("iam", "create-access-key", "--user-name", user, "--output", "json")
    assert made.returncode == 0, made.stderr
    akid = json.loads(made.stdout)["AccessKey"]["AccessKeyId"]
    off = warden.aws(
        "iam",
        "update-access-key",
        "--user-name",
        user,
        "--access-key-id",
        akid,
        "--status",
        "Inactive",
    )
    assert off.returncode == 0, off.stderr
    listed = warden.aws("iam", "list-access-keys", "--user-name", user, "--output", "json")
    assert json.loads(listed.stdout)["AccessKeyMetadata"][0]["Status"] == "Inactive"
    gone = warden.aws("iam", "delete-access-key", "--user-name", user, "--access-key-id", akid)
    assert gone.returncode == 0, gone.stderr
    assert warden.aws("iam", "delete-user", "--user-name", user).returncode == 0
