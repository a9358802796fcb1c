"""IAM groups and membership: create, delete, rename, move, add and remove users.

Invariants: a user is in at most ``MAX_GROUPS_PER_USER`` groups (checked with the user's
row locked, so two concurrent additions cannot both pass); a group is deleted only when
it has no members and no policies (``DeleteConflict`` otherwise, nothing changes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from warden.core.ids import IdFactory
from warden.services.context import CallContext
from warden.store.db import Store
from warden.store.schema import (
    iam_attachments,
    iam_group_members,
    iam_groups,
    iam_inline_policies,
)

from . import inputs
from .entities import (
    Kind,
    already_exists,
    count,
    entity_arn,
    find,
    group_out,
    name_taken,
    writing,
)
from .errors import DeleteConflict, LimitExceeded, NoSuchEntity

MAX_GROUPS = 300
MAX_GROUPS_PER_USER = 10


class Groups:
    def __init__(self, store: Store, ids: IdFactory) -> None:
        self._store = store
        self._ids = ids

    def create_group(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        name = inputs.name(params, "GroupName", 128)
        path = inputs.path(params) or "/"
        group_id = self._ids.unique_id("AGPA")
        account = ctx.account_id
        with writing(self._store, already_exists(Kind.GROUP, name)) as conn:
            if name_taken(conn, Kind.GROUP, account, name):
                raise already_exists(Kind.GROUP, name)
            if count(conn, iam_groups, iam_groups.c.account_id == account) >= MAX_GROUPS:
                raise LimitExceeded(
                    message=f"Cannot exceed quota for GroupsPerAccount: {MAX_GROUPS}"
                )
            conn.execute(
                iam_groups.insert().values(
                    group_id=group_id,
                    account_id=account,
                    name=name,
                    name_lower=name.lower(),
                    path=path,
                    arn=entity_arn(account, Kind.GROUP, path, name),
                    created_at=ctx.now,
                )
            )
            row = find(conn, Kind.GROUP, account, name)
        return {"Group": group_out(row)}

    def delete_group(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        name = inputs.name(params, "GroupName", 128)
        with self._store.begin() as conn:
            group = find(conn, Kind.GROUP, ctx.account_id, name, lock=True)
            gid = group["group_id"]
            if count(conn, iam_group_members, iam_group_members.c.group_id == gid):
                raise DeleteConflict(
                    message="Cannot delete entity, must remove users from group first."
                )
            owned = (
                iam_attachments.c.principal_type == "group",
                iam_attachments.c.principal_id == gid,
            )
            if count(conn, iam_attachments, *owned):
                raise DeleteConflict(
                    message="Cannot delete entity, must detach all policies first."
                )
            inline = (
                iam_inline_policies.c.principal_type == "group",
                iam_inline_policies.c.principal_id == gid,
            )
            if count(conn, iam_inline_policies, *inline):
                raise DeleteConflict(message="Cannot delete entity, must delete policies first.")
            conn.execute(iam_groups.delete().where(iam_groups.c.group_id == gid))
        return {}

    def update_group(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        name = inputs.name(params, "GroupName", 128)
        new_name = inputs.optional_name(params, "NewGroupName", 128)
        new_path = inputs.path(params, "NewPath")
        account = ctx.account_id
        conflict = already_exists(Kind.GROUP, new_name or name)
        with writing(self._store, conflict) as conn:
            group = find(conn, Kind.GROUP, account, name, lock=True)
            target = new_name or group["name"]
            gid = group["group_id"]
            if new_name and name_taken(conn, Kind.GROUP, account, target, except_id=gid):
                raise conflict
            where = group["path"] if new_path is None else new_path
            conn.execute(
                iam_groups.update()
                .where(iam_groups.c.group_id == gid)
                .values(
                    name=target,
                    name_lower=target.lower(),
                    path=where,
                    arn=entity_arn(account, Kind.GROUP, where, target),
                )
            )
        return {}

    def add_user_to_group(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        group_name = inputs.name(params, "GroupName", 128)
        user_name = inputs.name(params, "UserName", 128)
        with self._store.begin() as conn:
            # Group then user: the one lock order, so DeleteGroup cannot miss a new member.
            group = find(conn, Kind.GROUP, ctx.account_id, group_name, lock=True)
            user = find(conn, Kind.USER, ctx.account_id, user_name, lock=True)
            member = (
                iam_group_members.c.user_id == user["user_id"],
                iam_group_members.c.group_id == group["group_id"],
            )
            if count(conn, iam_group_members, *member):
                return {}  # already a member: AWS answers success
            if (
                count(conn, iam_group_members, iam_group_members.c.user_id == user["user_id"])
                >= MAX_GROUPS_PER_USER
            ):
                raise LimitExceeded(
                    message=f"Cannot exceed quota for GroupsPerUser: {MAX_GROUPS_PER_USER}"
                )
            conn.execute(
                iam_group_members.insert().values(
                    group_id=group["group_id"], user_id=user["user_id"]
                )
            )
        return {}

    def remove_user_from_group(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        group_name = inputs.name(params, "GroupName", 128)
        user_name = inputs.name(params, "UserName", 128)
        with self._store.begin() as conn:
            group = find(conn, Kind.GROUP, ctx.account_id, group_name)
            user = find(conn, Kind.USER, ctx.account_id, user_name)
            gone = conn.execute(
                iam_group_members.delete().where(
                    iam_group_members.c.user_id == user["user_id"],
                    iam_group_members.c.group_id == group["group_id"],
                )
            ).rowcount
            if not gone:
                raise NoSuchEntity(
                    message=f"The user with name {user['name']} is not in group {group['name']}."
                )
        return {}

    def list_groups(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        prefix = inputs.path_prefix(params)
        with self._store.read() as conn:
            rows = conn.execute(
                sa.select(iam_groups)
                .where(iam_groups.c.account_id == ctx.account_id)
                .order_by(iam_groups.c.name_lower)
            ).mappings()
            groups = [group_out(r) for r in rows if r["path"].startswith(prefix)]
        page, more = ctx.page(groups)
        return {"Groups": page, "IsTruncated": False, **more}
