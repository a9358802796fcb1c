"""Parameter groups and each instance's applied parameter state: values and SQL.

Two kinds of group share one shape: DB cluster parameter groups (ARN type ``cluster-pg``)
and DB parameter groups (``pg``). A group's user-set parameters are name → (value, apply
method). The default groups are not stored; callers treat ``default.<family>`` as a group
with no user values.

The caller owns the transaction; a read-modify-write of a group's parameters reads it
``for_update`` (a row lock on PostgreSQL; SQLite's writer lock covers it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from warden.store.schema import rds_instances
from warden.store.schema.rds_parameter_groups import (
    rds_cluster_parameter_groups,
    rds_db_parameter_groups,
    rds_parameter_apply,
)

IMMEDIATE = "immediate"
PENDING_REBOOT = "pending-reboot"


class GroupKind(Enum):
    CLUSTER = "cluster"
    DB = "db"

    @property
    def table(self) -> sa.Table:
        return (
            rds_cluster_parameter_groups if self is GroupKind.CLUSTER else rds_db_parameter_groups
        )

    @property
    def arn_type(self) -> str:
        return "cluster-pg" if self is GroupKind.CLUSTER else "pg"

    @property
    def label(self) -> str:
        """How RDS names the kind in messages and shapes."""
        return "DBClusterParameterGroup" if self is GroupKind.CLUSTER else "DBParameterGroup"


@dataclass(frozen=True, slots=True)
class UserValue:
    value: str
    method: str  # IMMEDIATE or PENDING_REBOOT


@dataclass(frozen=True, slots=True)
class ParameterGroup:
    kind: GroupKind
    arn: str
    account_id: str
    region: str
    identifier: str
    family: str
    description: str
    parameters: dict[str, UserValue] = field(default_factory=dict)
    tags: tuple[tuple[str, str], ...] = ()
    created_at: datetime | None = None
    default: bool = False


def _parameters_json(values: dict[str, UserValue]) -> dict[str, Any]:
    return {n: {"value": v.value, "method": v.method} for n, v in sorted(values.items())}


def _group(kind: GroupKind, row: RowMapping) -> ParameterGroup:
    raw = dict(row["parameters"] or {})
    return ParameterGroup(
        kind=kind,
        arn=row["arn"],
        account_id=row["account_id"],
        region=row["region"],
        identifier=row["identifier"],
        family=row["family"],
        description=row["description"],
        parameters={n: UserValue(str(v["value"]), str(v["method"])) for n, v in raw.items()},
        tags=tuple((t["Key"], t["Value"]) for t in row["tags"] or []),
        created_at=row["created_at"],
    )


def group(
    conn: Connection,
    kind: GroupKind,
    account_id: str,
    region: str,
    identifier: str,
    *,
    for_update: bool = False,
) -> ParameterGroup | None:
    table = kind.table
    query = sa.select(table).where(
        table.c.account_id == account_id,
        table.c.region == region,
        table.c.identifier == identifier,
    )
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    return None if row is None else _group(kind, row)


def groups(conn: Connection, kind: GroupKind, account_id: str, region: str) -> list[ParameterGroup]:
    table = kind.table
    query = (
        sa.select(table)
        .where(table.c.account_id == account_id, table.c.region == region)
        .order_by(table.c.identifier)
    )
    return [_group(kind, row) for row in conn.execute(query).mappings()]


def count(conn: Connection, kind: GroupKind, account_id: str, region: str) -> int:
    table = kind.table
    query = sa.select(sa.func.count()).where(
        table.c.account_id == account_id, table.c.region == region
    )
    return int(conn.execute(query).scalar_one())


def insert_group(conn: Connection, found: ParameterGroup) -> None:
    conn.execute(
        sa.insert(found.kind.table).values(
            arn=found.arn,
            account_id=found.account_id,
            region=found.region,
            identifier=found.identifier,
            family=found.family,
            description=found.description,
            parameters=_parameters_json(found.parameters),
            tags=[{"Key": k, "Value": v} for k, v in found.tags],
            created_at=found.created_at,
        )
    )


def save_parameters(conn: Connection, found: ParameterGroup, values: dict[str, UserValue]) -> None:
    table = found.kind.table
    conn.execute(
        sa.update(table).where(table.c.arn == found.arn).values(parameters=_parameters_json(values))
    )


def delete_group(conn: Connection, found: ParameterGroup) -> None:
    table = found.kind.table
    conn.execute(sa.delete(table).where(table.c.arn == found.arn))


# -- what each instance's server runs with --------------------------------------------------


@dataclass(frozen=True, slots=True)
class Applied:
    """The reconciler's record of one instance's server (see ``parameter_apply``)."""

    instance_id: str
    boot_groups: tuple[str, ...]  # the groups it was last started with
    boot_values: dict[str, str]  # the parameter values it was last started with
    configured: str  # digest of the desired values last applied (or deferred)
    pending: frozenset[str] = frozenset()  # names that wait for a reboot
    failed: frozenset[str] = frozenset()  # names the engine refused


def _applied(row: RowMapping) -> Applied:
    return Applied(
        instance_id=row["instance_id"],
        boot_groups=tuple(row["boot_groups"] or ()),
        boot_values={str(k): str(v) for k, v in dict(row["boot_values"] or {}).items()},
        configured=row["configured"],
        pending=frozenset(row["pending"] or ()),
        failed=frozenset(row["failed"] or ()),
    )


def applied(conn: Connection, instance_ids: list[str]) -> dict[str, Applied]:
    if not instance_ids:
        return {}
    table = rds_parameter_apply
    query = sa.select(table).where(table.c.instance_id.in_(instance_ids))
    return {row["instance_id"]: _applied(row) for row in conn.execute(query).mappings()}


def save_applied(conn: Connection, record: Applied, at: datetime) -> None:
    """Insert or replace the record (its instance may have gone meanwhile: then nothing)."""
    table = rds_parameter_apply
    values = {
        "boot_groups": list(record.boot_groups),
        "boot_values": dict(sorted(record.boot_values.items())),
        "configured": record.configured,
        "pending": sorted(record.pending),
        "failed": sorted(record.failed),
        "updated_at": at,
    }
    done = conn.execute(
        sa.update(table).where(table.c.instance_id == record.instance_id).values(**values)
    )
    if done.rowcount:
        return
    exists = conn.execute(
        sa.select(rds_instances.c.resource_id).where(
            rds_instances.c.resource_id == record.instance_id
        )
    ).first()
    if exists is not None:
        conn.execute(sa.insert(table).values(instance_id=record.instance_id, **values))
