"""The policy simulator through boto3: decisions, matched statements with positions,
missing context values, context-key discovery, paging and AWS's error codes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from harness import Warden
from principals import allow, make_user, unique

ACCOUNT = "123456789012"

DB_POLICY = (
    '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*",'
    '"Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}'
)


def _error(err: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response: Any = err.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2)


def test_custom_policy_like_the_cli_example(warden: Warden) -> None:
    """The AWS CLI's documented simulate-custom-policy example, both ways."""
    iam: Any = warden.client("iam")

    def run(when: str) -> dict[str, Any]:
        return iam.simulate_custom_policy(  # type: ignore[no-any-return]
            PolicyInputList=[DB_POLICY],
            ActionNames=["dynamodb:CreateBackup"],
            ContextEntries=[
                {
                    "ContextKeyName": "aws:CurrentTime",
                    "ContextKeyValues": [when],
                    "ContextKeyType": "date",
                }
            ],
        )["EvaluationResults"][0]

    allowed = run("2019-04-25T11:00:00Z")
    assert allowed["EvalActionName"] == "dynamodb:CreateBackup"
    assert allowed["EvalResourceName"] == "*"
    assert allowed["EvalDecision"] == "allowed"
    [matched] = allowed["MatchedStatements"]
    assert matched["SourcePolicyId"] == "PolicyInputList.1"
    # The positions AWS's own documentation shows for this very request.
    assert matched["StartPosition"] == {"Line": 1, "Column": 38}
    assert matched["EndPosition"] == {"Line": 1, "Column": 167}
    assert allowed["MissingContextValues"] == []
    denied = run("2014-04-25T11:00:00Z")
    assert (denied["EvalDecision"], denied["MatchedStatements"]) == ("implicitDeny", [])


def test_custom_policy_reports_missing_context_and_explicit_deny(warden: Warden) -> None:
    iam: Any = warden.client("iam")
    deny = {
        "Sid": "NoDelete",
        "Effect": "Deny",
        "Action": "rds:Delete*",
        "Resource": "*",
    }
    tagged = allow("rds:*", Bool={"aws:MultiFactorAuthPresent": "true"})
    out = iam.simulate_custom_policy(
        PolicyInputList=[_doc(tagged, deny)],
        ActionNames=["rds:DeleteDBCluster", "rds:CreateDBCluster"],
        ResourceArns=[f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:a", "*"],
    )["EvaluationResults"]
    assert len(out) == 4
    by = {(r["EvalActionName"], r["EvalResourceName"]): r for r in out}
    delete = by["rds:DeleteDBCluster", f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:a"]
    assert delete["EvalDecision"] == "explicitDeny"
    assert delete["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.1"
    assert delete["MatchedStatements"][0]["StartPosition"]["Line"] > 1
    create = by["rds:CreateDBCluster", "*"]
    assert create["EvalDecision"] == "implicitDeny"
    assert create["MissingContextValues"] == ["aws:MultiFactorAuthPresent"]


def test_boundary_and_resource_policy(warden: Warden) -> None:
    iam: Any = warden.client("iam")
    caller = f"arn:aws:iam::{ACCOUNT}:user/somebody"
    out = iam.simulate_custom_policy(
        PolicyInputList=[_doc(allow(["secretsmanager:*", "rds:*"]))],
        PermissionsBoundaryPolicyInputList=[_doc(allow("rds:*"))],
        ActionNames=["rds:DescribeDBClusters", "secretsmanager:GetSecretValue"],
    )["EvaluationResults"]
    decisions = {r["EvalActionName"]: r for r in out}
    rds, secret = decisions["rds:DescribeDBClusters"], decisions["secretsmanager:GetSecretValue"]
    assert rds["EvalDecision"] == "allowed"
    assert rds["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": True}
    assert secret["EvalDecision"] == "implicitDeny"
    assert secret["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}

    resource_policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": caller},
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": "*",
                }
            ],
        }
    )
    secret_arn = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf"
    via_resource = iam.simulate_custom_policy(
        PolicyInputList=[_doc(allow("rds:*"))],
        ActionNames=["secretsmanager:GetSecretValue"],
        ResourceArns=[secret_arn],
        ResourcePolicy=resource_policy,
        CallerArn=caller,
    )["EvaluationResults"][0]
    assert via_resource["EvalDecision"] == "allowed"
    assert via_resource["MatchedStatements"][0]["SourcePolicyId"] == "ResourcePolicy"
    assert via_resource["MatchedStatements"][0]["SourcePolicyType"] == "resource"
    with pytest.raises(ClientError) as err:
        iam.simulate_custom_policy(
            PolicyInputList=[_doc(allow("rds:*"))],
            ActionNames=["secretsmanager:GetSecretValue"],
            ResourcePolicy=resource_policy,
        )
    assert _error(err) == ("InvalidInput", 400)


def test_principal_policy_uses_the_stored_policies(warden: Warden) -> None:
    iam: Any = warden.client("iam")
    user = unique("sim-user")
    make_user(warden, user, allow("iam:ListUsers"))
    group = unique("sim-group")
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.attach_group_policy(
        GroupName=group, PolicyArn="arn:aws:iam::aws:policy/AmazonRDSReadOnlyAccess"
    )
    user_arn = f"arn:aws:iam::{ACCOUNT}:user/{user}"
    out = iam.simulate_principal_policy(
        PolicySourceArn=user_arn,
        ActionNames=["iam:ListUsers", "rds:DescribeDBClusters", "rds:DeleteDBCluster"],
    )["EvaluationResults"]
    decisions = {r["EvalActionName"]: r for r in out}
    assert decisions["iam:ListUsers"]["EvalDecision"] == "allowed"
    assert decisions["iam:ListUsers"]["MatchedStatements"][0]["SourcePolicyId"] == "inline"
    assert decisions["iam:ListUsers"]["MatchedStatements"][0]["SourcePolicyType"] == "user"
    rds = decisions["rds:DescribeDBClusters"]["MatchedStatements"][0]
    assert (rds["SourcePolicyId"], rds["SourcePolicyType"]) == (
        "AmazonRDSReadOnlyAccess",
        "aws-managed",
    )
    assert decisions["rds:DeleteDBCluster"]["EvalDecision"] == "implicitDeny"

    # Extra input policies add to the stored ones; exclusions take stored ones away.
    extra = iam.simulate_principal_policy(
        PolicySourceArn=user_arn,
        ActionNames=["rds:DeleteDBCluster", "iam:ListUsers"],
        PolicyInputList=[_doc(allow("rds:DeleteDBCluster"))],
        PolicyExclusionList=[
            {
                "InlinePolicyIdentifier": {
                    "PolicyName": "inline",
                    "AttachmentType": "user",
                    "AttachmentName": user,
                },
            }
        ],
    )["EvaluationResults"]
    decisions = {r["EvalActionName"]: r["EvalDecision"] for r in extra}
    assert decisions == {"rds:DeleteDBCluster": "allowed", "iam:ListUsers": "implicitDeny"}

    for exclusion in (
        {"PolicyType": "aws-managed"},
        {"PolicyArn": "arn:aws:iam::aws:policy/AmazonRDSReadOnlyAccess"},
    ):
        result = iam.simulate_principal_policy(
            PolicySourceArn=user_arn,
            ActionNames=["rds:DescribeDBClusters"],
            PolicyExclusionList=[exclusion],
        )["EvaluationResults"][0]
        assert result["EvalDecision"] == "implicitDeny", exclusion

    keys = iam.get_context_keys_for_principal_policy(
        PolicySourceArn=user_arn,
        PolicyInputList=[_doc(allow("s3:*", "arn:aws:s3:::${aws:username}/*"))],
    )["ContextKeyNames"]
    assert "aws:username" in keys


def test_role_and_group_sources(warden: Warden) -> None:
    iam: Any = warden.client("iam")
    role = unique("sim-role")
    trust = _doc({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"})
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=role, PolicyName="read", PolicyDocument=_doc(allow("rds:Describe*"))
    )
    out = iam.simulate_principal_policy(
        PolicySourceArn=role_arn, ActionNames=["rds:DescribeDBInstances"]
    )["EvaluationResults"][0]
    assert out["EvalDecision"] == "allowed"
    assert out["MatchedStatements"][0]["SourcePolicyType"] == "role"
    group = unique("sim-only-group")
    group_arn = iam.create_group(GroupName=group)["Group"]["Arn"]
    out = iam.simulate_principal_policy(
        PolicySourceArn=group_arn, ActionNames=["rds:DescribeDBInstances"]
    )["EvaluationResults"][0]
    assert out["EvalDecision"] == "implicitDeny"


def test_context_keys_for_custom_policy(warden: Warden) -> None:
    iam: Any = warden.client("iam")
    policy = (
        '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*",'
        '"Resource":"arn:aws:dynamodb:us-west-2:123456789012:table/${aws:username}",'
        '"Condition":{"DateGreaterThan":{"aws:CurrentTime":"2015-08-16T12:00:00Z"}}}}'
    )
    keys = iam.get_context_keys_for_custom_policy(PolicyInputList=[policy])["ContextKeyNames"]
    assert sorted(keys) == ["aws:CurrentTime", "aws:username"]


def test_results_are_paged(warden: Warden) -> None:
    iam: Any = warden.client("iam")
    actions = [f"rds:Describe{n}" for n in ("DBClusters", "DBInstances", "DBSnapshots")]
    first = iam.simulate_custom_policy(
        PolicyInputList=[_doc(allow("rds:*"))], ActionNames=actions, MaxItems=2
    )
    assert len(first["EvaluationResults"]) == 2 and first["IsTruncated"]
    rest = iam.simulate_custom_policy(
        PolicyInputList=[_doc(allow("rds:*"))], ActionNames=actions, Marker=first["Marker"]
    )
    names = [r["EvalActionName"] for r in first["EvaluationResults"] + rest["EvaluationResults"]]
    assert names == actions
    paginator = iam.get_paginator("simulate_custom_policy")
    pages = list(
        paginator.paginate(
            PolicyInputList=[_doc(allow("rds:*"))],
            ActionNames=actions,
            PaginationConfig={"PageSize": 1},
        )
    )
    assert len(pages) == 3


def test_errors(warden: Warden) -> None:
    iam: Any = warden.client("iam")
    cases: list[tuple[dict[str, Any], tuple[str, int]]] = [
        (
            {"PolicySourceArn": f"arn:aws:iam::{ACCOUNT}:user/{unique('ghost')}"},
            ("NoSuchEntity", 404),
        ),
        ({"PolicySourceArn": "arn:aws:iam::123456789012:thing/x"}, ("InvalidInput", 400)),
        (
            {
                "PolicySourceArn": f"arn:aws:iam::{ACCOUNT}:user/admin",
                "PolicyInputList": ["{not json"],
            },
            ("InvalidInput", 400),
        ),
        (
            {
                "PolicySourceArn": f"arn:aws:iam::{ACCOUNT}:user/admin",
                "ContextEntries": [
                    {
                        "ContextKeyName": "aws:EpochTime",
                        "ContextKeyValues": ["soon"],
                        "ContextKeyType": "numeric",
                    }
                ],
            },
            ("InvalidInput", 400),
        ),
    ]
    for extra, expected in cases:
        with pytest.raises(ClientError) as err:
            iam.simulate_principal_policy(ActionNames=["iam:ListUsers"], **extra)
        assert _error(err) == expected, extra
    with pytest.raises(ClientError) as err:
        iam.get_context_keys_for_principal_policy(
            PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:role/{unique('ghost')}"
        )
    assert _error(err) == ("NoSuchEntity", 404)


def test_simulation_is_authorized_on_the_source(warden: Warden) -> None:
    user = unique("sim-limited")
    own = f"arn:aws:iam::{ACCOUNT}:user/{user}"
    key, secret = make_user(warden, user, allow("iam:SimulatePrincipalPolicy", own))
    client: Any = warden.raw_client("iam", key=key, secret=secret)
    client.simulate_principal_policy(PolicySourceArn=own, ActionNames=["iam:ListUsers"])
    with pytest.raises(ClientError) as err:
        client.simulate_principal_policy(
            PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/admin", ActionNames=["iam:ListUsers"]
        )
    assert _error(err) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as err:
        client.simulate_custom_policy(PolicyInputList=[_doc(allow("*"))], ActionNames=["s3:Get"])
    assert _error(err) == ("AccessDenied", 403)
