"""Authz entries for the EC2 operations warden serves (Service Authorization Reference).

Operations on a group are authorized on its ARN (``security-group/sg-…``), resolved from
``GroupId`` or, in the default VPC, ``GroupName``; the group's tags feed
``aws:ResourceTag/*`` and ``ec2:ResourceTag/*``, and ``ec2:Vpc`` names its VPC. A group that
does not exist is authorized on the ARN it would have, so IAM decides before the handler
answers InvalidGroup.NotFound. CreateSecurityGroup is authorized on ``security-group/*`` and
the VPC; the Describe operations have no resource type (``*``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from warden.policy import ContextValue
from warden.services.context import AuthzEntry, Scope
from warden.store.db import Store

from . import repository as repo
from .model import SecurityGroup, default_vpc_id, group_arn, vpc_arn

_P = "ec2:"


class GroupLookup:
    def __init__(self, store: Store) -> None:
        self._store = store

    def group(self, scope: Scope, params: Mapping[str, Any]) -> SecurityGroup | None:
        group_id, name = params.get("GroupId"), params.get("GroupName")
        with self._store.read() as conn:
            if isinstance(group_id, str) and group_id:
                return repo.get(conn, scope.account_id, scope.region, group_id)
            if isinstance(name, str) and name:
                vpc = default_vpc_id(scope.account_id, scope.region)
                return repo.by_name(conn, scope.account_id, scope.region, vpc, name)
        return None

    def resources(self, scope: Scope, params: Mapping[str, Any]) -> Sequence[str]:
        group = self.group(scope, params)
        if group is not None:
            return (group.arn,)
        group_id = params.get("GroupId") or "*"
        return (group_arn(scope.region, scope.account_id, str(group_id)),)

    def tags(self, scope: Scope, params: Mapping[str, Any]) -> Mapping[str, str]:
        group = self.group(scope, params)
        return group.tag_map() if group is not None else {}

    def keys(self, scope: Scope, params: Mapping[str, Any]) -> Mapping[str, ContextValue]:
        group = self.group(scope, params)
        vpc = group.vpc_id if group is not None else default_vpc_id(scope.account_id, scope.region)
        out: dict[str, ContextValue] = {_P + "Vpc": vpc_arn(scope.region, scope.account_id, vpc)}
        if group is not None:
            out[_P + "SecurityGroupID"] = group.group_id
            out.update({f"{_P}ResourceTag/{k}": v for k, v in group.tags})
        return out


def _create_resources(scope: Scope, params: Mapping[str, Any]) -> Sequence[str]:
    vpc = default_vpc_id(scope.account_id, scope.region)
    return (
        group_arn(scope.region, scope.account_id, "*"),
        vpc_arn(scope.region, scope.account_id, str(params.get("VpcId") or vpc)),
    )


def _create_keys(scope: Scope, params: Mapping[str, Any]) -> Mapping[str, ContextValue]:
    tags = {
        str(t.get("Key")): str(t.get("Value", ""))
        for spec in params.get("TagSpecifications") or []
        for t in spec.get("Tags") or []
    }
    vpc = str(params.get("VpcId") or default_vpc_id(scope.account_id, scope.region))
    out: dict[str, ContextValue] = {_P + "Vpc": vpc_arn(scope.region, scope.account_id, vpc)}
    out.update({f"aws:RequestTag/{k}": v for k, v in tags.items()})
    if tags:
        out["aws:TagKeys"] = list(tags)
    return out


def build_authz(store: Store) -> dict[str, AuthzEntry]:
    lookup = GroupLookup(store)
    entries = {
        op: AuthzEntry(
            _P + op,
            lookup.resources,
            conditions=lookup.keys,
            resource_tags=lookup.tags,
        )
        for op in (
            "DeleteSecurityGroup",
            "AuthorizeSecurityGroupIngress",
            "RevokeSecurityGroupIngress",
        )
    }
    entries["CreateSecurityGroup"] = AuthzEntry(
        _P + "CreateSecurityGroup", _create_resources, conditions=_create_keys
    )
    for op in ("DescribeSecurityGroups", "DescribeSecurityGroupRules"):
        entries[op] = AuthzEntry(_P + op, read_only=True)
    return entries
