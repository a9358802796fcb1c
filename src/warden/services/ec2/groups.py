"""The security group operations: create, describe, delete, authorize and revoke ingress.

Every operation first makes sure the region's default group exists (EC2 always has one).
A request names its group by ``GroupId`` or, in the default VPC, by ``GroupName``. Rule
changes are atomic: all of a request's rules are added (or removed), or none is. The RDS
reconciler reads the rules each second, so a change reaches pg_hba.conf within seconds;
deleting a group some DB cluster or instance uses fails with DependencyViolation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from warden.core.clock import Clock
from warden.core.ids import IdFactory
from warden.services.context import CallContext
from warden.services.ports import SecurityGroupUsers
from warden.store.db import Store

from . import repository as repo
from .errors import (
    CannotDelete,
    DependencyViolation,
    InvalidGroupDuplicate,
    InvalidGroupIdMalformed,
    InvalidParameterCombination,
    InvalidParameterValue,
    InvalidPermissionDuplicate,
    InvalidPermissionNotFound,
    InvalidVpcIdNotFound,
    MissingParameter,
    dry_run,
    group_not_found,
)
from .filters import matcher
from .model import Rule, SecurityGroup, default_vpc_id, rule_arn
from .permissions import RuleRequest, as_permissions, as_rule, requested

_GROUP_ID = re.compile(r"^sg-[0-9a-f]{8,17}$")
_MAX_NAME = 255
_EGRESS = [
    {
        "IpProtocol": "-1",
        "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
        "Ipv6Ranges": [],
        "UserIdGroupPairs": [],
        "PrefixListIds": [],
    }
]


def check_group_id(group_id: str) -> None:
    if not _GROUP_ID.match(group_id):
        raise InvalidGroupIdMalformed(message=f'Invalid id: "{group_id}" (expecting "sg-...")')


def group_view(group: SecurityGroup, rules: Sequence[Rule]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "OwnerId": group.account_id,
        "GroupId": group.group_id,
        "GroupName": group.name,
        "Description": group.description,
        "VpcId": group.vpc_id,
        "IpPermissions": as_permissions(rules),
        "IpPermissionsEgress": _EGRESS,
        "SecurityGroupArn": group.arn,
    }
    if group.tags:
        out["Tags"] = [{"Key": k, "Value": v} for k, v in group.tags]
    return out


def _spec_tags(params: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    tags: list[tuple[str, str]] = []
    for spec in params.get("TagSpecifications") or []:
        kind = spec.get("ResourceType")
        if kind not in (None, "security-group"):
            raise InvalidParameterValue(
                message=f"'{kind}' is not a valid taggable resource type for this operation."
            )
        tags += [(str(t.get("Key")), str(t.get("Value", ""))) for t in spec.get("Tags") or []]
    for key, _ in tags:
        if not key or len(key) > 128 or key.lower().startswith("aws:"):
            raise InvalidParameterValue(message=f"Tag key '{key}' is not valid")
    return tuple(tags)


class GroupOps:
    def __init__(
        self, store: Store, clock: Clock, ids: IdFactory, users: SecurityGroupUsers
    ) -> None:
        self._store = store
        self._clock = clock
        self._ids = ids
        self._users = users

    def _default(self, ctx: CallContext) -> SecurityGroup:
        return repo.default_group(self._store, self._ids, ctx.account_id, ctx.region, ctx.now)

    def _target(
        self, conn: Connection, ctx: CallContext, params: Mapping[str, Any]
    ) -> SecurityGroup:
        group_id, name = params.get("GroupId"), params.get("GroupName")
        if group_id:
            check_group_id(group_id)
            found = repo.get(conn, ctx.account_id, ctx.region, group_id)
            if found is None:
                raise group_not_found(group_id)
            return found
        if name:
            vpc = default_vpc_id(ctx.account_id, ctx.region)
            by_name = repo.by_name(conn, ctx.account_id, ctx.region, vpc, name)
            if by_name is None:
                raise group_not_found(name, vpc)
            return by_name
        raise MissingParameter(
            message="The request must contain the parameter groupId or groupName"
        )

    # -- groups ------------------------------------------------------------------------

    def create_security_group(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        if params.get("DryRun"):
            raise dry_run()
        name, description = str(params["GroupName"]), str(params["Description"])
        vpc = default_vpc_id(ctx.account_id, ctx.region)
        if params.get("VpcId") not in (None, vpc):
            raise InvalidVpcIdNotFound(message=f"The vpc ID '{params['VpcId']}' does not exist")
        if not name or len(name) > _MAX_NAME or not description or len(description) > _MAX_NAME:
            raise InvalidParameterValue(
                message="GroupName and GroupDescription must be 1 to 255 characters"
            )
        if name.lower().startswith("sg-"):
            raise InvalidParameterValue(message="Group names may not be in the format sg-*")
        tags = _spec_tags(params)
        self._default(ctx)
        group = SecurityGroup(
            repo.new_group_id(self._ids), ctx.account_id, ctx.region, vpc, name, description,
            False, tags, ctx.now,
        )  # fmt: skip
        with self._store.begin() as conn:
            if repo.by_name(conn, ctx.account_id, ctx.region, vpc, name) is not None:
                raise InvalidGroupDuplicate(
                    message=f"The security group '{name}' already exists for VPC '{vpc}'"
                )
            repo.insert(conn, group)
        out: dict[str, Any] = {"GroupId": group.group_id, "SecurityGroupArn": group.arn}
        if tags:
            out["Tags"] = [{"Key": k, "Value": v} for k, v in tags]
        return out

    def describe_security_groups(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        if params.get("DryRun"):
            raise dry_run()
        ids, names = params.get("GroupIds") or [], params.get("GroupNames") or []
        if "MaxResults" in params and (ids or names):
            raise InvalidParameterCombination(
                message="The parameter groupIds or groupNames cannot be used with the "
                "parameter maxResults"
            )
        matches = matcher(params.get("Filters") or [])
        for group_id in ids:
            check_group_id(group_id)
        self._default(ctx)
        with self._store.read() as conn:
            groups = repo.list_groups(conn, ctx.account_id, ctx.region)
            rules = repo.rules(conn, [g.group_id for g in groups])
        by_group: dict[str, list[Rule]] = {}
        for rule in rules:
            by_group.setdefault(rule.group_id, []).append(rule)
        known_ids, known_names = {g.group_id for g in groups}, {g.name for g in groups}
        for missing in [i for i in ids if i not in known_ids]:
            raise group_not_found(missing)
        vpc = default_vpc_id(ctx.account_id, ctx.region)
        for missing in [n for n in names if n not in known_names]:
            raise group_not_found(missing, vpc)
        chosen = [
            g
            for g in groups
            if (not ids or g.group_id in ids)
            and (not names or (g.name in names and g.vpc_id == vpc))
            and matches(g, by_group.get(g.group_id, []))
        ]
        page, more = ctx.page(chosen, default_page=1000)
        views = [group_view(g, by_group.get(g.group_id, [])) for g in page]
        return {"SecurityGroups": views, **more}

    def delete_security_group(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        if params.get("DryRun"):
            raise dry_run()
        self._default(ctx)
        with self._store.read() as conn:
            group = self._target(conn, ctx, params)
        if group.is_default:
            raise CannotDelete(
                message=f'the specified group: "{group.group_id}" name: "default" cannot be '
                "deleted by a user"
            )
        # Asked outside the write transaction (RDS reads the same store); a DB cluster
        # naming the group after this check finds it gone when it validates its groups.
        if self._users.users_of(ctx.account_id, ctx.region, group.group_id):
            raise DependencyViolation(message=f"resource {group.group_id} has a dependent object")
        with self._store.begin() as conn:
            repo.delete(conn, group.group_id)
        return {"Return": True, "GroupId": group.group_id}

    # -- rules -------------------------------------------------------------------------

    def authorize_security_group_ingress(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        if params.get("DryRun"):
            raise dry_run()
        wanted = requested(params)
        self._default(ctx)
        with self._store.begin() as conn:
            group = self._target(conn, ctx, params)
            have = {r.key for r in repo.rules(conn, [group.group_id])}
            seen: set[object] = set()
            for item in wanted:
                if item.key in have or item.key in seen:
                    raise InvalidPermissionDuplicate(
                        message=f'the specified rule "{item.key.describe()}" already exists'
                    )
                seen.add(item.key)
            new = [self._rule(group, item) for item in wanted]
            repo.insert_rules(conn, new, ctx.now)
        return {
            "Return": True,
            "SecurityGroupRules": [self._rule_view(ctx, r) for r in new],
        }

    def _rule(self, group: SecurityGroup, item: RuleRequest) -> Rule:
        return Rule(repo.new_rule_id(self._ids), group.group_id, item.key, item.description)

    def _rule_view(self, ctx: CallContext, rule: Rule) -> dict[str, Any]:
        return as_rule(rule, ctx.account_id, rule_arn(ctx.region, ctx.account_id, rule.rule_id))

    def revoke_security_group_ingress(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        if params.get("DryRun"):
            raise dry_run()
        rule_ids = list(params.get("SecurityGroupRuleIds") or [])
        wanted = [] if rule_ids and not params.get("IpPermissions") else requested(params)
        self._default(ctx)
        with self._store.begin() as conn:
            group = self._target(conn, ctx, params)
            current = repo.rules(conn, [group.group_id])
            by_key = {r.key: r for r in current}
            by_id = {r.rule_id: r for r in current}
            gone = [by_key[w.key] for w in wanted if w.key in by_key]
            gone += [by_id[i] for i in rule_ids if i in by_id]
            unknown = [w for w in wanted if w.key not in by_key]
            if (rule_ids and any(i not in by_id for i in rule_ids)) or not gone:
                raise InvalidPermissionNotFound(
                    message="The specified rule does not exist in this security group."
                )
            repo.delete_rules(conn, {r.rule_id for r in gone})
        revoked = [
            {k: v for k, v in as_rule(r, ctx.account_id, "").items() if k in _REVOKED} for r in gone
        ]
        out: dict[str, Any] = {"Return": True, "RevokedSecurityGroupRules": revoked}
        if unknown:
            out["UnknownIpPermissions"] = as_permissions(
                Rule("", group.group_id, w.key, w.description) for w in unknown
            )
        return out

    def describe_security_group_rules(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        if params.get("DryRun"):
            raise dry_run()
        wanted_ids = set(params.get("SecurityGroupRuleIds") or [])
        groups_filter = _rule_filters(params.get("Filters") or [])
        self._default(ctx)
        with self._store.read() as conn:
            groups = repo.list_groups(conn, ctx.account_id, ctx.region)
            chosen = [
                g.group_id for g in groups if not groups_filter or g.group_id in groups_filter
            ]
            rules = repo.rules(conn, chosen)
        rules = [r for r in rules if not wanted_ids or r.rule_id in wanted_ids]
        page, more = ctx.page(rules, default_page=1000)
        return {"SecurityGroupRules": [self._rule_view(ctx, r) for r in page], **more}


_REVOKED = frozenset(
    {"SecurityGroupRuleId", "GroupId", "IsEgress", "IpProtocol", "FromPort", "ToPort",
     "CidrIpv4", "CidrIpv6", "Description"}
)  # fmt: skip


def _rule_filters(filters: Sequence[Mapping[str, Any]]) -> set[str]:
    wanted: set[str] = set()
    for item in filters:
        if item.get("Name") != "group-id":
            raise InvalidParameterValue(message=f"The filter '{item.get('Name')}' is invalid")
        wanted.update(str(v) for v in item.get("Values") or [])
    return wanted
