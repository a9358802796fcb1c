"""Managed policies, versions and attachments through boto3 and the aws CLI."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from harness import Warden

ACCOUNT = "123456789012"
RDS_READ = "arn:aws:iam::aws:policy/AmazonRDSReadOnlyAccess"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def _doc(action: str | list[str] = "rds:Describe*", sid: str = "One") -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": sid, "Effect": "Allow", "Action": action, "Resource": "*"}],
    }


@pytest.fixture
def iam(warden: Warden) -> Any:
    return warden.client("iam")


@pytest.fixture
def policy(iam: Any) -> Iterator[str]:
    made = iam.create_policy(
        PolicyName=_name("pol"), Path="/team/", PolicyDocument=json.dumps(_doc())
    )
    arn = str(made["Policy"]["Arn"])
    yield arn
    try:
        for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
            if not v["IsDefaultVersion"]:
                iam.delete_policy_version(PolicyArn=arn, VersionId=v["VersionId"])
        iam.delete_policy(PolicyArn=arn)
    except ClientError:
        pass


def test_create_and_get_policy(iam: Any) -> None:
    name = _name("p")
    made = iam.create_policy(
        PolicyName=name,
        Path="/a/b/",
        PolicyDocument=json.dumps(_doc()),
        Description="reads RDS",
        Tags=[{"Key": "k", "Value": "v"}],
    )["Policy"]
    assert made["Arn"] == f"arn:aws:iam::{ACCOUNT}:policy/a/b/{name}"
    assert made["PolicyId"].startswith("ANPA")
    assert made["DefaultVersionId"] == "v1" and made["AttachmentCount"] == 0
    assert made["IsAttachable"] is True
    got = iam.get_policy(PolicyArn=made["Arn"])["Policy"]
    assert got["Description"] == "reads RDS" and got["Tags"] == [{"Key": "k", "Value": "v"}]
    with pytest.raises(ClientError) as err:
        iam.create_policy(PolicyName=name.upper(), PolicyDocument=json.dumps(_doc()))
    assert _code(err) == "EntityAlreadyExists"
    iam.delete_policy(PolicyArn=made["Arn"])
    with pytest.raises(ClientError) as err:
        iam.get_policy(PolicyArn=made["Arn"])
    assert _code(err) == "NoSuchEntity"


def test_policy_version_document_is_url_encoded_on_the_wire(iam: Any, policy: str) -> None:
    bodies: list[bytes] = []

    def capture(http_response: Any, **_: Any) -> None:
        bodies.append(http_response.content)

    iam.meta.events.register("after-call.iam.GetPolicyVersion", capture)
    version = iam.get_policy_version(PolicyArn=policy, VersionId="v1")["PolicyVersion"]
    assert version["Document"] == _doc()  # botocore decodes it back to JSON
    assert version["IsDefaultVersion"] is True
    assert b"%7B%22Version%22%3A" in bodies[0] and b'{"Version"' not in bodies[0]


def test_versions_up_to_five_and_default_rules(iam: Any, policy: str) -> None:
    for i in range(2, 6):
        v = iam.create_policy_version(
            PolicyArn=policy, PolicyDocument=json.dumps(_doc(sid=f"S{i}")), SetAsDefault=(i == 3)
        )["PolicyVersion"]
        assert v["VersionId"] == f"v{i}"
    with pytest.raises(ClientError) as err:  # a sixth version
        iam.create_policy_version(PolicyArn=policy, PolicyDocument=json.dumps(_doc()))
    assert _code(err) == "LimitExceeded"
    versions = iam.list_policy_versions(PolicyArn=policy)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v5", "v4", "v3", "v2", "v1"]
    assert [v["VersionId"] for v in versions if v["IsDefaultVersion"]] == ["v3"]
    assert iam.get_policy(PolicyArn=policy)["Policy"]["DefaultVersionId"] == "v3"

    with pytest.raises(ClientError) as err:
        iam.delete_policy_version(PolicyArn=policy, VersionId="v3")
    assert _code(err) == "DeleteConflict"
    with pytest.raises(ClientError) as err:
        iam.delete_policy(PolicyArn=policy)  # non-default versions remain
    assert _code(err) == "DeleteConflict"
    with pytest.raises(ClientError) as err:
        iam.set_default_policy_version(PolicyArn=policy, VersionId="v9")
    assert _code(err) == "NoSuchEntity"
    with pytest.raises(ClientError) as err:
        iam.get_policy_version(PolicyArn=policy, VersionId="version1")
    assert _code(err) == "ValidationError"

    iam.delete_policy_version(PolicyArn=policy, VersionId="v5")
    made = iam.create_policy_version(PolicyArn=policy, PolicyDocument=json.dumps(_doc()))
    assert made["PolicyVersion"]["VersionId"] == "v6"  # ids are never reused
    iam.set_default_policy_version(PolicyArn=policy, VersionId="v6")
    doc = iam.get_policy_version(PolicyArn=policy, VersionId="v6")["PolicyVersion"]
    assert doc["IsDefaultVersion"] is True


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ("not json", "MalformedPolicyDocument"),
        (json.dumps({"Version": "2012-10-17", "Statement": []}), "MalformedPolicyDocument"),
        (
            json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "s3:GetObject",
                            "Resource": "*",
                            "Condition": {"StringEqualsSometimes": {"aws:username": "x"}},
                        }
                    ],
                }
            ),
            "MalformedPolicyDocument",
        ),
        (
            json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:Get", "Resource": "bucket"}],
                }
            ),
            "MalformedPolicyDocument",
        ),
        (
            json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}
                    ],
                }
            ),
            "MalformedPolicyDocument",
        ),
        (
            json.dumps(_doc(action=["rds:" + "X" * 60 + str(i) for i in range(100)])),
            "LimitExceeded",
        ),
    ],
)
def test_bad_policy_documents_are_refused_and_nothing_is_created(
    iam: Any, document: str, code: str
) -> None:
    name = _name("bad")
    with pytest.raises(ClientError) as err:
        iam.create_policy(PolicyName=name, PolicyDocument=document)
    assert _code(err) == code
    with pytest.raises(ClientError) as err:
        iam.get_policy(PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/{name}")
    assert _code(err) == "NoSuchEntity"


def test_bad_document_for_a_new_version_changes_nothing(iam: Any, policy: str) -> None:
    with pytest.raises(ClientError) as err:
        iam.create_policy_version(PolicyArn=policy, PolicyDocument="{", SetAsDefault=True)
    assert _code(err) == "MalformedPolicyDocument"
    assert len(iam.list_policy_versions(PolicyArn=policy)["Versions"]) == 1
    assert iam.get_policy(PolicyArn=policy)["Policy"]["DefaultVersionId"] == "v1"


def test_invalid_names_and_arns(iam: Any) -> None:
    with pytest.raises(ClientError) as err:
        iam.create_policy(PolicyName="no spaces", PolicyDocument=json.dumps(_doc()))
    assert _code(err) == "ValidationError"
    with pytest.raises(ClientError) as err:
        iam.create_policy(PolicyName="p" * 129, PolicyDocument=json.dumps(_doc()))
    assert _code(err) == "ValidationError"
    with pytest.raises(ClientError) as err:
        iam.get_policy(PolicyArn="arn:aws:iam::123456789012:role/NotAPolicy")
    assert _code(err) == "InvalidInput"
    with pytest.raises(ClientError) as err:
        iam.get_policy(PolicyArn="arn:aws:iam::999999999999:policy/Elsewhere")
    assert _code(err) == "NoSuchEntity"


def test_aws_managed_policies_are_readable_and_unmodifiable(iam: Any) -> None:
    got = iam.get_policy(PolicyArn=RDS_READ)["Policy"]
    assert got["PolicyName"] == "AmazonRDSReadOnlyAccess" and got["Path"] == "/"
    version = iam.get_policy_version(PolicyArn=RDS_READ, VersionId=got["DefaultVersionId"])
    statements = version["PolicyVersion"]["Document"]["Statement"]
    assert any("rds:Describe*" in json.dumps(s) for s in statements)
    admin = iam.get_policy(PolicyArn=ADMIN)["Policy"]
    assert admin["AttachmentCount"] >= 1  # the Administrators group of `warden init`
    writes: list[tuple[str, dict[str, Any]]] = [
        ("delete_policy", {}),
        ("create_policy_version", {"PolicyDocument": json.dumps(_doc())}),
        ("tag_policy", {"Tags": [{"Key": "k", "Value": "v"}]}),
    ]
    for method, kwargs in writes:
        with pytest.raises(ClientError) as err:
            getattr(iam, method)(PolicyArn=RDS_READ, **kwargs)
        assert _code(err) == "UnmodifiableEntity"


def test_list_policies_scopes_and_filters(iam: Any, policy: str) -> None:
    def arns(**kw: Any) -> set[str]:
        pages = iam.get_paginator("list_policies").paginate(**kw)
        return {p["Arn"] for page in pages for p in page["Policies"]}

    aws = arns(Scope="AWS")
    assert RDS_READ in aws and policy not in aws
    local = arns(Scope="Local")
    assert policy in local and RDS_READ not in local
    assert {policy, RDS_READ} <= arns()
    assert policy in arns(Scope="Local", PathPrefix="/team/")
    assert policy not in arns(Scope="Local", PathPrefix="/other/")
    attached = arns(OnlyAttached=True)
    assert ADMIN in attached and policy not in attached
    with pytest.raises(ClientError) as err:
        iam.list_policies(Scope="Everything")
    assert _code(err) == "ValidationError"


def test_attach_detach_counts_entities_and_limits(iam: Any, policy: str) -> None:
    user, group, role = _name("u"), _name("g"), _name("r")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}
        ],
    }
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
    iam.attach_user_policy(UserName=user, PolicyArn=policy)
    iam.attach_user_policy(UserName=user, PolicyArn=policy)  # idempotent
    iam.attach_group_policy(GroupName=group, PolicyArn=policy)
    iam.attach_role_policy(RoleName=role, PolicyArn=policy)
    assert iam.get_policy(PolicyArn=policy)["Policy"]["AttachmentCount"] == 3
    entities = iam.list_entities_for_policy(PolicyArn=policy)
    assert [u["UserName"] for u in entities["PolicyUsers"]] == [user]
    assert [g["GroupName"] for g in entities["PolicyGroups"]] == [group]
    assert [r["RoleName"] for r in entities["PolicyRoles"]] == [role]
    only_roles = iam.list_entities_for_policy(PolicyArn=policy, EntityFilter="Role")
    assert only_roles["PolicyUsers"] == [] and len(only_roles["PolicyRoles"]) == 1
    attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    assert attached == [{"PolicyName": policy.rsplit("/", 1)[1], "PolicyArn": policy}]

    with pytest.raises(ClientError) as err:
        iam.delete_policy(PolicyArn=policy)
    assert _code(err) == "DeleteConflict"
    with pytest.raises(ClientError) as err:
        iam.delete_role(RoleName=role)
    assert _code(err) == "DeleteConflict"
    with pytest.raises(ClientError) as err:
        iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/NotShipped")
    assert _code(err) == "NoSuchEntity"

    iam.detach_user_policy(UserName=user, PolicyArn=policy)
    with pytest.raises(ClientError) as err:
        iam.detach_user_policy(UserName=user, PolicyArn=policy)
    assert _code(err) == "NoSuchEntity"
    iam.detach_group_policy(GroupName=group, PolicyArn=policy)
    iam.detach_role_policy(RoleName=role, PolicyArn=policy)
    assert iam.get_policy(PolicyArn=policy)["Policy"]["AttachmentCount"] == 0
    iam.delete_role(RoleName=role)
    iam.delete_group(GroupName=group)
    iam.delete_user(UserName=user)


def test_at_most_ten_managed_policies_per_entity(iam: Any) -> None:
    user = _name("many")
    iam.create_user(UserName=user)
    made = [
        iam.create_policy(PolicyName=_name("ten"), PolicyDocument=json.dumps(_doc()))["Policy"][
            "Arn"
        ]
        for _ in range(11)
    ]
    for arn in made[:10]:
        iam.attach_user_policy(UserName=user, PolicyArn=arn)
    with pytest.raises(ClientError) as err:
        iam.attach_user_policy(UserName=user, PolicyArn=made[10])
    assert _code(err) == "LimitExceeded"
    assert iam.get_policy(PolicyArn=made[10])["Policy"]["AttachmentCount"] == 0
    for arn in made[:10]:
        iam.detach_user_policy(UserName=user, PolicyArn=arn)
    for arn in made:
        iam.delete_policy(PolicyArn=arn)
    iam.delete_user(UserName=user)


def test_policy_tags(iam: Any, policy: str) -> None:
    iam.tag_policy(PolicyArn=policy, Tags=[{"Key": "owner", "Value": "db"}])
    assert iam.list_policy_tags(PolicyArn=policy)["Tags"] == [{"Key": "owner", "Value": "db"}]
    iam.untag_policy(PolicyArn=policy, TagKeys=["owner"])
    assert iam.list_policy_tags(PolicyArn=policy)["Tags"] == []


def test_cli_policy_commands(warden: Warden) -> None:
    name = _name("cli-pol")
    made = warden.aws(
        "iam",
        "create-policy",
        "--policy-name",
        name,
        "--policy-document",
        json.dumps(_doc()),
        "--output",
        "json",
    )
    assert made.returncode == 0, made.stderr
    arn = json.loads(made.stdout)["Policy"]["Arn"]
    got = warden.aws(
        "iam", "get-policy-version", "--policy-arn", arn, "--version-id", "v1", "--output", "json"
    )
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["PolicyVersion"]["Document"] == _doc()
    bad = warden.aws("iam", "create-policy", "--policy-name", _name("x"), "--policy-document", "{")
    assert bad.returncode != 0 and "MalformedPolicyDocument" in bad.stderr
    assert warden.aws("iam", "delete-policy", "--policy-arn", arn).returncode == 0
