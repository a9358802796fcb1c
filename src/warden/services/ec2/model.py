"""Security groups and ingress rules as values, and the names EC2 gives them.

Every account and region has one default VPC (its id derived from the account and region,
so it is stable without being stored) and in it a default group named ``default``. A rule
is unique per group by (protocol, port range, CIDR): the protocol is normalised to EC2's
names (``tcp``, ``udp``, ``icmp``, ``icmpv6``, ``-1`` for all, a number otherwise) and the
CIDR to its canonical network text; rules of ``-1`` and of protocols without ports store
the port range ``-1``..``-1``.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import datetime

ALL = "-1"
_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": ALL}
PORTED = frozenset({"tcp", "udp"})
TYPED = frozenset({"icmp", "icmpv6"})  # FromPort is the ICMP type, ToPort the code
DEFAULT_GROUP = "default"
DEFAULT_DESCRIPTION = "default VPC security group"
LOOPBACK = "127.0.0.1/32"


def default_vpc_id(account_id: str, region: str) -> str:
    return "vpc-" + hashlib.sha256(f"{account_id}:{region}".encode()).hexdigest()[:17]


def group_arn(region: str, account_id: str, group_id: str) -> str:
    return f"arn:aws:ec2:{region}:{account_id}:security-group/{group_id}"


def rule_arn(region: str, account_id: str, rule_id: str) -> str:
    return f"arn:aws:ec2:{region}:{account_id}:security-group-rule/{rule_id}"


def vpc_arn(region: str, account_id: str, vpc_id: str) -> str:
    return f"arn:aws:ec2:{region}:{account_id}:vpc/{vpc_id}"


def normal_protocol(value: str) -> str | None:
    """EC2's name for a protocol given by name or number; None when it is not one."""
    text = value.strip().lower()
    if text in _NAMES:
        return _NAMES[text]
    if text in PORTED or text in TYPED or text == ALL:
        return text
    if text.isdigit() and 0 <= int(text) <= 255:
        return text
    return None


def canonical_cidr(text: str) -> str:
    """The network text EC2 stores; ValueError for anything that is not a CIDR block."""
    if "/" not in text:
        raise ValueError(text)
    return str(ipaddress.ip_network(text.strip(), strict=False))


@dataclass(frozen=True, slots=True, order=True)
class RuleKey:
    protocol: str
    from_port: int
    to_port: int
    cidr: str

    @property
    def ipv6(self) -> bool:
        return ":" in self.cidr

    def admits_tcp(self, port: int) -> bool:
        """Whether the rule lets TCP connections to ``port`` through."""
        if self.protocol == ALL:
            return True
        return self.protocol in {"tcp", "6"} and self.from_port <= port <= self.to_port

    def describe(self) -> str:
        """As EC2 names a rule in its Duplicate message."""
        ports = "ALL" if self.protocol == ALL else f"{self.from_port}-{self.to_port}"
        return f"peer: {self.cidr}, {self.protocol.upper()}, ports: {ports}, ALLOW"


@dataclass(frozen=True, slots=True)
class Rule:
    rule_id: str
    group_id: str
    key: RuleKey
    description: str | None = None


@dataclass(frozen=True, slots=True)
class SecurityGroup:
    group_id: str
    account_id: str
    region: str
    vpc_id: str
    name: str
    description: str
    is_default: bool
    tags: tuple[tuple[str, str], ...]
    created_at: datetime

    @property
    def arn(self) -> str:
        return group_arn(self.region, self.account_id, self.group_id)

    def tag_map(self) -> dict[str, str]:
        return dict(self.tags)
