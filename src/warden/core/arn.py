"""Amazon Resource Names: parsing and formatting, nothing else.

``arn:partition:service:region:account-id:resource``; the resource part may itself
contain colons (``cluster:prod``) and slashes (``user/path/name``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    @classmethod
    def parse(cls, text: str) -> Arn:
        parts = text.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn" or not parts[1] or not parts[2]:
            raise ValueError(f"not an ARN: {text!r}")
        return cls(parts[1], parts[2], parts[3], parts[4], parts[5])

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


def iam_arn(account: str, kind: str, name: str, path: str = "/") -> str:
    """``arn:aws:iam::123456789012:user/path/name`` for users, groups, roles, policies."""
    return f"arn:aws:iam::{account}:{kind}{path}{name}"


def root_arn(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


_RESOURCE_TYPES = {
    ("iam", "user"): "AWS::IAM::User",
    ("iam", "group"): "AWS::IAM::Group",
    ("iam", "role"): "AWS::IAM::Role",
    ("iam", "policy"): "AWS::IAM::Policy",
    ("iam", "mfa"): "AWS::IAM::MFADevice",
    ("rds", "cluster"): "AWS::RDS::DBCluster",
    ("rds", "db"): "AWS::RDS::DBInstance",
    ("rds", "cluster-snapshot"): "AWS::RDS::DBClusterSnapshot",
    ("rds", "snapshot"): "AWS::RDS::DBSnapshot",
    ("rds", "cluster-pg"): "AWS::RDS::DBClusterParameterGroup",
    ("rds", "pg"): "AWS::RDS::DBParameterGroup",
    ("ec2", "security-group"): "AWS::EC2::SecurityGroup",
    ("secretsmanager", "secret"): "AWS::SecretsManager::Secret",
    ("kms", "key"): "AWS::KMS::Key",
    ("kms", "alias"): "AWS::KMS::Alias",
}


def resource_type_of(arn: str) -> str:
    """The CloudFormation-style type CloudTrail reports for a resource ARN ("" if unknown)."""
    try:
        parsed = Arn.parse(arn)
    except ValueError:
        return ""
    kind = parsed.resource.replace("/", ":").split(":", 1)[0]
    return _RESOURCE_TYPES.get((parsed.service, kind), "")
