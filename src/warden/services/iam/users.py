"""IAM users: create, delete, rename and move.

Invariants: a user's ARN is always ``…:user{path}{name}`` of its current name and path;
every other row refers to the user by its id, so a rename touches one row. A user is
deleted only when nothing hangs off it any more (console password, access keys, MFA
devices, attached or inline policies, group memberships): otherwise ``DeleteConflict``,
as in AWS, and nothing changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from warden.core.ids import IdFactory
from warden.services.context import CallContext
from warden.store.db import Store
from warden.store.prepared import Prepared
from warden.store.schema import (
    access_keys,
    iam_attachments,
    iam_group_members,
    iam_inline_policies,
    iam_login_profiles,
    iam_mfa_devices,
    iam_users,
)

from . import catalog, inputs
from .entities import (
    Kind,
    already_exists,
    count,
    entity_arn,
    find,
    name_taken,
    user_out,
    writing,
)
from .errors import DeleteConflict, LimitExceeded

MAX_USERS = 5000

# Built once: constructing a select costs more than running it on SQLite.
_USERS_OF_ACCOUNT = Prepared(
    sa.select(iam_users)
    .where(iam_users.c.account_id == sa.bindparam("account"))
    .order_by(iam_users.c.name_lower)
)


def _conflict(what: str) -> DeleteConflict:
    return DeleteConflict(message=f"Cannot delete entity, must {what} first.")


class Users:
    def __init__(self, store: Store, ids: IdFactory) -> None:
        self._store = store
        self._ids = ids

    def create_user(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        name = inputs.name(params, "UserName", 64)
        path = inputs.path(params) or "/"
        tags = inputs.tags(params)
        boundary = inputs.text(params, "PermissionsBoundary", max_len=2048)
        user_id = self._ids.unique_id("AIDA")
        account = ctx.account_id
        with writing(self._store, already_exists(Kind.USER, name)) as conn:
            if name_taken(conn, Kind.USER, account, name):
                raise already_exists(Kind.USER, name)
            if count(conn, iam_users, iam_users.c.account_id == account) >= MAX_USERS:
                raise LimitExceeded(message=f"Cannot exceed quota for UsersPerAccount: {MAX_USERS}")
            boundary_arn = None
            if boundary is not None:
                boundary_arn = catalog.resolve(conn, account, boundary, lock=True).arn.arn
            conn.execute(
                iam_users.insert().values(
                    user_id=user_id,
                    account_id=account,
                    name=name,
                    name_lower=name.lower(),
                    path=path,
                    arn=entity_arn(account, Kind.USER, path, name),
                    created_at=ctx.now,
                    permissions_boundary_arn=boundary_arn,
                    tags=tags,
                )
            )
            catalog.adjust(conn, boundary_arn, boundaries=1)
            row = find(conn, Kind.USER, account, name)
        return {"User": user_out(row, full=True)}

    def delete_user(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        name = inputs.name(params, "UserName", 128)
        with self._store.begin() as conn:
            user = find(conn, Kind.USER, ctx.account_id, name, lock=True)
            uid = user["user_id"]
            if count(conn, iam_login_profiles, iam_login_profiles.c.user_id == uid):
                raise _conflict("delete login profile")
            if count(conn, access_keys, access_keys.c.user_id == uid):
                raise _conflict("delete access keys")
            if count(conn, iam_mfa_devices, iam_mfa_devices.c.user_id == uid):
                raise _conflict("delete MFA device")
            owned = (
                iam_attachments.c.principal_type == "user",
                iam_attachments.c.principal_id == uid,
            )
            if count(conn, iam_attachments, *owned):
                raise _conflict("detach all policies")
            inline = (
                iam_inline_policies.c.principal_type == "user",
                iam_inline_policies.c.principal_id == uid,
            )
            if count(conn, iam_inline_policies, *inline):
                raise _conflict("delete policies")
            if count(conn, iam_group_members, iam_group_members.c.user_id == uid):
                raise _conflict("remove user from all groups")
            conn.execute(iam_users.delete().where(iam_users.c.user_id == uid))
            catalog.adjust(conn, user["permissions_boundary_arn"], boundaries=-1)
        return {}

    def update_user(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        name = inputs.name(params, "UserName", 128)
        new_name = inputs.optional_name(params, "NewUserName", 64)
        new_path = inputs.path(params, "NewPath")
        account = ctx.account_id
        conflict = already_exists(Kind.USER, new_name or name)
        with writing(self._store, conflict) as conn:
            user = find(conn, Kind.USER, account, name, lock=True)
            target = new_name or user["name"]
            if new_name and name_taken(conn, Kind.USER, account, target, except_id=user["user_id"]):
                raise conflict
            where = user["path"] if new_path is None else new_path
            conn.execute(
                iam_users.update()
                .where(iam_users.c.user_id == user["user_id"])
                .values(
                    name=target,
                    name_lower=target.lower(),
                    path=where,
                    arn=entity_arn(account, Kind.USER, where, target),
                )
            )
        return {}

    def list_users(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        prefix = inputs.path_prefix(params)
        with self._store.read() as conn:
            rows = _USERS_OF_ACCOUNT.rows(conn, account=ctx.account_id)
            # Path prefixes are compared here: IAM paths may contain LIKE's wildcards.
            users = [user_out(r) for r in rows if r["path"].startswith(prefix)]
        page, more = ctx.page(users)
        return {"Users": page, "IsTruncated": False, **more}
