"""Authz entries of the parameter-group operations (Service Authorization Reference).

Each operation on a group is authorized on the group's ARN (``cluster-pg:<name>`` or
``pg:<name>``; ``*`` for a describe without a name); its tags feed ``aws:ResourceTag/*`` and
the RDS aliases ``rds:cluster-pg-tag/*`` / ``rds:pg-tag/*``, a create request's tags
``aws:RequestTag/*`` and ``rds:req-tag/*``. DescribeEngineDefault… name no resource. A
group that does not exist is authorized on the ARN it would have, so IAM decides first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from warden.policy import ContextValue
from warden.services.context import AuthzEntry, Scope, request_tags
from warden.store.db import Store

from . import parameter_store as store
from .model import rds_arn
from .parameter_store import GroupKind

_P = "rds:"
_INFIX = {GroupKind.CLUSTER: "DBCluster", GroupKind.DB: "DB"}


def _name(value: Any) -> str:
    text = str(value or "*")
    return text.rsplit(":", 1)[-1].lower() if text.startswith("arn:") else text.lower()


class GroupLookup:
    def __init__(self, store_: Store, kind: GroupKind) -> None:
        self._store = store_
        self.kind = kind
        self.member = f"{kind.label}Name"

    def resources(self, scope: Scope, params: Mapping[str, Any]) -> Sequence[str]:
        name = _name(params.get(self.member))
        return (rds_arn(scope.region, scope.account_id, self.kind.arn_type, name),)

    def tags(self, scope: Scope, params: Mapping[str, Any]) -> Mapping[str, str]:
        name = _name(params.get(self.member))
        with self._store.read() as conn:
            found = store.group(conn, self.kind, scope.account_id, scope.region, name)
        return dict(found.tags) if found is not None else {}

    def keys(self, scope: Scope, params: Mapping[str, Any]) -> Mapping[str, ContextValue]:
        prefix = f"{_P}{self.kind.arn_type}-tag/"
        keys: dict[str, ContextValue] = {prefix + k: v for k, v in self.tags(scope, params).items()}
        keys.update({f"{_P}req-tag/{k}": v for k, v in request_tags(params).items()})
        return keys


def parameter_group_entries(store_: Store) -> dict[str, AuthzEntry]:
    entries: dict[str, AuthzEntry] = {}
    for kind, infix in _INFIX.items():
        lookup = GroupLookup(store_, kind)
        ops = {
            f"Create{infix}ParameterGroup": False,
            f"Modify{infix}ParameterGroup": False,
            f"Reset{infix}ParameterGroup": False,
            f"Delete{infix}ParameterGroup": False,
            f"Describe{infix}ParameterGroups": True,
            f"Describe{infix}Parameters": True,
        }
        for op, read_only in ops.items():
            entries[op] = AuthzEntry(
                _P + op,
                lookup.resources,
                read_only=read_only,
                conditions=lookup.keys,
                resource_tags=lookup.tags,
            )
    for op in ("DescribeEngineDefaultClusterParameters", "DescribeEngineDefaultParameters"):
        entries[op] = AuthzEntry(_P + op, read_only=True)
    return entries


def naming_group(entry: AuthzEntry, member: str) -> AuthzEntry:
    """``entry`` also authorized on the parameter group its request names in ``member``
    (CreateDBInstance, ModifyDBInstance: ``pg``; ModifyDBCluster: ``cluster-pg``)."""
    kind = GroupKind.CLUSTER if member == "DBClusterParameterGroupName" else GroupKind.DB
    base = entry.resources

    def resources(scope: Scope, params: Mapping[str, Any]) -> Sequence[str]:
        found = list(base(scope, params))
        if params.get(member):
            found.append(
                rds_arn(scope.region, scope.account_id, kind.arn_type, _name(params[member]))
            )
        return found

    return replace(entry, resources=resources)
