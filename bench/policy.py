"""Policy-engine latency: microseconds per decision for realistic policy sets.

Scenarios: AdministratorAccess alone; a ReadOnly-style policy (hundreds of wildcard
actions across services); and a principal with 10 policies / 50+ statements, 20 of
them with conditions (tags, IP ranges, TLS, MFA, dates, set operators, variables),
plus a permissions boundary, decided for an allowed, an explicitly denied and an
implicitly denied request. Also the cost of compiling a policy and of a cold action
(first lookup, index memo empty). A plain script: `python bench/policy.py`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

from warden.policy import CompiledPolicy, PolicyType, RequestContext, evaluate

ACCOUNT = "111122223333"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
CLUSTER = f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:prod-orders"

ADMIN = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
SERVICES = [
    "rds", "ec2", "iam", "s3", "kms", "secretsmanager", "sts", "cloudwatch", "logs", "sns", "sqs",
    "lambda", "dynamodb", "elasticloadbalancing", "autoscaling", "cloudformation", "route53",
    "guardduty", "securityhub", "config", "cloudtrail", "ecr", "ecs", "eks", "events", "glue",
    "athena", "redshift", "elasticache", "es", "kinesis", "firehose", "ssm", "acm", "waf",
]  # fmt: skip
VERBS = ["Describe*", "List*", "Get*", "BatchGet*", "Search*", "Lookup*", "View*"]
READ_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ReadOnly",
            "Effect": "Allow",
            "Action": [f"{s}:{v}" for s in SERVICES for v in VERBS],
            "Resource": "*",
        }
    ],
}


def _conditional_statements() -> list[dict[str, object]]:
    conds: list[dict[str, object]] = [
        {"StringEquals": {"aws:PrincipalTag/team": "orders"}},
        {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
        {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32"]}},
        {"Bool": {"aws:SecureTransport": "true"}},
        {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}},
        {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
        {"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env", "owner"]}},
        {"ForAnyValue:StringLike": {"aws:TagKeys": ["env*"]}},
        {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:user/*"}},
        {"StringLike": {"aws:userid": "AIDA*"}},
        {"Null": {"aws:TokenIssueTime": "true"}},
        {"StringEqualsIgnoreCase": {"aws:RequestedRegion": ["US-EAST-1", "EU-WEST-1"]}},
        {"StringNotEquals": {"aws:RequestedRegion": "ap-south-1"}},
        {"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}},
        {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
        {"NumericGreaterThanEquals": {"aws:EpochTime": "1600000000"}},
        {"StringEquals": {"aws:RequestTag/env": ["dev", "staging", "prod"]}},
        {"StringLike": {"aws:PrincipalTag/cost-center": "cc-*"}},
        {"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/breakglass*"}},
        {"StringEquals": {"aws:username": "${aws:username}"}},
    ]
    actions = [
        "rds:*",
        "rds:Describe*",
        "rds:ModifyDBCluster",
        "secretsmanager:GetSecretValue",
        "kms:Decrypt",
    ]
    return [
        {
            "Sid": f"Cond{i}",
            "Effect": "Allow",
            "Action": actions[i % len(actions)],
            "Resource": [
                f"arn:aws:rds:*:{ACCOUNT}:cluster:prod-*",
                f"arn:aws:secretsmanager:*:{ACCOUNT}:secret:${{aws:username}}/*",
            ],
            "Condition": cond,
        }
        for i, cond in enumerate(conds)
    ]


def principal_policies() -> list[CompiledPolicy]:
    cond = _conditional_statements()
    docs = [
        READ_ONLY,
        {"Version": "2012-10-17", "Statement": cond[:10]},
        {"Version": "2012-10-17", "Statement": cond[10:]},
        {"Version": "2012-10-17", "Statement": [
            {"Sid": "NoDeleteProd", "Effect": "Deny", "Action": ["rds:Delete*", "rds:StopDBCluster"], "Resource": "arn:aws:rds:*:*:cluster:prod-*"},
            {"Sid": "NoIam", "Effect": "Deny", "NotAction": ["iam:Get*", "iam:List*", "iam:*AccessKey*"], "Resource": "arn:aws:iam::*:*",
             "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}},
        ]},
    ]  # fmt: skip
    for i in range(6):  # small team policies
        docs.append(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Sid": f"Team{i}A", "Effect": "Allow", "Action": [f"{SERVICES[i]}:*"], "Resource": "*"},
                    {"Sid": f"Team{i}B", "Effect": "Allow", "Action": [f"{SERVICES[i + 6]}:Put*", f"{SERVICES[i + 6]}:Create*"],
                     "Resource": f"arn:aws:{SERVICES[i + 6]}:*:{ACCOUNT}:team{i}/*"},
                    {"Sid": f"Team{i}C", "Effect": "Deny", "Action": f"{SERVICES[i + 12]}:Delete*", "Resource": "*"},
                    {"Sid": f"Team{i}D", "Effect": "Allow", "Action": f"{SERVICES[i + 18]}:Get*", "Resource": "*",
                     "Condition": {"StringEquals": {"aws:PrincipalTag/team": f"team{i}"}}},
                ],
            }
        )  # fmt: skip
    return [
        CompiledPolicy.compile(
            f"arn:aws:iam::{ACCOUNT}:policy/p{i}", json.dumps(d), policy_type=PolicyType.IDENTITY
        )
        for i, d in enumerate(docs)
    ]


def context(action: str, resource: str) -> RequestContext:
    return RequestContext(
        action,
        (resource,),
        USER,
        ACCOUNT,
        {
            "aws:username": "alice",
            "aws:userid": "AIDAEXAMPLEEXAMPLE1",
            "aws:PrincipalType": "User",
            "aws:PrincipalTag/team": "orders",
            "aws:ResourceTag/team": "orders",
            "aws:SourceIp": "10.20.30.40",
            "aws:SecureTransport": True,
            "aws:MultiFactorAuthPresent": True,
            "aws:MultiFactorAuthAge": 120,
            "aws:CurrentTime": datetime(2026, 3, 1, tzinfo=UTC),
            "aws:EpochTime": 1772323200,
            "aws:RequestedRegion": "us-east-1",
            "aws:TagKeys": ["team", "env"],
        },
    )


def per_call_us(fn: Callable[[], object], seconds: float = 0.5) -> float:
    fn()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(200):
            fn()
        n += 200
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    admin = [CompiledPolicy.compile("admin", json.dumps(ADMIN), policy_type=PolicyType.IDENTITY)]
    read_only = [
        CompiledPolicy.compile("ro", json.dumps(READ_ONLY), policy_type=PolicyType.IDENTITY)
    ]
    policies = principal_policies()
    boundary = [CompiledPolicy.compile("pb", json.dumps(ADMIN), policy_type=PolicyType.BOUNDARY)]
    statements = sum(len(p.statements) for p in policies)
    modify = context("rds:ModifyDBCluster", CLUSTER)
    delete = context("rds:DeleteDBCluster", CLUSTER)
    nothing = context("glacier:DeleteVault", "arn:aws:glacier:us-east-1:111122223333:vaults/v")
    describe = context("rds:DescribeDBClusters", "*")

    rows = [
        ("AdministratorAccess, allowed", lambda: evaluate(modify, identity=admin)),
        ("ReadOnly-style (245 wildcard actions), allowed", lambda: evaluate(describe, identity=read_only)),
        ("ReadOnly-style, implicit deny", lambda: evaluate(modify, identity=read_only)),
        (f"{len(policies)} policies / {statements} statements + boundary, allowed", lambda: evaluate(modify, identity=policies, boundary=boundary)),
        (f"{len(policies)} policies, explicit deny", lambda: evaluate(delete, identity=policies, boundary=boundary)),
        (f"{len(policies)} policies, implicit deny", lambda: evaluate(nothing, identity=policies, boundary=boundary)),
        ("RequestContext construction (13 keys)", lambda: context("rds:ModifyDBCluster", CLUSTER)),
        ("fresh context + 10-policy decision (per request)", lambda: evaluate(context("rds:ModifyDBCluster", CLUSTER), identity=policies, boundary=boundary)),
    ]  # fmt: skip
    print(f"{'scenario':62} {'µs/call':>9}")
    for name, fn in rows:
        print(f"{name:62} {per_call_us(fn):9.1f}")
    for name, fn in [
        ("compile ReadOnly-style policy", lambda: CompiledPolicy.compile("ro", json.dumps(READ_ONLY), policy_type=PolicyType.IDENTITY)),
        ("compile 10-policy principal", principal_policies),
    ]:  # fmt: skip
        print(f"{name:62} {per_call_us(fn, 0.3):9.1f}")
    cold = principal_policies()
    start = time.perf_counter()
    evaluate(modify, identity=cold, boundary=boundary)
    print(
        f"{'10 policies, first decision (cold action memo)':62} {(time.perf_counter() - start) * 1e6:9.1f}"
    )


if __name__ == "__main__":
    main()
