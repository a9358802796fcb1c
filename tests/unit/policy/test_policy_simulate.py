"""Simulation (matched statements with positions, missing context keys), context-key
discovery, explanations, the request context's normalisation, the compiled-policy
cache and action index, and AWS's AccessDenied wording for every policy type."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from warden.policy import (
    CompiledPolicy,
    Decision,
    Effect,
    PolicyCache,
    PolicyType,
    Position,
    RequestContext,
    context_keys,
    denial_message,
    describe,
    evaluate,
    reason,
    simulate,
)

USER = "arn:aws:iam::111122223333:user/bob"
CLUSTER = "arn:aws:rds:us-east-1:111122223333:cluster:prod"
POLICY = """{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "Read",
      "Effect": "Allow",
      "Action": "rds:Describe*",
      "Resource": "*",
      "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
    },
    {"Sid": "NoDelete", "Effect": "Deny", "Action": "rds:DeleteDBCluster", "Resource": "*",
     "Condition": {"StringNotEquals": {"aws:PrincipalTag/role": "dba"}}}
  ]
}"""


def _policy(policy_type: PolicyType = PolicyType.IDENTITY) -> CompiledPolicy:
    return CompiledPolicy.compile(
        "arn:aws:iam::111122223333:policy/p", POLICY, policy_type=policy_type
    )


def test_simulate_reports_decisions_statements_and_positions() -> None:
    ctx = RequestContext(
        "ignored",
        principal_arn=USER,
        principal_account="111122223333",
        keys={"aws:SourceIp": "10.1.1.1"},
    )
    results = simulate(
        ctx,
        ["rds:DescribeDBClusters", "rds:DeleteDBCluster", "s3:GetObject"],
        [CLUSTER],
        identity=[_policy()],
    )
    assert [r.eval_decision for r in results] == ["allowed", "explicitDeny", "implicitDeny"]
    read = results[0].matched_statements[0]
    assert (read.statement_id, read.sid, read.index, read.effect) == (
        "arn:aws:iam::111122223333:policy/p#Read",
        "Read",
        0,
        "Allow",
    )
    assert read.source_policy_type is PolicyType.IDENTITY
    assert read.start == Position(4, 5) and read.end == Position(10, 5)
    deny = results[1].matched_statements[0]
    assert deny.sid == "NoDelete" and deny.start == Position(11, 5) and deny.end == Position(12, 72)
    assert results[1].missing_context_values == ("aws:PrincipalTag/role",)
    assert results[2].matched_statements == () and results[2].missing_context_values == ()


def test_simulate_missing_values_only_for_matching_statements() -> None:
    ctx = RequestContext("x", principal_arn=USER, principal_account="111122223333")
    (result,) = simulate(ctx, ["rds:DescribeDBClusters"], [CLUSTER], identity=[_policy()])
    assert result.eval_decision == "implicitDeny"
    assert result.missing_context_values == ("aws:SourceIp",)
    assert "aws:SourceIp" in describe(result)


def test_simulate_names_the_layer_of_each_statement() -> None:
    ctx = RequestContext(
        "x", principal_arn=USER, principal_account="111122223333", keys={"aws:SourceIp": "10.0.0.1"}
    )
    boundary = CompiledPolicy.compile(
        "pb",
        {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}},
        policy_type=PolicyType.BOUNDARY,
    )
    (result,) = simulate(ctx, ["rds:DescribeDBClusters"], identity=[_policy()], boundary=[boundary])
    assert [(m.source_policy_id, m.source_policy_type) for m in result.matched_statements] == [
        ("arn:aws:iam::111122223333:policy/p", PolicyType.IDENTITY),
        ("pb", PolicyType.BOUNDARY),
    ]
    assert result.matched_statements[1].start is None  # compiled from a mapping: no text positions
    assert result.resource == "*"


def test_context_keys_lists_condition_and_variable_keys() -> None:
    other = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${aws:username}/*",
             "Condition": {"StringEquals": {
                 "AWS:SOURCEIP": "x", "s3:prefix": "${aws:PrincipalTag/team, 'a'}${*}"}}},
        ],
    }  # fmt: skip
    legacy = (
        '{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::${aws:x}"}}'
    )
    assert context_keys(_policy(), other, legacy) == (
        "aws:PrincipalTag/role",
        "aws:PrincipalTag/team",
        "aws:SourceIp",
        "aws:username",
        "s3:prefix",
    )


def test_request_context_normalises_values() -> None:
    when = datetime(2024, 6, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    ctx = RequestContext(
        "s3:GetObject",
        principal_arn=USER,
        principal_account="111122223333",
        keys={
            "AWS:SecureTransport": True,
            "aws:MultiFactorAuthAge": 30,
            "aws:CurrentTime": when,
            "k:naive": datetime(2024, 1, 1),
            "k:bytes": b"warden",
            "aws:TagKeys": ["a", "b"],
            "k:one": ["only"],
            "k:empty": [],
            "k:none": None,
            "k:float": 1.5,
        },
    )
    assert ctx.values("aws:securetransport") == ("true",)
    assert ctx.single("AWS:MULTIFACTORAUTHAGE") == "30"
    assert ctx.single("aws:CurrentTime") == "2024-06-01T12:00:00Z"
    assert ctx.single("k:naive") == "2024-01-01T00:00:00Z"
    assert ctx.single("k:bytes") == "d2FyZGVu"
    assert ctx.values("aws:TagKeys") == ("a", "b") and ctx.single("aws:TagKeys") is None
    assert ctx.single("k:one") is None  # a list is multivalued even with one element
    assert not ctx.has("k:empty") and not ctx.has("k:none")
    assert ctx.single("k:float") == "1.5"
    assert (
        ctx.single("aws:PrincipalArn") == USER
        and ctx.single("aws:PrincipalAccount") == "111122223333"
    )
    assert ctx.caller == USER


def test_explicit_principal_keys_win_over_defaults() -> None:
    ctx = RequestContext("s3:GetObject", principal_arn=USER, keys={"aws:PrincipalArn": "other"})
    assert ctx.single("aws:principalarn") == "other"


def test_policy_cache_compiles_once_per_version_and_type() -> None:
    cache = PolicyCache(capacity=2)
    doc = '{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}'
    first = cache.get("arn:p", "v1", doc, policy_type=PolicyType.IDENTITY)
    assert cache.get("arn:p", "v1", doc, policy_type=PolicyType.IDENTITY) is first
    as_boundary = cache.get("arn:p", "v1", doc, policy_type=PolicyType.BOUNDARY)
    assert as_boundary is not first and as_boundary.policy_type is PolicyType.BOUNDARY
    cache.get("arn:p", "v2", doc, policy_type=PolicyType.IDENTITY)  # evicts the least recently used
    assert cache.get("arn:p", "v1", doc, policy_type=PolicyType.IDENTITY) is not first


def test_action_index_returns_statements_in_document_order() -> None:
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Wild",
                "Effect": "Allow",
                "Action": ["rds:Describe*", "rds:DescribeDBClusters"],
                "Resource": "*",
            },
            {"Sid": "Not", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
            {
                "Sid": "Exact",
                "Effect": "Allow",
                "Action": "RDS:DESCRIBEDBCLUSTERS",
                "Resource": "*",
            },
            {"Sid": "AnySvc", "Effect": "Allow", "Action": "*:Describe*", "Resource": "*"},
            {"Sid": "Other", "Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
        ],
    }
    policy = CompiledPolicy.compile("p", doc, policy_type=PolicyType.IDENTITY)
    for _ in range(2):  # second time from the memo
        assert [s.statement.sid for s in policy.candidates("rds:describedbclusters")] == [
            "Wild",
            "Not",
            "Exact",
            "AnySvc",
        ]
    assert [s.statement.sid for s in policy.candidates("iam:getuser")] == []
    assert "5 statements" in repr(policy)


def test_reason_texts() -> None:
    allowed = Decision(Effect.ALLOWED, PolicyType.RESOURCE, ("secret#Bob",))
    assert reason(allowed, "secretsmanager:GetSecretValue") == (
        "Allowed secretsmanager:GetSecretValue by a resource-based policy: secret#Bob."
    )
    root = Decision(Effect.ALLOWED, PolicyType.IDENTITY, ("root",))
    assert "root user" in reason(root, "rds:DeleteDBCluster", CLUSTER)
    denied = Decision(Effect.EXPLICIT_DENY, PolicyType.BOUNDARY, ("pb#No",))
    assert reason(denied, "rds:DeleteDBCluster", CLUSTER) == (
        f"Explicitly denied rds:DeleteDBCluster on {CLUSTER} by a Deny statement "
        "in the permissions boundary: pb#No."
    )
    implicit = Decision(Effect.IMPLICIT_DENY, PolicyType.SESSION)
    assert (
        reason(implicit, "s3:GetObject")
        == "Implicitly denied s3:GetObject: no session policy allows it."
    )
    broken = Decision(Effect.IMPLICIT_DENY, PolicyType.IDENTITY, ("internal-error",))
    assert "could not be evaluated" in reason(broken, "s3:GetObject")


@pytest.mark.parametrize(
    ("decision", "tail"),
    [
        (
            Decision(Effect.IMPLICIT_DENY, PolicyType.BOUNDARY),
            "because no permissions boundary policy allows the rds:ModifyDBCluster action",
        ),
        (
            Decision(Effect.IMPLICIT_DENY, PolicyType.SESSION),
            "because no session policy allows the rds:ModifyDBCluster action",
        ),
        (
            Decision(Effect.IMPLICIT_DENY, PolicyType.RESOURCE),
            "because no resource-based policy allows the rds:ModifyDBCluster action",
        ),
        (
            Decision(Effect.EXPLICIT_DENY, PolicyType.IDENTITY),
            "with an explicit deny in an identity-based policy",
        ),
        (
            Decision(Effect.EXPLICIT_DENY, PolicyType.BOUNDARY),
            "with an explicit deny in a permissions boundary",
        ),
        (
            Decision(Effect.EXPLICIT_DENY, PolicyType.SESSION),
            "with an explicit deny in a session policy",
        ),
    ],
)
def test_denial_messages(decision: Decision, tail: str) -> None:
    message = denial_message(USER, "rds:ModifyDBCluster", CLUSTER, decision)
    head = f"User: {USER} is not authorized to perform: rds:ModifyDBCluster on resource: {CLUSTER}"
    assert message == f"{head} {tail}"


def test_engine_decision_feeds_the_denial_message() -> None:
    ctx = RequestContext(
        "rds:DeleteDBCluster", (CLUSTER,), USER, "111122223333", {"aws:SourceIp": "10.0.0.1"}
    )
    decision = evaluate(ctx, identity=[_policy()])
    assert denial_message(USER, ctx.action, CLUSTER, decision).endswith(
        "with an explicit deny in an identity-based policy"
    )
    assert decision.audit_name == "ExplicitDeny"
