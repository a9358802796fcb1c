"""IAM read operations over users, groups, access keys and attachments.

Names are unique per account without regard to case, and looked up the same way,
as IAM does. Listings are paged by the protocol's sealed Marker/MaxItems.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import RowMapping

from warden.core.arn import root_arn
from warden.core.principal import PrincipalType
from warden.services.context import CallContext
from warden.store.db import Store
from warden.store.schema import (
    access_keys,
    accounts,
    iam_attachments,
    iam_group_members,
    iam_groups,
    iam_users,
)

from .errors import NoSuchEntity

# Statements built once: constructing a select costs more than running it on SQLite.
# Path prefixes are compared in Python: IAM paths may contain LIKE's wildcards.
_USERS = (
    sa.select(iam_users)
    .where(iam_users.c.account_id == sa.bindparam("account"))
    .order_by(iam_users.c.name_lower)
)
_USER_BY_NAME = sa.select(iam_users).where(
    iam_users.c.account_id == sa.bindparam("account"),
    iam_users.c.name_lower == sa.bindparam("name"),
)


def _user_out(row: RowMapping) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Path": row["path"],
        "UserName": row["name"],
        "UserId": row["user_id"],
        "Arn": row["arn"],
        "CreateDate": row["created_at"],
    }
    if row["password_last_used"] is not None:
        out["PasswordLastUsed"] = row["password_last_used"]
    return out


def _group_out(row: RowMapping) -> dict[str, Any]:
    return {
        "Path": row["path"],
        "GroupName": row["name"],
        "GroupId": row["group_id"],
        "Arn": row["arn"],
        "CreateDate": row["created_at"],
    }


def _policy_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


class IamReads:
    def __init__(self, store: Store) -> None:
        self._store = store

    def _user(self, conn: sa.Connection, account: str, name: str) -> RowMapping:
        row = (
            conn.execute(_USER_BY_NAME, {"account": account, "name": name.lower()})
            .mappings()
            .first()
        )
        if row is None:
            raise NoSuchEntity(message=f"The user with name {name} cannot be found.")
        return row

    def _group(self, conn: sa.Connection, account: str, name: str) -> RowMapping:
        row = (
            conn.execute(
                sa.select(iam_groups).where(
                    iam_groups.c.account_id == account, iam_groups.c.name_lower == name.lower()
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NoSuchEntity(message=f"The group with name {name} cannot be found.")
        return row

    def _caller_name(self, ctx: CallContext, params: Mapping[str, Any]) -> str | None:
        """The UserName parameter, or the calling IAM user's name when it is omitted."""
        name = params.get("UserName")
        if name is not None:
            return str(name)
        if ctx.principal.type is PrincipalType.IAM_USER:
            return ctx.principal.name
        return None

    def get_user(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        name = self._caller_name(ctx, params)
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
            row = self._user(conn, ctx.account_id, name)
        user = _user_out(row)
        if row["tags"]:
            user["Tags"] = row["tags"]
        return {"User": user}

    def list_users(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        prefix = params.get("PathPrefix", "/")
        with self._store.read() as conn:
            rows = conn.execute(
                sa.select(iam_users)
                .where(
                    iam_users.c.account_id == ctx.account_id, iam_users.c.path.startswith(prefix)
                )
                .order_by(iam_users.c.name_lower)
            ).mappings()
            users = [_user_out(r) for r in rows]
        page, more = ctx.page(users)
        return {"Users": page, "IsTruncated": False, **more}

    def list_groups(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        prefix = params.get("PathPrefix", "/")
        with self._store.read() as conn:
            rows = conn.execute(
                sa.select(iam_groups)
                .where(iam_groups.c.account_id == ctx.account_id)
                .order_by(iam_groups.c.name_lower)
            ).mappings()
            groups = [_group_out(r) for r in rows if r["path"].startswith(prefix)]
        page, more = ctx.page(groups)
        return {"Groups": page, "IsTruncated": False, **more}

    def get_group(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        with self._store.read() as conn:
            group = self._group(conn, ctx.account_id, params["GroupName"])
            rows = conn.execute(
                sa.select(iam_users)
                .join(iam_group_members, iam_group_members.c.user_id == iam_users.c.user_id)
                .where(iam_group_members.c.group_id == group["group_id"])
                .order_by(iam_users.c.name_lower)
            ).mappings()
            users = [_user_out(r) for r in rows]
        page, more = ctx.page(users)
        return {"Group": _group_out(group), "Users": page, "IsTruncated": False, **more}

    def list_groups_for_user(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        with self._store.read() as conn:
            user = self._user(conn, ctx.account_id, params["UserName"])
            rows = conn.execute(
                sa.select(iam_groups)
                .join(iam_group_members, iam_group_members.c.group_id == iam_groups.c.group_id)
                .where(iam_group_members.c.user_id == user["user_id"])
                .order_by(iam_groups.c.name_lower)
            ).mappings()
            groups = [_group_out(r) for r in rows]
        page, more = ctx.page(groups)
        return {"Groups": page, "IsTruncated": False, **more}

    def list_access_keys(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        name = self._caller_name(ctx, params)
        with self._store.read() as conn:
            if name is None:
                owner, shown = None, None
            else:
                user = self._user(conn, ctx.account_id, name)
                owner, shown = user["user_id"], user["name"]
            cond = (
                access_keys.c.user_id.is_(None) if owner is None else access_keys.c.user_id == owner
            )
            rows = conn.execute(
                sa.select(access_keys)
                .where(access_keys.c.account_id == ctx.account_id, cond)
                .order_by(access_keys.c.created_at)
            ).mappings()
            keys = [
                {
                    **({"UserName": shown} if shown else {}),
                    "AccessKeyId": r["access_key_id"],
                    "Status": r["status"],
                    "CreateDate": r["created_at"],
                }
                for r in rows
            ]
        page, more = ctx.page(keys)
        return {"AccessKeyMetadata": page, "IsTruncated": False, **more}

    def get_access_key_last_used(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        akid = params["AccessKeyId"]
        with self._store.read() as conn:
            row = (
                conn.execute(
                    sa.select(access_keys, iam_users.c.name)
                    .select_from(
                        access_keys.outerjoin(
                            iam_users, access_keys.c.user_id == iam_users.c.user_id
                        )
                    )
                    .where(
                        access_keys.c.access_key_id == akid,
                        access_keys.c.account_id == ctx.account_id,
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            raise NoSuchEntity(message=f"The Access Key with id {akid} cannot be found")
        last: dict[str, Any] = {"ServiceName": "N/A", "Region": "N/A"}
        if row["last_used_at"] is not None:
            last = {
                "LastUsedDate": row["last_used_at"],
                "ServiceName": row["last_used_service"],
                "Region": row["last_used_region"],
            }
        out: dict[str, Any] = {"AccessKeyLastUsed": last}
        if row["name"]:
            out["UserName"] = row["name"]
        return out

    def _attached(self, ctx: CallContext, kind: str, principal_id: str) -> dict[str, Any]:
        with self._store.read() as conn:
            arns = conn.execute(
                sa.select(iam_attachments.c.policy_arn)
                .where(
                    iam_attachments.c.account_id == ctx.account_id,
                    iam_attachments.c.principal_type == kind,
                    iam_attachments.c.principal_id == principal_id,
                )
                .order_by(iam_attachments.c.policy_arn)
            ).scalars()
            policies = [{"PolicyName": _policy_name(a), "PolicyArn": a} for a in arns]
        page, more = ctx.page(policies)
        return {"AttachedPolicies": page, "IsTruncated": False, **more}

    def list_attached_user_policies(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        with self._store.read() as conn:
            user = self._user(conn, ctx.account_id, params["UserName"])
        return self._attached(ctx, "user", user["user_id"])

    def list_attached_group_policies(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        with self._store.read() as conn:
            group = self._group(conn, ctx.account_id, params["GroupName"])
        return self._attached(ctx, "group", group["group_id"])
