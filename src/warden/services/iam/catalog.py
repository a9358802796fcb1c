"""Managed policies as one catalogue: the AWS managed ones shipped with warden and the
account's customer managed ones in the store, resolved by ARN.

Invariants: an AWS managed policy is read-only (``UnmodifiableEntity`` on any write);
a customer policy of another account does not exist for the caller. A customer
policy's ``attachment_count`` and ``permissions_boundary_usage_count`` are kept in
step with the attachments and boundaries in the same transaction that changes them;
for AWS managed policies (no row) both are counted from the account's entities.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import RowMapping

from warden.store.schema import iam_attachments, iam_managed_policies, iam_roles, iam_users

from .entities import count
from .errors import NoSuchEntity, UnmodifiableEntity
from .inputs import PolicyArn, parse_policy_arn
from .managed_policies import ManagedPolicy, aws_managed

MAX_VERSIONS = 5


@dataclass(frozen=True, slots=True)
class Policy:
    """A resolved managed policy: exactly one of ``shipped`` / ``row`` is set."""

    arn: PolicyArn
    shipped: ManagedPolicy | None
    row: RowMapping | None

    @property
    def default_version(self) -> str:
        if self.shipped is not None:
            return self.shipped.default_version_id
        return str(self._row["default_version_id"])

    @property
    def _row(self) -> RowMapping:
        if self.row is None:
            raise UnmodifiableEntity(message=f"Cannot modify AWS managed policy {self.arn.arn}.")
        return self.row

    def writable(self) -> RowMapping:
        """The customer policy's row; an AWS managed policy cannot be changed."""
        return self._row


def not_found(arn: str) -> NoSuchEntity:
    return NoSuchEntity(message=f"Policy {arn} does not exist or is not attachable.")


def resolve(conn: sa.Connection, account: str, text: str, *, lock: bool = False) -> Policy:
    arn = parse_policy_arn(text)
    if arn.aws_managed:
        shipped = aws_managed().get(arn.arn)
        if shipped is None:
            raise not_found(arn.arn)
        return Policy(arn, shipped, None)
    if arn.account != account:
        raise not_found(arn.arn)
    query = sa.select(iam_managed_policies).where(
        iam_managed_policies.c.account_id == account, iam_managed_policies.c.arn == arn.arn
    )
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        raise not_found(arn.arn)
    return Policy(arn, None, row)


def aws_policy_id(arn: str) -> str:
    """A stable ``ANPA…`` id for a shipped AWS policy (its data has none)."""
    digest = base64.b32encode(hashlib.sha256(arn.encode()).digest()).decode()
    return "ANPA" + digest[:17]


def usage(conn: sa.Connection, account: str, policy: Policy) -> tuple[int, int]:
    """(AttachmentCount, PermissionsBoundaryUsageCount) of ``policy`` in ``account``."""
    if policy.row is not None:
        return int(policy.row["attachment_count"]), int(
            policy.row["permissions_boundary_usage_count"]
        )
    arn = policy.arn.arn
    attached = count(
        conn,
        iam_attachments,
        iam_attachments.c.account_id == account,
        iam_attachments.c.policy_arn == arn,
    )
    bounded = count(
        conn,
        iam_users,
        iam_users.c.account_id == account,
        iam_users.c.permissions_boundary_arn == arn,
    ) + count(
        conn,
        iam_roles,
        iam_roles.c.account_id == account,
        iam_roles.c.permissions_boundary_arn == arn,
    )
    return attached, bounded


def adjust(
    conn: sa.Connection, arn: str | None, *, attachments: int = 0, boundaries: int = 0
) -> None:
    """Move a customer policy's counters (no-op for AWS managed policies and ``None``)."""
    if not arn or (attachments == 0 and boundaries == 0):
        return
    col = iam_managed_policies.c
    conn.execute(
        iam_managed_policies.update()
        .where(col.arn == arn)
        .values(
            attachment_count=col.attachment_count + attachments,
            permissions_boundary_usage_count=col.permissions_boundary_usage_count + boundaries,
        )
    )


def aws_usage(conn: sa.Connection, account: str) -> dict[str, tuple[int, int]]:
    """(AttachmentCount, PermissionsBoundaryUsageCount) of every AWS managed policy in use,
    in three queries however many there are (ListPolicies)."""
    counts: dict[str, list[int]] = {}
    attached = conn.execute(
        sa.select(iam_attachments.c.policy_arn, sa.func.count())
        .where(iam_attachments.c.account_id == account)
        .group_by(iam_attachments.c.policy_arn)
    )
    for arn, n in attached:
        counts.setdefault(arn, [0, 0])[0] += n
    for table in (iam_users, iam_roles):
        col = table.c.permissions_boundary_arn
        bounded = conn.execute(
            sa.select(col, sa.func.count())
            .where(table.c.account_id == account, col.is_not(None))
            .group_by(col)
        )
        for arn, n in bounded:
            counts.setdefault(arn, [0, 0])[1] += n
    return {arn: (a, b) for arn, (a, b) in counts.items() if arn in aws_managed()}


def policy_out(
    conn: sa.Connection,
    account: str,
    policy: Policy,
    *,
    detail: bool = True,
    counts: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The ``Policy`` shape; ``detail`` adds Description and Tags (GetPolicy, CreatePolicy)."""
    attached, bounded = counts if counts is not None else usage(conn, account, policy)
    created: datetime
    if policy.shipped is not None:
        s = policy.shipped
        policy_id, created, updated, desc, tags = (
            aws_policy_id(s.arn),
            s.create_date,
            s.update_date,
            s.description,
            [],
        )
    else:
        r = policy.writable()
        policy_id, created, updated, desc, tags = (
            r["policy_id"],
            r["created_at"],
            r["updated_at"],
            r["description"],
            r["tags"],
        )
    out: dict[str, Any] = {
        "PolicyName": policy.arn.name,
        "PolicyId": policy_id,
        "Arn": policy.arn.arn,
        "Path": policy.arn.path,
        "DefaultVersionId": policy.default_version,
        "AttachmentCount": attached,
        "PermissionsBoundaryUsageCount": bounded,
        "IsAttachable": True,
        "CreateDate": created,
        "UpdateDate": updated,
    }
    if detail:
        if desc:
            out["Description"] = desc
        if tags:
            out["Tags"] = tags
    return out
