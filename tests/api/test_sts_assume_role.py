"""AssumeRole through boto3: the trust policy decides who may assume, the session acts as
the role (narrowed by session policies), and every bad input gets AWS's error code."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from harness import Warden
from principals import allow, code, enable_device, make_user, unique

from warden.store.db import Store
from warden.store.schema import sts_credentials

ACCOUNT = "123456789012"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"


def _error(err: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response: Any = err.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def _trust(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _trusting(
    principal: str, action: str | list[str] = "sts:AssumeRole", **cond: Any
) -> dict[str, Any]:
    stmt: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": action}
    if cond:
        stmt["Condition"] = cond
    return stmt


def _role(
    warden: Warden, trust: str, *, max_session: int = 3600, actions: list[str] | None = None
) -> str:
    iam: Any = warden.client("iam")
    name = unique("role")
    arn: str = iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=trust, MaxSessionDuration=max_session
    )["Role"]["Arn"]
    if actions:
        iam.put_role_policy(
            RoleName=name,
            PolicyName="perms",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [allow(actions)]}),
        )
    return arn


def _session_client(warden: Warden, service: str, creds: dict[str, Any]) -> Any:
    return warden.raw_client(
        service,
        key=creds["AccessKeyId"],
        secret=creds["SecretAccessKey"],
        token=creds["SessionToken"],
    )


@pytest.fixture(scope="module")
def caller(warden: Warden) -> tuple[str, Any]:
    """A user whose identity policies allow sts:AssumeRole on every role: (ARN, sts client)."""
    name = unique("assumer")
    key, secret = make_user(warden, name, allow(["sts:AssumeRole", "sts:TagSession"]))
    return f"arn:aws:iam::{ACCOUNT}:user/{name}", warden.raw_client("sts", key=key, secret=secret)


def test_role_session_identity_and_permissions(warden: Warden, caller: tuple[str, Any]) -> None:
    user_arn, sts = caller
    role_arn = _role(
        warden, _trust(_trusting(user_arn)), actions=["iam:ListRoles", "iam:ListUsers"]
    )
    role_name = role_arn.rsplit("/", 1)[-1]
    out = sts.assume_role(RoleArn=role_arn, RoleSessionName="alice@example.com")
    assumed = f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/alice@example.com"
    assert out["AssumedRoleUser"]["Arn"] == assumed
    role_id = warden.client("iam").get_role(RoleName=role_name)["Role"]["RoleId"]  # type: ignore[attr-defined]
    assert out["AssumedRoleUser"]["AssumedRoleId"] == f"{role_id}:alice@example.com"
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    assert timedelta(minutes=59) < creds["Expiration"] - datetime.now(UTC) <= timedelta(hours=1)
    assert "PackedPolicySize" not in out
    ident = _session_client(warden, "sts", creds).get_caller_identity()
    assert ident == {**ident, "Arn": assumed, "UserId": f"{role_id}:alice@example.com"}
    # The session has the role's permissions, not the caller's.
    iam = _session_client(warden, "iam", creds)
    assert "Roles" in iam.list_roles()
    with pytest.raises(ClientError) as err:
        iam.list_groups()
    assert _error(err) == ("AccessDenied", 403)


def test_session_policy_narrows_the_role(warden: Warden, caller: tuple[str, Any]) -> None:
    user_arn, sts = caller
    role_arn = _role(
        warden, _trust(_trusting(user_arn)), actions=["iam:ListRoles", "iam:ListUsers"]
    )
    policy = json.dumps({"Version": "2012-10-17", "Statement": [allow("iam:ListRoles")]})
    out = sts.assume_role(RoleArn=role_arn, RoleSessionName="narrow", Policy=policy)
    assert 0 < out["PackedPolicySize"] <= 100
    iam = _session_client(warden, "iam", out["Credentials"])
    assert "Roles" in iam.list_roles()
    with pytest.raises(ClientError) as err:
        iam.list_users()
    assert "session" in str(err.value)
    # A managed session policy by ARN narrows the same way.
    managed = sts.assume_role(
        RoleArn=role_arn,
        RoleSessionName="managed",
        PolicyArns=[{"arn": "arn:aws:iam::aws:policy/IAMReadOnlyAccess"}],
    )
    assert "Users" in _session_client(warden, "iam", managed["Credentials"]).list_users()


def test_trust_policy_decides_who_may_assume(warden: Warden, caller: tuple[str, Any]) -> None:
    user_arn, sts = caller
    other_name = unique("stranger")
    key, secret = make_user(warden, other_name, allow("sts:AssumeRole"))
    other: Any = warden.raw_client("sts", key=key, secret=secret)
    role_arn = _role(warden, _trust(_trusting(user_arn)))
    sts.assume_role(RoleArn=role_arn, RoleSessionName="ok")
    with pytest.raises(ClientError) as err:
        other.assume_role(RoleArn=role_arn, RoleSessionName="nope")
    assert _error(err) == ("AccessDenied", 403)
    assert (
        f"User: arn:aws:iam::{ACCOUNT}:user/{other_name} is not authorized to perform: "
        f"sts:AssumeRole on resource: {role_arn}" in str(err.value)
    )
    # Trusting the account delegates to identity policies: both users may assume...
    open_arn = _role(warden, _trust(_trusting(ROOT)))
    other.assume_role(RoleArn=open_arn, RoleSessionName="via-account")
    # ...unless an explicit Deny in the trust policy names the session.
    deny = {
        "Effect": "Deny",
        "Principal": {"AWS": ROOT},
        "Action": "sts:AssumeRole",
        "Condition": {"StringLike": {"sts:RoleSessionName": "blocked-*"}},
    }
    denied_arn = _role(warden, _trust(_trusting(ROOT), deny))
    sts.assume_role(RoleArn=denied_arn, RoleSessionName="fine")
    with pytest.raises(ClientError) as err:
        sts.assume_role(RoleArn=denied_arn, RoleSessionName="blocked-1")
    assert _error(err)[0] == "AccessDenied"
    # A role that does not exist is answered like a refusal.
    with pytest.raises(ClientError) as err:
        sts.assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{unique('ghost')}", RoleSessionName="x1"
        )
    assert _error(err) == ("AccessDenied", 403)


def test_identity_policy_must_allow_assume_role(warden: Warden) -> None:
    name = unique("no-identity")
    key, secret = make_user(warden, name, allow("iam:ListUsers"))
    role_arn = _role(warden, _trust(_trusting(ROOT)))
    sts: Any = warden.raw_client("sts", key=key, secret=secret)
    with pytest.raises(ClientError) as err:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="s1")
    assert _error(err) == ("AccessDenied", 403)
    assert "no identity-based policy allows the sts:AssumeRole action" in str(err.value)


def test_external_id_condition(warden: Warden, caller: tuple[str, Any]) -> None:
    user_arn, sts = caller
    role_arn = _role(
        warden, _trust(_trusting(user_arn, StringEquals={"sts:ExternalId": "Unique-42"}))
    )
    for external in (None, "Unique-41"):
        extra = {} if external is None else {"ExternalId": external}
        with pytest.raises(ClientError) as err:
            sts.assume_role(RoleArn=role_arn, RoleSessionName="ext", **extra)
        assert _error(err)[0] == "AccessDenied"
    sts.assume_role(RoleArn=role_arn, RoleSessionName="ext", ExternalId="Unique-42")


def test_mfa_condition_in_trust_policy(warden: Warden) -> None:
    name = unique("mfa-assumer")
    key, secret = make_user(warden, name, allow("sts:AssumeRole"))
    user_arn = f"arn:aws:iam::{ACCOUNT}:user/{name}"
    serial, seed, last = enable_device(warden, name)
    role_arn = _role(
        warden, _trust(_trusting(user_arn, Bool={"aws:MultiFactorAuthPresent": "true"}))
    )
    sts: Any = warden.raw_client("sts", key=key, secret=secret)
    with pytest.raises(ClientError) as err:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="plain")
    assert _error(err)[0] == "AccessDenied"
    token = code(seed, last + 1)
    sts.assume_role(RoleArn=role_arn, RoleSessionName="mfa", SerialNumber=serial, TokenCode=token)
    with pytest.raises(ClientError) as err:  # replayed
        sts.assume_role(
            RoleArn=role_arn, RoleSessionName="mfa", SerialNumber=serial, TokenCode=token
        )
    assert _error(err)[0] == "AccessDenied"


def test_session_tags_need_tag_session_in_trust(warden: Warden, caller: tuple[str, Any]) -> None:
    user_arn, sts = caller
    tags = [{"Key": "team", "Value": "db"}, {"Key": "env", "Value": "prod"}]
    plain = _role(warden, _trust(_trusting(user_arn)))
    with pytest.raises(ClientError) as err:
        sts.assume_role(RoleArn=plain, RoleSessionName="tagged", Tags=tags)
    assert "sts:TagSession" in str(err.value)
    tagging = _role(
        warden,
        _trust(
            _trusting(
                user_arn,
                ["sts:AssumeRole", "sts:TagSession"],
                StringEquals={"aws:RequestTag/team": "db"},
            )
        ),
    )
    out = sts.assume_role(
        RoleArn=tagging, RoleSessionName="tagged", Tags=tags, TransitiveTagKeys=["team"]
    )
    assert 0 < out["PackedPolicySize"] <= 100
    with pytest.raises(ClientError) as err:
        sts.assume_role(RoleArn=tagging, RoleSessionName="t2", Tags=[{"Key": "team", "Value": "x"}])
    assert _error(err)[0] == "AccessDenied"


def test_bad_inputs_get_aws_error_codes(warden: Warden, caller: tuple[str, Any]) -> None:
    user_arn, sts = caller
    role_arn = _role(warden, _trust(_trusting(user_arn)), max_session=7200)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"DurationSeconds": 7201}, "ValidationError"),
        ({"DurationSeconds": 43201}, "ValidationError"),
        ({"RoleSessionName": "has space"}, "ValidationError"),
        ({"RoleSessionName": "x" * 65}, "ValidationError"),
        ({"Policy": "{not json"}, "MalformedPolicyDocument"),
        (
            {"Policy": json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]})},
            "MalformedPolicyDocument",
        ),
        ({"ExternalId": "bad id!"}, "ValidationError"),
        ({"SerialNumber": "arn:aws:iam::123456789012:mfa/x"}, "ValidationError"),
        (
            {"Tags": [{"Key": "a", "Value": "1"}, {"Key": "A", "Value": "2"}]},
            "InvalidParameterValue",
        ),
        (
            {"Tags": [{"Key": "a", "Value": "1"}], "TransitiveTagKeys": ["b"]},
            "InvalidParameterValue",
        ),
        (
            {"PolicyArns": [{"arn": "arn:aws:iam::aws:policy/NoSuchPolicyHere"}]},
            "InvalidParameterValue",
        ),
        ({"SourceIdentity": "aws:me"}, "ValidationError"),
    ]
    for extra, expected in cases:
        args = {"RoleArn": role_arn, "RoleSessionName": "bad", **extra}
        with pytest.raises(ClientError) as err:
            sts.assume_role(**args)
        assert _error(err)[0] == expected, extra
    huge = json.dumps(
        {"Version": "2012-10-17", "Statement": [allow(f"iam:Get{'x' * 40}{i}") for i in range(60)]}
    )
    with pytest.raises(ClientError) as err:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="big", Policy=huge)
    assert _error(err)[0] in ("PackedPolicyTooLarge", "ValidationError")
    out = sts.assume_role(RoleArn=role_arn, RoleSessionName="long", DurationSeconds=7200)
    assert out["Credentials"]["Expiration"] - datetime.now(UTC) > timedelta(minutes=119)


def test_role_chaining_is_limited_to_one_hour(warden: Warden, caller: tuple[str, Any]) -> None:
    user_arn, sts = caller
    second = _role(warden, _trust(_trusting(ROOT)), max_session=7200)
    first = _role(warden, _trust(_trusting(user_arn)), actions=["sts:AssumeRole"])
    creds = sts.assume_role(RoleArn=first, RoleSessionName="hop1")["Credentials"]
    chained = _session_client(warden, "sts", creds)
    with pytest.raises(ClientError) as err:
        chained.assume_role(RoleArn=second, RoleSessionName="hop2", DurationSeconds=3601)
    assert _error(err)[0] == "ValidationError"
    out = chained.assume_role(RoleArn=second, RoleSessionName="hop2")
    assert out["AssumedRoleUser"]["Arn"].endswith("/hop2")


def test_expired_role_session_is_refused(warden: Warden, caller: tuple[str, Any]) -> None:
    user_arn, sts = caller
    role_arn = _role(warden, _trust(_trusting(user_arn)), actions=["iam:ListRoles"])
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="old", DurationSeconds=900)[
        "Credentials"
    ]
    iam = _session_client(warden, "iam", creds)
    iam.list_roles()
    store = Store.sqlite_in(warden.data_dir)
    try:
        with store.begin() as conn:
            conn.execute(
                sts_credentials.update()
                .where(sts_credentials.c.access_key_id == creds["AccessKeyId"])
                .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
    finally:
        store.close()
    time.sleep(2.5)  # the resolver caches a key for up to 2 s
    with pytest.raises(ClientError) as err:
        iam.list_roles()
    assert _error(err)[0] == "ExpiredToken"


def test_cli_assume_role(warden: Warden) -> None:
    role_arn = _role(warden, _trust(_trusting(ROOT)))
    out = warden.aws(
        "sts",
        "assume-role",
        "--role-arn",
        role_arn,
        "--role-session-name",
        "cli",
        "--output",
        "json",
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["AssumedRoleUser"]["Arn"].endswith("/cli")
