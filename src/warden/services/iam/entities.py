"""What the IAM handlers share: the entity kinds, lookups by name, output shapes.

Invariants: names are looked up without regard to case (``name_lower``), as IAM does;
a lookup that finds nothing raises ``NoSuchEntity`` with AWS's message. Lookups made
before a write pass ``lock=True`` so that on PostgreSQL (READ COMMITTED) the row is
locked until the transaction ends; SQLite's writers hold the whole database already.
Policy documents leave the service URL-encoded, as IAM sends them on the wire.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy import RowMapping
from sqlalchemy.exc import IntegrityError

from warden.core.arn import iam_arn
from warden.core.principal import PrincipalType
from warden.policy import PolicyKind
from warden.services.context import CallContext
from warden.store.db import Store
from warden.store.schema import iam_groups, iam_roles, iam_users

from .errors import EntityAlreadyExists, NoSuchEntity, ValidationError

MAX_ATTACHED = 10  # managed policies per user, group or role (AWS default quota)


class Kind(enum.Enum):
    """The IAM entities that own names, inline policies and attached policies."""

    USER = "user"
    GROUP = "group"
    ROLE = "role"


@dataclass(frozen=True, slots=True)
class Spec:
    table: sa.Table
    id_column: str  # user_id / group_id / role_id
    member: str  # the request member naming it: UserName / GroupName / RoleName
    max_name: int
    inline_kind: PolicyKind
    quota: str  # AWS's quota name for attached policies: PoliciesPerUser…

    @property
    def id(self) -> sa.ColumnElement[str]:
        return self.table.c[self.id_column]


SPECS: Mapping[Kind, Spec] = {
    Kind.USER: Spec(
        iam_users, "user_id", "UserName", 64, PolicyKind.INLINE_USER, "PoliciesPerUser"
    ),
    Kind.GROUP: Spec(
        iam_groups, "group_id", "GroupName", 128, PolicyKind.INLINE_GROUP, "PoliciesPerGroup"
    ),
    Kind.ROLE: Spec(
        iam_roles, "role_id", "RoleName", 64, PolicyKind.INLINE_ROLE, "PoliciesPerRole"
    ),
}


def find(
    conn: sa.Connection, kind: Kind, account: str, name: str, *, lock: bool = False
) -> RowMapping:
    table = SPECS[kind].table
    query = sa.select(table).where(
        table.c.account_id == account, table.c.name_lower == name.lower()
    )
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NoSuchEntity(message=f"The {kind.value} with name {name} cannot be found.")
    return row


def name_taken(
    conn: sa.Connection, kind: Kind, account: str, name: str, *, except_id: str = ""
) -> bool:
    spec = SPECS[kind]
    query = sa.select(spec.id).where(
        spec.table.c.account_id == account, spec.table.c.name_lower == name.lower()
    )
    return any(found != except_id for found in conn.execute(query).scalars())


def already_exists(kind: Kind, name: str) -> EntityAlreadyExists:
    return EntityAlreadyExists(
        message=f"{kind.value.capitalize()} with name {name} already exists."
    )


def count(conn: sa.Connection, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    return int(
        conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()
    )


@contextmanager
def writing(store: Store, conflict: EntityAlreadyExists) -> Iterator[sa.Connection]:
    """One writing transaction; a unique-constraint race (PostgreSQL) becomes ``conflict``."""
    try:
        with store.begin() as conn:
            yield conn
    except IntegrityError:
        raise conflict from None


def caller_user(ctx: CallContext, params: Mapping[str, Any]) -> str | None:
    """The UserName member, else the calling IAM user's name; None means the root user."""
    value = params.get("UserName")
    if value is not None:
        return str(value)
    if ctx.principal.type is PrincipalType.IAM_USER:
        return ctx.principal.name
    if ctx.principal.type is PrincipalType.ROOT:
        return None
    raise ValidationError(message="Must specify userName when calling with non-User credentials")


def listing(ctx: CallContext, member: str, items: Sequence[Any]) -> dict[str, Any]:
    """One page of ``items`` under ``member``, with IsTruncated and Marker as IAM pages."""
    page, more = ctx.page(items)
    return {member: page, "IsTruncated": False, **more}


def url_document(document: str) -> str:
    """A policy document as IAM puts it on the wire: percent-encoded (RFC 3986)."""
    return quote(document, safe="")


def entity_arn(account: str, kind: Kind, path: str, name: str) -> str:
    return iam_arn(account, kind.value, name, path)


def boundary_out(arn: str | None) -> dict[str, Any]:
    if not arn:
        return {}
    return {
        "PermissionsBoundary": {
            "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
            "PermissionsBoundaryArn": arn,
        }
    }


def user_out(row: Mapping[Any, Any], *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Path": row["path"],
        "UserName": row["name"],
        "UserId": row["user_id"],
        "Arn": row["arn"],
        "CreateDate": row["created_at"],
    }
    if row["password_last_used"] is not None:
        out["PasswordLastUsed"] = row["password_last_used"]
    if full:
        out.update(boundary_out(row["permissions_boundary_arn"]))
        if row["tags"]:
            out["Tags"] = row["tags"]
    return out


def group_out(row: RowMapping) -> dict[str, Any]:
    return {
        "Path": row["path"],
        "GroupName": row["name"],
        "GroupId": row["group_id"],
        "Arn": row["arn"],
        "CreateDate": row["created_at"],
    }


def role_out(row: RowMapping, *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Path": row["path"],
        "RoleName": row["name"],
        "RoleId": row["role_id"],
        "Arn": row["arn"],
        "CreateDate": row["created_at"],
        "AssumeRolePolicyDocument": url_document(row["assume_role_policy"]),
        "MaxSessionDuration": row["max_session_duration"],
    }
    if row["description"] is not None:
        out["Description"] = row["description"]
    if full:
        out.update(boundary_out(row["permissions_boundary_arn"]))
        if row["tags"]:
            out["Tags"] = row["tags"]
        last: dict[str, Any] = {}
        if row["last_used_at"] is not None:
            last["LastUsedDate"] = row["last_used_at"]
            if row["last_used_region"]:
                last["Region"] = row["last_used_region"]
        out["RoleLastUsed"] = last
    return out
