"""``IpPermissions`` in and out: the request forms of a rule, and the grouped output form.

A request names rules either as ``IpPermissions`` (protocol, port range, and CIDR ranges) or
in the legacy flat form (``IpProtocol``/``FromPort``/``ToPort``/``CidrIp``), never both.
Each (permission, CIDR) pair is one rule. Sources other than CIDR blocks (security group
references, prefix lists) are refused: a DB instance's pg_hba.conf can only hold addresses.
Output groups rules back by (protocol, port range), in the order the rules were added.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import InvalidParameterCombination, InvalidParameterValue
from .model import ALL, PORTED, TYPED, Rule, RuleKey, canonical_cidr, normal_protocol

_MAX_DESCRIPTION = 255
_UNSUPPORTED_SOURCE = (
    "warden supports only CIDR blocks (IpRanges, Ipv6Ranges) as rule sources; "
    "security group references and prefix lists cannot become pg_hba.conf entries"
)


@dataclass(frozen=True, slots=True)
class RuleRequest:
    key: RuleKey
    description: str | None


def _ports(protocol: str, low: Any, high: Any) -> tuple[int, int]:
    if protocol in PORTED:
        if not isinstance(low, int) or not isinstance(high, int):
            raise InvalidParameterValue(
                message="Invalid value for portRange. Must specify both from and to ports "
                "with TCP/UDP."
            )
        if not (0 <= low <= 65535 and 0 <= high <= 65535) or low > high:
            raise InvalidParameterValue(
                message=f"Invalid TCP/UDP port range: from port {low}, to port {high}"
            )
        return low, high
    if protocol in TYPED:
        icmp_type = low if isinstance(low, int) else -1
        code = high if isinstance(high, int) else -1
        if not (-1 <= icmp_type <= 255 and -1 <= code <= 255):
            raise InvalidParameterValue(message=f"Invalid ICMP type {icmp_type} or code {code}")
        return icmp_type, code
    return -1, -1


def _cidr(text: Any, member: str, v6: bool) -> str:
    try:
        cidr = canonical_cidr(str(text))
    except ValueError:
        cidr = ""
    if not cidr or (":" in cidr) != v6:
        kind = "IPv6 CIDR block" if v6 else "CIDR block"
        raise InvalidParameterValue(
            message=f"Value ({text}) for parameter {member} is invalid. This is not a valid {kind}."
        )
    return cidr


def _description(raw: Any) -> str | None:
    if raw is None:
        return None
    text = str(raw)
    if len(text) > _MAX_DESCRIPTION:
        raise InvalidParameterValue(
            message=f"Invalid rule description: longer than {_MAX_DESCRIPTION} characters"
        )
    return text


def _one(permission: Mapping[str, Any]) -> list[RuleRequest]:
    raw = str(permission.get("IpProtocol", ""))
    protocol = normal_protocol(raw)
    if protocol is None:
        raise InvalidParameterValue(
            message=f"Invalid value '{raw}' for IP protocol. Unknown protocol."
        )
    if permission.get("UserIdGroupPairs") or permission.get("PrefixListIds"):
        raise InvalidParameterValue(message=_UNSUPPORTED_SOURCE)
    low, high = _ports(protocol, permission.get("FromPort"), permission.get("ToPort"))
    found: list[RuleRequest] = []
    for item in permission.get("IpRanges") or []:
        cidr = _cidr(item.get("CidrIp"), "cidrIp", v6=False)
        found.append(
            RuleRequest(RuleKey(protocol, low, high, cidr), _description(item.get("Description")))
        )
    for item in permission.get("Ipv6Ranges") or []:
        cidr = _cidr(item.get("CidrIpv6"), "cidrIpv6", v6=True)
        found.append(
            RuleRequest(RuleKey(protocol, low, high, cidr), _description(item.get("Description")))
        )
    if not found:
        raise InvalidParameterValue(
            message="Each IpPermission needs at least one IpRanges or Ipv6Ranges entry"
        )
    return found


def requested(params: Mapping[str, Any]) -> list[RuleRequest]:
    """The rules an Authorize/Revoke request names, validated."""
    if params.get("SourceSecurityGroupName") or params.get("SourceSecurityGroupOwnerId"):
        raise InvalidParameterValue(message=_UNSUPPORTED_SOURCE)
    flat = {k: params[k] for k in ("IpProtocol", "FromPort", "ToPort", "CidrIp") if k in params}
    permissions: Sequence[Mapping[str, Any]] = params.get("IpPermissions") or []
    if flat and permissions:
        raise InvalidParameterCombination(
            message="The parameter IpPermissions cannot be used with the parameters "
            "IpProtocol, FromPort, ToPort and CidrIp"
        )
    if flat:
        if "CidrIp" not in flat or "IpProtocol" not in flat:
            raise InvalidParameterValue(
                message="The flat form needs IpProtocol and CidrIp (or use IpPermissions)"
            )
        permissions = [{**flat, "IpRanges": [{"CidrIp": flat["CidrIp"]}]}]
    found = [rule for permission in permissions for rule in _one(permission)]
    return found


def as_permissions(rules: Iterable[Rule]) -> list[dict[str, Any]]:
    """Rules grouped into the ``IpPermissions`` output shape."""
    grouped: dict[tuple[str, int, int], dict[str, Any]] = {}
    for rule in rules:
        key = rule.key
        slot = grouped.get((key.protocol, key.from_port, key.to_port))
        if slot is None:
            slot = {
                "IpProtocol": key.protocol,
                "IpRanges": [],
                "Ipv6Ranges": [],
                "UserIdGroupPairs": [],
                "PrefixListIds": [],
            }
            if key.protocol != ALL and (key.protocol in PORTED or key.protocol in TYPED):
                slot["FromPort"], slot["ToPort"] = key.from_port, key.to_port
            grouped[(key.protocol, key.from_port, key.to_port)] = slot
        described = {"Description": rule.description} if rule.description is not None else {}
        if key.ipv6:
            slot["Ipv6Ranges"].append({"CidrIpv6": key.cidr, **described})
        else:
            slot["IpRanges"].append({"CidrIp": key.cidr, **described})
    return list(grouped.values())


def as_rule(rule: Rule, account_id: str, arn: str) -> dict[str, Any]:
    """One rule in the ``SecurityGroupRule`` output shape."""
    key = rule.key
    out: dict[str, Any] = {
        "SecurityGroupRuleId": rule.rule_id,
        "GroupId": rule.group_id,
        "GroupOwnerId": account_id,
        "IsEgress": False,
        "IpProtocol": key.protocol,
        "FromPort": key.from_port,
        "ToPort": key.to_port,
        "Tags": [],
        "SecurityGroupRuleArn": arn,
    }
    out["CidrIpv6" if key.ipv6 else "CidrIpv4"] = key.cidr
    if rule.description is not None:
        out["Description"] = rule.description
    return out
