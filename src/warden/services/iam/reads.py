"""IAM reads of one user or group: GetUser, GetGroup, ListGroupsForUser.

Names are unique per account without regard to case, and looked up the same way,
as IAM does. Listings are paged by the protocol's sealed Marker/MaxItems.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from warden.core.arn import root_arn
from warden.services.context import CallContext
from warden.store.db import Store
from warden.store.schema import accounts, iam_group_members, iam_groups, iam_users

from . import inputs
from .entities import Kind, caller_user, find, group_out, listing, user_out


class IamReads:
    def __init__(self, store: Store) -> None:
        self._store = store

    def get_user(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        name = caller_user(ctx, params)
        with self._store.read() as conn:
            if name is None:  # root, answered as AWS does: no name, the account as id
                created = conn.execute(
                    sa.select(accounts.c.created_at).where(accounts.c.account_id == ctx.account_id)
                ).scalar_one()
                return {
                    "User": {
                        "UserId": ctx.account_id,
                        "Arn": root_arn(ctx.account_id),
                        "CreateDate": created,
                    }
                }
            row = find(conn, Kind.USER, ctx.account_id, name)
        return {"User": user_out(row, full=True)}

    def get_group(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        name = inputs.name(params, "GroupName", 128)
        with self._store.read() as conn:
            group = find(conn, Kind.GROUP, ctx.account_id, name)
            rows = conn.execute(
                sa.select(iam_users)
                .join(iam_group_members, iam_group_members.c.user_id == iam_users.c.user_id)
                .where(iam_group_members.c.group_id == group["group_id"])
                .order_by(iam_users.c.name_lower)
            ).mappings()
            users = [user_out(r) for r in rows]
        return {"Group": group_out(group), **listing(ctx, "Users", users)}

    def list_groups_for_user(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        name = inputs.name(params, "UserName", 128)
        with self._store.read() as conn:
            user = find(conn, Kind.USER, ctx.account_id, name)
            rows = conn.execute(
                sa.select(iam_groups)
                .join(iam_group_members, iam_group_members.c.group_id == iam_groups.c.group_id)
                .where(iam_group_members.c.user_id == user["user_id"])
                .order_by(iam_groups.c.name_lower)
            ).mappings()
            groups = [group_out(r) for r in rows]
        return listing(ctx, "Groups", groups)
