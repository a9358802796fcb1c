from __future__ import annotations

import pytest

from warden.core.arn import Arn, resource_type_of
from warden.policy.decision import Decision, Effect, PolicyType, denial_message


def test_arn_parse_keeps_colons_in_resource() -> None:
    a = Arn.parse("arn:aws:rds:us-east-1:123456789012:cluster:prod")
    assert (a.service, a.region, a.account, a.resource) == (
        "rds",
        "us-east-1",
        "123456789012",
        "cluster:prod",
    )
    assert str(a) == "arn:aws:rds:us-east-1:123456789012:cluster:prod"
    with pytest.raises(ValueError):
        Arn.parse("arn:aws")


def test_resource_types() -> None:
    assert resource_type_of("arn:aws:iam::123456789012:user/a/b") == "AWS::IAM::User"
    assert resource_type_of("arn:aws:rds:us-east-1:1:cluster:x") == "AWS::RDS::DBCluster"
    assert resource_type_of("not an arn") == ""


def test_denial_messages_match_aws_wording() -> None:
    p = "arn:aws:iam::123456789012:user/JohnDoe"
    r = "arn:aws:rds:us-east-1:123456789012:cluster:prod"
    implicit = denial_message(p, "rds:ModifyDBCluster", r, Decision(Effect.IMPLICIT_DENY))
    assert implicit == (
        "User: arn:aws:iam::123456789012:user/JohnDoe is not authorized to perform: "
        "rds:ModifyDBCluster on resource: arn:aws:rds:us-east-1:123456789012:cluster:prod "
        "because no identity-based policy allows the rds:ModifyDBCluster action"
    )
    explicit = denial_message(
        p, "rds:ModifyDBCluster", r, Decision(Effect.EXPLICIT_DENY, PolicyType.RESOURCE)
    )
    assert explicit.endswith("with an explicit deny in a resource-based policy")
