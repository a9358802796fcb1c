"""IAM roles: create (with a trust policy), read, list, update, delete.

Invariants: a role's trust policy is always a valid trust policy within AWS's size
quota; ``MaxSessionDuration`` stays within 1-12 hours; a role is deleted only when it
has no attached and no inline policies (``DeleteConflict`` otherwise, nothing changes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from warden.core.ids import IdFactory
from warden.policy import PolicyKind
from warden.services.context import CallContext
from warden.store.db import Store
from warden.store.schema import iam_attachments, iam_inline_policies, iam_roles

from . import catalog, inputs
from .entities import (
    Kind,
    already_exists,
    count,
    entity_arn,
    find,
    name_taken,
    role_out,
    writing,
)
from .errors import DeleteConflict, LimitExceeded

MAX_ROLES = 1000
_TRUST = "AssumeRolePolicyDocument"


class Roles:
    def __init__(self, store: Store, ids: IdFactory) -> None:
        self._store = store
        self._ids = ids

    def create_role(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        name = inputs.name(params, "RoleName", 64)
        path = inputs.path(params) or "/"
        trust = inputs.document(params, PolicyKind.TRUST, member=_TRUST)
        description = inputs.description(params, role=True)
        max_session = inputs.max_session(params) or 3600
        tags = inputs.tags(params)
        boundary = inputs.text(params, "PermissionsBoundary", max_len=2048)
        role_id = self._ids.unique_id("AROA")
        account = ctx.account_id
        with writing(self._store, already_exists(Kind.ROLE, name)) as conn:
            if name_taken(conn, Kind.ROLE, account, name):
                raise already_exists(Kind.ROLE, name)
            if count(conn, iam_roles, iam_roles.c.account_id == account) >= MAX_ROLES:
                raise LimitExceeded(message=f"Cannot exceed quota for RolesPerAccount: {MAX_ROLES}")
            boundary_arn = None
            if boundary is not None:
                boundary_arn = catalog.resolve(conn, account, boundary, lock=True).arn.arn
            conn.execute(
                iam_roles.insert().values(
                    role_id=role_id,
                    account_id=account,
                    name=name,
                    name_lower=name.lower(),
                    path=path,
                    arn=entity_arn(account, Kind.ROLE, path, name),
                    assume_role_policy=trust,
                    description=description,
                    max_session_duration=max_session,
                    permissions_boundary_arn=boundary_arn,
                    tags=tags,
                    created_at=ctx.now,
                )
            )
            catalog.adjust(conn, boundary_arn, boundaries=1)
            row = find(conn, Kind.ROLE, account, name)
        out = role_out(row, full=True)
        out.pop("RoleLastUsed")  # CreateRole answers without it, as AWS does
        return {"Role": out}

    def get_role(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        name = inputs.name(params, "RoleName", 64)
        with self._store.read() as conn:
            row = find(conn, Kind.ROLE, ctx.account_id, name)
        return {"Role": role_out(row, full=True)}

    def list_roles(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        prefix = inputs.path_prefix(params)
        with self._store.read() as conn:
            rows = conn.execute(
                sa.select(iam_roles)
                .where(iam_roles.c.account_id == ctx.account_id)
                .order_by(iam_roles.c.name_lower)
            ).mappings()
            roles = [role_out(r) for r in rows if r["path"].startswith(prefix)]
        page, more = ctx.page(roles)
        return {"Roles": page, "IsTruncated": False, **more}

    def delete_role(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        name = inputs.name(params, "RoleName", 64)
        with self._store.begin() as conn:
            role = find(conn, Kind.ROLE, ctx.account_id, name, lock=True)
            rid = role["role_id"]
            owned = (
                iam_attachments.c.principal_type == "role",
                iam_attachments.c.principal_id == rid,
            )
            if count(conn, iam_attachments, *owned):
                raise DeleteConflict(
                    message="Cannot delete entity, must detach all policies first."
                )
            inline = (
                iam_inline_policies.c.principal_type == "role",
                iam_inline_policies.c.principal_id == rid,
            )
            if count(conn, iam_inline_policies, *inline):
                raise DeleteConflict(message="Cannot delete entity, must delete policies first.")
            conn.execute(iam_roles.delete().where(iam_roles.c.role_id == rid))
            catalog.adjust(conn, role["permissions_boundary_arn"], boundaries=-1)
        return {}

    def _update(self, ctx: CallContext, name: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        with self._store.begin() as conn:
            role = find(conn, Kind.ROLE, ctx.account_id, name, lock=True)
            if changes:
                conn.execute(
                    iam_roles.update()
                    .where(iam_roles.c.role_id == role["role_id"])
                    .values(**changes)
                )
            row = find(conn, Kind.ROLE, ctx.account_id, name)
        return role_out(row, full=True)

    def update_role(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        name = inputs.name(params, "RoleName", 64)
        changes: dict[str, Any] = {}
        description = inputs.description(params, role=True)
        if description is not None:
            changes["description"] = description
        max_session = inputs.max_session(params)
        if max_session is not None:
            changes["max_session_duration"] = max_session
        self._update(ctx, name, changes)
        return {}

    def update_role_description(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        name = inputs.name(params, "RoleName", 64)
        description = inputs.description(params, role=True) or ""
        return {"Role": self._update(ctx, name, {"description": description})}

    def update_assume_role_policy(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        name = inputs.name(params, "RoleName", 64)
        trust = inputs.document(params, PolicyKind.TRUST)
        self._update(ctx, name, {"assume_role_policy": trust})
        return {}
