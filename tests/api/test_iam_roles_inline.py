"""Roles with trust policies, and inline policies of users, groups and roles, via boto3."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from harness import Warden

ACCOUNT = "123456789012"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
TRUST: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def _doc(action: str | list[str] = "rds:Describe*") -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}],
    }


@pytest.fixture
def iam(warden: Warden) -> Any:
    return warden.client("iam")


def test_role_lifecycle(iam: Any) -> None:
    name = _name("app")
    made = iam.create_role(
        RoleName=name,
        Path="/svc/",
        AssumeRolePolicyDocument=json.dumps(TRUST),
        Description="the app",
        MaxSessionDuration=7200,
        Tags=[{"Key": "env", "Value": "prod"}],
        PermissionsBoundary=READ_ONLY,
    )["Role"]
    assert made["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/svc/{name}"
    assert made["RoleId"].startswith("AROA")
    assert made["AssumeRolePolicyDocument"] == TRUST
    got = iam.get_role(RoleName=name.upper())["Role"]
    assert got["Description"] == "the app" and got["MaxSessionDuration"] == 7200
    assert got["PermissionsBoundary"]["PermissionsBoundaryArn"] == READ_ONLY
    assert got["Tags"] == [{"Key": "env", "Value": "prod"}]
    assert got["RoleLastUsed"] == {}
    assert name in {r["RoleName"] for r in iam.list_roles(PathPrefix="/svc/")["Roles"]}

    iam.update_role(RoleName=name, Description="changed", MaxSessionDuration=43200)
    new_trust = {**TRUST, "Statement": [{**TRUST["Statement"][0], "Sid": "Again"}]}
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(new_trust))
    got = iam.get_role(RoleName=name)["Role"]
    assert got["Description"] == "changed" and got["MaxSessionDuration"] == 43200
    assert got["AssumeRolePolicyDocument"]["Statement"][0]["Sid"] == "Again"
    described = iam.update_role_description(RoleName=name, Description="third")["Role"]
    assert described["Description"] == "third"

    iam.tag_role(RoleName=name, Tags=[{"Key": "team", "Value": "db"}])
    iam.untag_role(RoleName=name, TagKeys=["env"])
    assert iam.list_role_tags(RoleName=name)["Tags"] == [{"Key": "team", "Value": "db"}]
    iam.delete_role_permissions_boundary(RoleName=name)
    assert "PermissionsBoundary" not in iam.get_role(RoleName=name)["Role"]
    iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=READ_ONLY)

    with pytest.raises(ClientError) as err:
        iam.create_role(RoleName=name.lower(), AssumeRolePolicyDocument=json.dumps(TRUST))
    assert _code(err) == "EntityAlreadyExists"
    iam.delete_role(RoleName=name)
    with pytest.raises(ClientError) as err:
        iam.get_role(RoleName=name)
    assert _code(err) == "NoSuchEntity"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"AssumeRolePolicyDocument": json.dumps(_doc())}, "MalformedPolicyDocument"),
        (
            {
                "AssumeRolePolicyDocument": json.dumps(
                    {**TRUST, "Statement": [{**TRUST["Statement"][0], "Resource": "*"}]}
                )
            },
            "MalformedPolicyDocument",
        ),
        ({"AssumeRolePolicyDocument": "{]"}, "MalformedPolicyDocument"),
        ({"MaxSessionDuration": 50000}, "ValidationError"),
        ({"PermissionsBoundary": "arn:aws:iam::aws:policy/Nope"}, "NoSuchEntity"),
        ({"Description": "é\u0100"}, "ValidationError"),
    ],
)
def test_create_role_bad_input_writes_nothing(iam: Any, kwargs: dict[str, Any], code: str) -> None:
    name = _name("badrole")
    args = {"RoleName": name, "AssumeRolePolicyDocument": json.dumps(TRUST), **kwargs}
    with pytest.raises(ClientError) as err:
        iam.create_role(**args)
    assert _code(err) == code
    with pytest.raises(ClientError) as err:
        iam.get_role(RoleName=name)
    assert _code(err) == "NoSuchEntity"


def test_role_names_longer_than_64_are_refused(iam: Any) -> None:
    with pytest.raises(ClientError) as err:
        iam.create_role(RoleName="r" * 65, AssumeRolePolicyDocument=json.dumps(TRUST))
    assert _code(err) == "ValidationError"


@pytest.mark.parametrize("kind", ["user", "group", "role"])
def test_inline_policies_put_get_list_delete(iam: Any, kind: str) -> None:
    name = _name(kind)
    member = {"user": "UserName", "group": "GroupName", "role": "RoleName"}[kind]
    if kind == "role":
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
    else:
        getattr(iam, f"create_{kind}")(**{member: name})
    put = getattr(iam, f"put_{kind}_policy")
    put(**{member: name, "PolicyName": "read", "PolicyDocument": json.dumps(_doc())})
    put(**{member: name, "PolicyName": "read", "PolicyDocument": json.dumps(_doc("rds:List*"))})
    put(**{member: name, "PolicyName": "more", "PolicyDocument": json.dumps(_doc())})
    got = getattr(iam, f"get_{kind}_policy")(**{member: name, "PolicyName": "read"})
    assert got[member] == name and got["PolicyName"] == "read"
    assert got["PolicyDocument"] == _doc("rds:List*")
    listed = getattr(iam, f"list_{kind}_policies")(**{member: name})["PolicyNames"]
    assert listed == ["more", "read"]

    with pytest.raises(ClientError) as err:
        getattr(iam, f"delete_{kind}")(**{member: name})
    assert _code(err) == "DeleteConflict"
    with pytest.raises(ClientError) as err:
        put(**{member: name, "PolicyName": "bad", "PolicyDocument": '{"Version": 1}'})
    assert _code(err) == "MalformedPolicyDocument"
    with pytest.raises(ClientError) as err:
        getattr(iam, f"get_{kind}_policy")(**{member: name, "PolicyName": "bad"})
    assert _code(err) == "NoSuchEntity"
    assert f"{kind} policy" in err.value.response["Error"]["Message"]

    delete = getattr(iam, f"delete_{kind}_policy")
    delete(**{member: name, "PolicyName": "read"})
    delete(**{member: name, "PolicyName": "more"})
    with pytest.raises(ClientError) as err:
        delete(**{member: name, "PolicyName": "more"})
    assert _code(err) == "NoSuchEntity"
    getattr(iam, f"delete_{kind}")(**{member: name})


def test_inline_policies_share_the_users_size_quota(iam: Any) -> None:
    user = _name("quota")
    iam.create_user(UserName=user)
    # ~900 non-whitespace characters each: two fit in 2,048, a third does not.
    big = json.dumps(_doc(["rds:" + "A" * 80 + str(i) for i in range(10)]))
    iam.put_user_policy(UserName=user, PolicyName="one", PolicyDocument=big)
    iam.put_user_policy(UserName=user, PolicyName="two", PolicyDocument=big)
    iam.put_user_policy(UserName=user, PolicyName="two", PolicyDocument=big)  # replacing fits
    with pytest.raises(ClientError) as err:
        iam.put_user_policy(UserName=user, PolicyName="three", PolicyDocument=big)
    assert _code(err) == "LimitExceeded"
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == ["one", "two"]
    for p in ("one", "two"):
        iam.delete_user_policy(UserName=user, PolicyName=p)
    iam.delete_user(UserName=user)


def test_inline_policy_for_a_missing_entity(iam: Any) -> None:
    with pytest.raises(ClientError) as err:
        iam.put_role_policy(
            RoleName=_name("ghost"), PolicyName="p", PolicyDocument=json.dumps(_doc())
        )
    assert _code(err) == "NoSuchEntity"


def test_cli_role_commands(warden: Warden) -> None:
    name = _name("cli-role")
    made = warden.aws(
        "iam",
        "create-role",
        "--role-name",
        name,
        "--assume-role-policy-document",
        json.dumps(TRUST),
        "--output",
        "json",
    )
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["Role"]["AssumeRolePolicyDocument"] == TRUST
    attached = warden.aws(
        "iam", "attach-role-policy", "--role-name", name, "--policy-arn", READ_ONLY
    )
    assert attached.returncode == 0, attached.stderr
    listed = warden.aws(
        "iam", "list-attached-role-policies", "--role-name", name, "--output", "json"
    )
    assert json.loads(listed.stdout)["AttachedPolicies"][0]["PolicyArn"] == READ_ONLY
    conflict = warden.aws("iam", "delete-role", "--role-name", name)
    assert conflict.returncode != 0 and "DeleteConflict" in conflict.stderr
    warden.aws("iam", "detach-role-policy", "--role-name", name, "--policy-arn", READ_ONLY)
    assert warden.aws("iam", "delete-role", "--role-name", name).returncode == 0
