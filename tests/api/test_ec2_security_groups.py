"""EC2 security groups through boto3 and the CLI: shapes, rules, filters, error codes."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from harness import Warden


@pytest.fixture
def ec2(warden: Warden) -> Any:
    return warden.client("ec2")


def _name() -> str:
    return f"grp-{uuid.uuid4().hex[:8]}"


def _code(call: Any, **params: Any) -> str:
    with pytest.raises(ClientError) as err:
        call(**params)
    return str(err.value.response["Error"]["Code"])


def test_the_default_group_admits_only_loopback(ec2: Any) -> None:
    default = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]
    assert default["GroupName"] == "default" and default["VpcId"].startswith("vpc-")
    assert default["IpPermissions"] == [
        {
            "IpProtocol": "-1",
            "IpRanges": [{"CidrIp": "127.0.0.1/32"}],
            "Ipv6Ranges": [],
            "UserIdGroupPairs": [],
            "PrefixListIds": [],
        }
    ]
    assert _code(ec2.delete_security_group, GroupId=default["GroupId"]) == "CannotDelete"
    assert _code(ec2.create_security_group, GroupName="default", Description="x") == (
        "InvalidGroup.Duplicate"
    )


def test_rules_are_added_grouped_and_revoked(ec2: Any) -> None:
    made = ec2.create_security_group(GroupName=_name(), Description="app clients")
    group = made["GroupId"]
    assert made["SecurityGroupArn"].endswith(f":security-group/{group}")
    added = ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 5432,
                "ToPort": 5439,
                "IpRanges": [{"CidrIp": "10.1.2.3/8"}, {"CidrIp": "192.168.0.0/16"}],
                "Ipv6Ranges": [{"CidrIpv6": "2001:db8::/32", "Description": "v6"}],
            }
        ],
    )
    assert added["Return"] and len(added["SecurityGroupRules"]) == 3
    assert {r.get("CidrIpv4") or r.get("CidrIpv6") for r in added["SecurityGroupRules"]} == {
        "10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32",
    }  # fmt: skip
    ec2.authorize_security_group_ingress(
        GroupId=group, IpProtocol="tcp", FromPort=22, ToPort=22, CidrIp="203.0.113.0/24"
    )
    found = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]
    assert [(p["IpProtocol"], p["FromPort"], p["ToPort"]) for p in found["IpPermissions"]] == [
        ("tcp", 5432, 5439), ("tcp", 22, 22),
    ]  # fmt: skip
    assert found["IpPermissions"][0]["Ipv6Ranges"] == [
        {"CidrIpv6": "2001:db8::/32", "Description": "v6"}
    ]
    again = {"GroupId": group, "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
             "CidrIp": "203.0.113.0/24"}  # fmt: skip
    assert _code(ec2.authorize_security_group_ingress, **again) == "InvalidPermission.Duplicate"
    revoked = ec2.revoke_security_group_ingress(**again)
    assert revoked["Return"] and revoked["RevokedSecurityGroupRules"][0]["FromPort"] == 22
    assert _code(ec2.revoke_security_group_ingress, **again) == "InvalidPermission.NotFound"
    rule_ids = [r["SecurityGroupRuleId"] for r in added["SecurityGroupRules"]]
    ec2.revoke_security_group_ingress(GroupId=group, SecurityGroupRuleIds=rule_ids)
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])
    assert rules["SecurityGroupRules"] == []
    ec2.delete_security_group(GroupId=group)
    assert _code(ec2.describe_security_groups, GroupIds=[group]) == "InvalidGroup.NotFound"


@pytest.mark.parametrize(
    ("permission", "code"),
    [
        ({"IpProtocol": "tcp", "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}, "InvalidParameterValue"),
        (
            {"IpProtocol": "tcp", "FromPort": 90, "ToPort": 80,
             "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
            "InvalidParameterValue",
        ),
        (
            {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2,
             "IpRanges": [{"CidrIp": "10.0.0.300/8"}]},
            "InvalidParameterValue",
        ),
        ({"IpProtocol": "gre", "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}, "InvalidParameterValue"),
        (
            {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-0123456789abcdef0"}]},
            "InvalidParameterValue",
        ),
    ],
)  # fmt: skip
def test_bad_rules(ec2: Any, permission: dict[str, Any], code: str) -> None:
    group = ec2.create_security_group(GroupName=_name(), Description="bad rules")["GroupId"]
    try:
        assert (
            _code(ec2.authorize_security_group_ingress, GroupId=group, IpPermissions=[permission])
            == code
        )
        rules = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]
        assert rules["IpPermissions"] == []  # nothing of a refused request was added
    finally:
        ec2.delete_security_group(GroupId=group)


def test_error_codes_for_groups(ec2: Any) -> None:
    assert _code(ec2.describe_security_groups, GroupIds=["sg-0000000000000000f"]) == (
        "InvalidGroup.NotFound"
    )
    assert _code(ec2.delete_security_group, GroupId="not-a-group") == "InvalidGroupId.Malformed"
    assert _code(ec2.delete_security_group, GroupName="no-such-group") == "InvalidGroup.NotFound"
    assert (
        _code(ec2.create_security_group, GroupName="x", Description="y", VpcId="vpc-12345678")
        == "InvalidVpcID.NotFound"
    )
    assert _code(ec2.create_security_group, GroupName="sg-named", Description="y") == (
        "InvalidParameterValue"
    )
    assert _code(ec2.describe_security_groups, Filters=[{"Name": "colour", "Values": ["x"]}]) == (
        "InvalidParameterValue"
    )
    assert _code(ec2.create_security_group, GroupName=_name(), Description="d", DryRun=True) == (
        "DryRunOperation"
    )


def test_filters_tags_and_the_cli(warden: Warden, ec2: Any) -> None:
    name = _name()
    group = ec2.create_security_group(
        GroupName=name,
        Description="tagged group",
        TagSpecifications=[
            {"ResourceType": "security-group", "Tags": [{"Key": "team", "Value": "data"}]}
        ],
    )["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group, IpProtocol="tcp", FromPort=5432, ToPort=5432, CidrIp="10.9.0.0/16"
    )
    try:
        by_tag = ec2.describe_security_groups(Filters=[{"Name": "tag:team", "Values": ["da*"]}])
        assert group in [g["GroupId"] for g in by_tag["SecurityGroups"]]
        by_cidr = ec2.describe_security_groups(
            Filters=[{"Name": "ip-permission.cidr", "Values": ["10.9.0.0/16"]}]
        )
        assert [g["GroupId"] for g in by_cidr["SecurityGroups"]] == [group]
        out = warden.aws("ec2", "describe-security-groups", "--group-names", name)
        assert out.returncode == 0, out.stderr
        listed = json.loads(out.stdout)["SecurityGroups"][0]
        assert listed["GroupId"] == group and listed["Tags"] == [{"Key": "team", "Value": "data"}]
    finally:
        ec2.delete_security_group(GroupId=group)
