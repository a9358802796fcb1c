"""``Filters`` of DescribeSecurityGroups: which groups match, as EC2 defines the names.

A group matches when every filter matches; a filter matches when any of its values does.
Values may use EC2's wildcards (``*`` any run, ``?`` one character); matching is
case-sensitive. An unknown filter name is refused, as EC2 does.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .errors import InvalidParameterValue
from .model import Rule, SecurityGroup

Values = Callable[[SecurityGroup, Sequence[Rule]], Iterable[str]]


def _rules(get: Callable[[Rule], str | None]) -> Values:
    return lambda group, rules: [v for r in rules if (v := get(r)) is not None]


_FIELDS: dict[str, Values] = {
    "description": lambda g, _r: [g.description],
    "group-id": lambda g, _r: [g.group_id],
    "group-name": lambda g, _r: [g.name],
    "owner-id": lambda g, _r: [g.account_id],
    "vpc-id": lambda g, _r: [g.vpc_id],
    "tag-key": lambda g, _r: [k for k, _ in g.tags],
    "ip-permission.cidr": _rules(lambda r: None if r.key.ipv6 else r.key.cidr),
    "ip-permission.ipv6-cidr": _rules(lambda r: r.key.cidr if r.key.ipv6 else None),
    "ip-permission.protocol": _rules(lambda r: r.key.protocol),
    "ip-permission.from-port": _rules(lambda r: str(r.key.from_port)),
    "ip-permission.to-port": _rules(lambda r: str(r.key.to_port)),
}


def _field(name: str) -> Values:
    if name.startswith("tag:"):
        key = name[4:]
        return lambda g, _r: [v for k, v in g.tags if k == key]
    found = _FIELDS.get(name)
    if found is None:
        raise InvalidParameterValue(message=f"The filter '{name}' is invalid")
    return found


def matcher(
    filters: Sequence[Mapping[str, Any]],
) -> Callable[[SecurityGroup, Sequence[Rule]], bool]:
    """A predicate for the request's filters (checked up front: a bad name fails the call)."""
    compiled = [
        (_field(str(f.get("Name", ""))), [str(v) for v in f.get("Values") or []]) for f in filters
    ]

    def matches(group: SecurityGroup, rules: Sequence[Rule]) -> bool:
        for field, patterns in compiled:
            have = list(field(group, rules))
            if not any(fnmatch.fnmatchcase(v, p) for v in have for p in patterns):
                return False
        return True

    return matches
