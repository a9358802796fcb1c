"""Listing managed policies (ListPolicies) and who uses one (ListEntitiesForPolicy).

Both read one consistent snapshot and page the filtered result with the protocol's
sealed Marker. AWS managed policies are listed from the shipped catalogue, with their
attachment and boundary counts taken from this account.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from warden.services.context import CallContext
from warden.store.db import Store
from warden.store.schema import iam_attachments, iam_managed_policies

from . import catalog, inputs
from .catalog import Policy
from .entities import SPECS, Kind
from .errors import ValidationError
from .managed_policies import aws_managed

_SCOPES = ("All", "AWS", "Local")
_USAGES = ("PermissionsPolicy", "PermissionsBoundary")
_ENTITY_FILTERS = ("User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy")
_OUT_MEMBER = {Kind.GROUP: "PolicyGroups", Kind.USER: "PolicyUsers", Kind.ROLE: "PolicyRoles"}
_FILTER_KIND = {"User": Kind.USER, "Role": Kind.ROLE, "Group": Kind.GROUP}


def _enum(params: Mapping[str, Any], member: str, allowed: tuple[str, ...]) -> str | None:
    value = params.get(member)
    if value is not None and value not in allowed:
        name = member[:1].lower() + member[1:]
        raise ValidationError(
            message=f"1 validation error detected: Value '{value}' at '{name}' failed to "
            f"satisfy constraint: Member must satisfy enum value set: [{', '.join(allowed)}]"
        )
    return value


def _keep(counts: tuple[int, int], usage: str | None, only_attached: bool) -> bool:
    attached, bounded = counts
    if usage == "PermissionsBoundary":
        return bounded > 0
    return attached > 0 if only_attached else True


class PolicyLists:
    def __init__(self, store: Store) -> None:
        self._store = store

    def list_policies(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        scope = _enum(params, "Scope", _SCOPES) or "All"
        usage = _enum(params, "PolicyUsageFilter", _USAGES)
        prefix = inputs.path_prefix(params, policy=True)
        only_attached = bool(params.get("OnlyAttached", False))
        account = ctx.account_id
        found: list[tuple[Policy, tuple[int, int]]] = []
        with self._store.read() as conn:
            if scope in ("All", "AWS"):
                used = catalog.aws_usage(conn, account)
                for arn, shipped in aws_managed().items():
                    policy = Policy(inputs.parse_policy_arn(arn), shipped, None)
                    found.append((policy, used.get(arn, (0, 0))))
            if scope in ("All", "Local"):
                rows = conn.execute(
                    sa.select(iam_managed_policies).where(
                        iam_managed_policies.c.account_id == account
                    )
                ).mappings()
                for row in rows:
                    policy = Policy(inputs.parse_policy_arn(row["arn"]), None, row)
                    found.append((policy, catalog.usage(conn, account, policy)))
            found = [
                (p, n)
                for p, n in found
                if p.arn.path.startswith(prefix) and _keep(n, usage, only_attached)
            ]
            found.sort(key=lambda pn: (pn[0].arn.name.lower(), pn[0].arn.arn))
            out = [catalog.policy_out(conn, account, p, detail=False, counts=n) for p, n in found]
        page, more = ctx.page(out)
        return {"Policies": page, "IsTruncated": False, **more}

    def list_entities_for_policy(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        text = inputs.policy_arn(params).arn
        entity_filter = _enum(params, "EntityFilter", _ENTITY_FILTERS)
        usage = _enum(params, "PolicyUsageFilter", _USAGES)
        prefix = inputs.path(params, "PathPrefix") or "/"
        kinds = [Kind.GROUP, Kind.USER, Kind.ROLE]
        if entity_filter in _FILTER_KIND:
            kinds = [_FILTER_KIND[entity_filter]]
        entities: list[tuple[Kind, str, str]] = []
        with self._store.read() as conn:
            policy = catalog.resolve(conn, ctx.account_id, text)
            if (entity_filter == "LocalManagedPolicy" and policy.shipped is not None) or (
                entity_filter == "AWSManagedPolicy" and policy.row is not None
            ):
                kinds = []
            for kind in kinds:
                entities += self._users_of(conn, ctx.account_id, kind, text, usage, prefix)
        seen = sorted(set(entities), key=lambda e: (e[0].value, e[1].lower()))
        page, more = ctx.page(seen)
        out: dict[str, Any] = {member: [] for member in _OUT_MEMBER.values()}
        for kind, name, entity_id in page:
            label = kind.value.capitalize()
            out[_OUT_MEMBER[kind]].append({f"{label}Name": name, f"{label}Id": entity_id})
        return {**out, "IsTruncated": False, **more}

    @staticmethod
    def _users_of(
        conn: sa.Connection, account: str, kind: Kind, arn: str, usage: str | None, prefix: str
    ) -> list[tuple[Kind, str, str]]:
        spec = SPECS[kind]
        table = spec.table
        found: list[tuple[Kind, str, str]] = []
        if usage != "PermissionsBoundary":
            rows = conn.execute(
                sa.select(table.c.name, spec.id, table.c.path)
                .join(iam_attachments, iam_attachments.c.principal_id == spec.id)
                .where(
                    iam_attachments.c.account_id == account,
                    iam_attachments.c.principal_type == kind.value,
                    iam_attachments.c.policy_arn == arn,
                )
            )
            found += [(kind, n, i) for n, i, p in rows if p.startswith(prefix)]
        if usage != "PermissionsPolicy" and kind is not Kind.GROUP:
            rows = conn.execute(
                sa.select(table.c.name, spec.id, table.c.path).where(
                    table.c.account_id == account, table.c.permissions_boundary_arn == arn
                )
            )
            found += [(kind, n, i) for n, i, p in rows if p.startswith(prefix)]
        return found
