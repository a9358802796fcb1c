"""Write-time validation: AWS's MalformedPolicyDocument / LimitExceeded reasons, size
quotas, and a fuzz of the parser (only PolicyError, never another exception)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policy_strategies import documents, requests

from warden.policy import (
    CompiledPolicy,
    Decision,
    PolicyError,
    PolicyErrorCode,
    PolicyKind,
    PolicyType,
    RequestContext,
    check,
    evaluate,
    inline_quota_error,
    parse_document,
    policy_size,
    problems,
)

OK_STATEMENT = {"Effect": "Allow", "Action": "rds:Describe*", "Resource": "*"}


def _doc(*statements: dict[str, Any], version: str | None = "2012-10-17") -> str:
    body: dict[str, Any] = {"Statement": list(statements)}
    if version:
        body["Version"] = version
    return json.dumps(body)


def _first(document: str, kind: PolicyKind = PolicyKind.MANAGED) -> str:
    found = problems(document, kind, entity_name="bob")
    return found[0].reason if found else ""


@pytest.mark.parametrize(
    ("document", "kind", "reason"),
    [
        ("{not json", PolicyKind.MANAGED, "Syntax errors in policy."),
        ("[]", PolicyKind.MANAGED, "Syntax errors in policy."),
        ('{"Version": "2012-10-17"}', PolicyKind.MANAGED, "Syntax errors in policy."),
        (
            '{"Version": "2012-10-17", "Statement": []}',
            PolicyKind.MANAGED,
            "Syntax errors in policy.",
        ),
        (_doc(OK_STATEMENT, version="2019-01-01"), PolicyKind.MANAGED, "Syntax errors in policy."),
        (_doc({**OK_STATEMENT, "Bogus": 1}), PolicyKind.MANAGED, "Syntax errors in policy."),
        (
            _doc({"Action": "rds:*", "Resource": "*"}),
            PolicyKind.MANAGED,
            "Syntax errors in policy.",
        ),
        (
            _doc({**OK_STATEMENT, "Effect": "allow"}),
            PolicyKind.MANAGED,
            "The policy failed legacy parsing",
        ),
        (_doc({**OK_STATEMENT, "Effect": "Maybe"}), PolicyKind.MANAGED, "Syntax errors in policy."),
        (
            _doc({**OK_STATEMENT, "NotAction": "s3:*"}),
            PolicyKind.MANAGED,
            "Syntax errors in policy.",
        ),
        (_doc({**OK_STATEMENT, "Action": 5}), PolicyKind.MANAGED, "Syntax errors in policy."),
        (
            _doc({**OK_STATEMENT, "Condition": {"StringEquals": "x"}}),
            PolicyKind.MANAGED,
            "Syntax errors in policy.",
        ),
        (
            _doc(OK_STATEMENT, version=None),
            PolicyKind.MANAGED,
            "Policy document must be version 2012-10-17 or greater.",
        ),
        (
            _doc(OK_STATEMENT, version="2008-10-17"),
            PolicyKind.MANAGED,
            "Policy document must be version 2012-10-17 or greater.",
        ),
        (
            _doc({**OK_STATEMENT, "Principal": "*"}),
            PolicyKind.INLINE_USER,
            "Policy document should not specify a principal.",
        ),
        (
            _doc({**OK_STATEMENT, "NotPrincipal": {"AWS": "1"}}),
            PolicyKind.SESSION,
            "Policy document should not specify a principal.",
        ),
        (
            _doc({"Effect": "Allow", "Resource": "*"}),
            PolicyKind.MANAGED,
            "Policy statement must contain actions.",
        ),
        (
            _doc({"Effect": "Allow", "Action": [], "Resource": "*"}),
            PolicyKind.MANAGED,
            "Policy statement must contain actions.",
        ),
        (
            _doc({"Effect": "Allow", "Action": "rds:*"}),
            PolicyKind.INLINE_ROLE,
            "Policy statement must contain resources.",
        ),
        (
            _doc({**OK_STATEMENT, "Action": "DescribeDBClusters"}),
            PolicyKind.MANAGED,
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ),
        (
            _doc({**OK_STATEMENT, "Action": "rds:a:b"}),
            PolicyKind.MANAGED,
            "Actions/Condition can contain only one colon.",
        ),
        (
            _doc({**OK_STATEMENT, "Action": "r ds:Get"}),
            PolicyKind.MANAGED,
            "Vendor r ds is not valid",
        ),
        (
            _doc({**OK_STATEMENT, "Resource": "cluster-prod"}),
            PolicyKind.MANAGED,
            'Resource cluster-prod must be in ARN format or "*".',
        ),
        (
            _doc({**OK_STATEMENT, "Resource": "arn:awz:rds:::x"}),
            PolicyKind.MANAGED,
            'Partition "awz" is not valid for resource "arn:awz:rds:::x".',
        ),
        (
            _doc({**OK_STATEMENT, "Resource": "arn:aws:*:::x"}),
            PolicyKind.MANAGED,
            "Resource vendor must be fully qualified and cannot contain regexes.",
        ),
        (
            _doc({**OK_STATEMENT, "Resource": "arn:aws:iam:us-east-1:1:user/x"}),
            PolicyKind.MANAGED,
            "IAM resource arn:aws:iam:us-east-1:1:user/x cannot contain region information.",
        ),
        (
            _doc({**OK_STATEMENT, "Sid": "a b"}),
            PolicyKind.MANAGED,
            "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies "
            "the regular expression [0-9A-Za-z]*",
        ),
        (
            _doc({**OK_STATEMENT, "Sid": "A"}, {**OK_STATEMENT, "Sid": "A"}),
            PolicyKind.MANAGED,
            "Statement IDs (SID) in a single policy must be unique.",
        ),
        (
            _doc({**OK_STATEMENT, "Condition": {"StringEqualz": {"aws:username": "x"}}}),
            PolicyKind.MANAGED,
            "Invalid Condition type : StringEqualz",
        ),
        (
            _doc({**OK_STATEMENT, "Condition": {"NullIfExists": {"aws:username": "true"}}}),
            PolicyKind.MANAGED,
            "Invalid Condition type : NullIfExists",
        ),
        (
            _doc({**OK_STATEMENT, "Condition": {"StringEquals": {"username": "x"}}}),
            PolicyKind.MANAGED,
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ),
        (
            _doc({**OK_STATEMENT, "Condition": {"DateLessThan": {"aws:CurrentTime": "soon"}}}),
            PolicyKind.MANAGED,
            "The policy failed legacy parsing",
        ),
        (
            _doc({"Effect": "Allow", "Action": "sts:AssumeRole"}),
            PolicyKind.TRUST,
            "Missing required field Principal",
        ),
        (
            _doc(
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"AWS": "1"},
                    "Resource": "*",
                }
            ),
            PolicyKind.TRUST,
            "Has prohibited field Resource",
        ),
        (
            _doc({"Effect": "Allow", "Action": "sts:AssumeRole", "NotPrincipal": {"AWS": "1"}}),
            PolicyKind.TRUST,
            "Has prohibited field NotPrincipal",
        ),
        (
            _doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "bob"}}),
            PolicyKind.TRUST,
            'Invalid principal in policy: "AWS":"bob"',
        ),
        (
            _doc({"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}),
            PolicyKind.RESOURCE,
            "Missing required field Principal",
        ),
    ],
)
def test_malformed_reason(document: str, kind: PolicyKind, reason: str) -> None:
    assert _first(document, kind) == reason
    with pytest.raises(PolicyError) as raised:
        check(document, kind, entity_name="bob")
    assert raised.value.reason == reason


@pytest.mark.parametrize(
    ("document", "kind"),
    [
        (_doc(OK_STATEMENT), PolicyKind.MANAGED),
        (_doc(OK_STATEMENT, version=None), PolicyKind.INLINE_USER),
        (json.dumps({"Version": "2012-10-17", "Statement": OK_STATEMENT}), PolicyKind.INLINE_GROUP),
        (
            _doc(
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                }
            ),
            PolicyKind.TRUST,
        ),
        (
            _doc(
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"Service": "ec2.amazonaws.com"},
                },
                version="2008-10-17",
            ),
            PolicyKind.TRUST,
        ),
        (
            _doc(
                {
                    "Sid": "Any thing",
                    "Effect": "Allow",
                    "Principal": {"AWS": "111122223333"},
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": "*",
                }
            ),
            PolicyKind.RESOURCE,
        ),
        (
            _doc(
                {
                    **OK_STATEMENT,
                    "Action": "*",
                    "Condition": {
                        "ForAnyValue:StringLikeIfExists": {"aws:TagKeys": "a*"},
                        "Null": {"aws:TokenIssueTime": True},
                    },
                }
            ),
            PolicyKind.MANAGED,
        ),
        (
            _doc(
                {
                    **OK_STATEMENT,
                    "Resource": [
                        "arn:aws:s3:::b/${aws:username}/*",
                        "arn:aws-cn:rds:*:*:cluster:*",
                    ],
                }
            ),
            PolicyKind.MANAGED,
        ),
    ],
)
def test_valid_documents(document: str, kind: PolicyKind) -> None:
    assert problems(document, kind) == []
    assert check(document, kind).statements


def test_every_problem_is_listed() -> None:
    document = _doc(
        {"Effect": "Allow", "Action": "rds", "Resource": "x", "Principal": "*"}, version=None
    )
    reasons = [p.reason for p in problems(document, PolicyKind.MANAGED)]
    assert reasons == [
        "Policy document must be version 2012-10-17 or greater.",
        "Policy document should not specify a principal.",
        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        'Resource x must be in ARN format or "*".',
    ]


def _padded(size: int) -> str:
    """A valid managed policy of exactly ``size`` non-whitespace characters (plus spaces)."""
    base = _doc({**OK_STATEMENT, "Sid": ""})
    filler = "A" * (size - policy_size(base))
    return _doc({**OK_STATEMENT, "Sid": filler}).replace(",", ",   ")


def test_size_counts_non_whitespace_only() -> None:
    assert policy_size('{ "a" :\n\t"b c" }') == len('{"a":"bc"}')
    assert policy_size({"a": 1}) == len('{"a":1}')


def test_managed_policy_size_quota() -> None:
    at_limit = _padded(6144)
    assert policy_size(at_limit) == 6144 and len(at_limit) > 6144
    assert problems(at_limit, PolicyKind.MANAGED) == []
    over = problems(_padded(6145), PolicyKind.MANAGED)
    assert over[0].code is PolicyErrorCode.LIMIT_EXCEEDED
    assert over[0].reason == "Cannot exceed quota for PolicySize: 6144"


def test_trust_policy_size_quota() -> None:
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"AWS": ["111122223333"] * 200},
                }
            ],
        }
    )
    assert (
        problems(trust, PolicyKind.TRUST)[0].reason
        == "Cannot exceed quota for ACLSizePerRole: 2048"
    )


@pytest.mark.parametrize(
    ("kind", "limit", "reason"),
    [
        (PolicyKind.INLINE_USER, 2048, "Maximum policy size of 2048 bytes exceeded for user bob"),
        (PolicyKind.INLINE_GROUP, 5120, "Maximum policy size of 5120 bytes exceeded for group bob"),
        (PolicyKind.INLINE_ROLE, 10240, "Maximum policy size of 10240 bytes exceeded for role bob"),
    ],
)
def test_inline_aggregate_quota(kind: PolicyKind, limit: int, reason: str) -> None:
    assert inline_quota_error(kind, "bob", limit) is None
    error = inline_quota_error(kind, "bob", limit + 1)
    assert (
        error is not None
        and error.reason == reason
        and error.code is PolicyErrorCode.LIMIT_EXCEEDED
    )
    assert inline_quota_error(PolicyKind.SESSION, "bob", 10**6) is None


# ------------------------------------------------------------------- fuzzing

VOCABULARY = [
    "Version", "Statement", "Id", "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource",
    "Principal", "NotPrincipal", "Condition", "AWS", "Service", "Allow", "Deny", "StringEquals",
    "ForAnyValue:StringLike", "NumericLessThanIfExists", "aws:username", "2012-10-17", "*", "",
]  # fmt: skip
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.sampled_from(VOCABULARY)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(VOCABULARY) | st.text(max_size=3), inner, max_size=5)
    ),
    max_leaves=30,
)


def _must_only_raise_policy_error(document: Any) -> None:
    for kind in PolicyKind:
        found = problems(document, kind)
        assert all(isinstance(p, PolicyError) for p in found)
    try:
        compiled = CompiledPolicy.compile("fuzz", document, policy_type=PolicyType.RESOURCE)
    except PolicyError:
        return
    ctx = RequestContext(
        "s3:GetObject", ("arn:aws:s3:::b/k",), "arn:aws:iam::1:user/u", "1", {"aws:username": "u"}
    )
    for_identity = CompiledPolicy.compile("fuzz", document, policy_type=PolicyType.IDENTITY)
    assert isinstance(
        evaluate(ctx, identity=[for_identity], resource=[compiled], boundary=[], session=[]),
        Decision,
    )


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_fuzz_random_json_objects(value: Any) -> None:
    _must_only_raise_policy_error(value if isinstance(value, dict) else {"Statement": value})
    _must_only_raise_policy_error(json.dumps(value))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_fuzz_random_text(text: str) -> None:
    _must_only_raise_policy_error(text)
    with contextlib.suppress(PolicyError):
        parse_document(text)


weird_context_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.binary(max_size=8)
    | st.datetimes(),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    documents(resource_policy=True),
    requests(),
    st.dictionaries(st.text(max_size=12), weird_context_values, max_size=4),
)
def test_evaluate_never_raises(
    document: dict[str, Any], request: dict[str, Any], extra: dict[str, Any]
) -> None:
    policy = CompiledPolicy.compile("p", document, policy_type=PolicyType.RESOURCE)
    identity = CompiledPolicy.compile("i", document, policy_type=PolicyType.IDENTITY)
    ctx = RequestContext(
        request["action"],
        tuple(request["resources"]),
        request["principal_arn"],
        request["principal_account"],
        {**request["keys"], **extra},
        request["caller_arn"],
    )
    decision = evaluate(
        ctx, identity=[identity], resource=[policy], boundary=[identity], session=[identity]
    )
    assert isinstance(decision, Decision)


def test_unexpected_failure_denies() -> None:
    ctx = RequestContext(
        "s3:GetObject", principal_arn="arn:aws:iam::1:user/u", principal_account="1"
    )
    decision = evaluate(ctx, identity=[None])  # type: ignore[list-item]  # deliberately broken input
    assert not decision.allowed
    assert decision.deciding == ("internal-error",)
