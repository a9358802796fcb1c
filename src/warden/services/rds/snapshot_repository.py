"""DB cluster snapshots as values, and reading and writing them (and pending restores).

A ``Snapshot`` is what the cluster was when it was taken (engine, port, master user and its
sealed password, ``DbSettings``) plus its file's sealed data key. The caller owns the
transaction; status changes are compare-and-set, as for clusters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from warden.store.schema.rds_snapshots import rds_cluster_restores as restores_t
from warden.store.schema.rds_snapshots import rds_cluster_snapshots as snapshots_t

from .model import DbSettings, Tags

PUBLIC = "all"


class SnapshotStatus(StrEnum):
    CREATING = "creating"
    COPYING = "copying"
    AVAILABLE = "available"
    FAILED = "failed"


class SnapshotType(StrEnum):
    MANUAL = "manual"
    AUTOMATED = "automated"


BUSY = (SnapshotStatus.CREATING, SnapshotStatus.COPYING)


@dataclass(frozen=True, slots=True)
class Snapshot:
    snapshot_id: str
    account_id: str
    region: str
    identifier: str
    arn: str
    snapshot_type: SnapshotType
    status: SnapshotStatus
    cluster_identifier: str
    cluster_resource_id: str
    cluster_created_at: datetime
    engine: str
    engine_version: str
    port: int
    master_username: str
    master_password: bytes  # sealed by the key ring for this snapshot
    settings: DbSettings
    kms_key_id: str | None  # set exactly when the snapshot is StorageEncrypted
    data_key: bytes  # KMS ciphertext blob, or sealed by the key ring
    created_at: datetime
    final: bool = False
    source_snapshot_id: str | None = None
    source_arn: str | None = None
    size_bytes: int = 0
    progress: int = 0
    attempts: int = 0
    restore_accounts: tuple[str, ...] = ()
    tags: Tags = field(default=())

    @property
    def storage_encrypted(self) -> bool:
        return self.kms_key_id is not None

    @property
    def public(self) -> bool:
        return PUBLIC in self.restore_accounts

    def tag_map(self) -> dict[str, str]:
        return dict(self.tags)

    def shared_with(self, account_id: str) -> bool:
        return self.public or account_id in self.restore_accounts


def _row(row: RowMapping) -> Snapshot:
    return Snapshot(
        snapshot_id=row["snapshot_id"],
        account_id=row["account_id"],
        region=row["region"],
        identifier=row["identifier"],
        arn=row["arn"],
        snapshot_type=SnapshotType(row["snapshot_type"]),
        status=SnapshotStatus(row["status"]),
        cluster_identifier=row["cluster_identifier"],
        cluster_resource_id=row["cluster_resource_id"],
        cluster_created_at=row["cluster_created_at"],
        engine=row["engine"],
        engine_version=row["engine_version"],
        port=row["port"],
        master_username=row["master_username"],
        master_password=bytes(row["master_password"]),
        settings=DbSettings.from_json(dict(row["settings"] or {})),
        kms_key_id=row["kms_key_id"],
        data_key=bytes(row["data_key"]),
        created_at=row["created_at"],
        final=bool(row["final"]),
        source_snapshot_id=row["source_snapshot_id"],
        source_arn=row["source_arn"],
        size_bytes=row["size_bytes"],
        progress=row["progress"],
        attempts=row["attempts"],
        restore_accounts=tuple(row["restore_accounts"] or ()),
        tags=tuple((t["Key"], t["Value"]) for t in row["tags"] or []),
    )


def insert(conn: Connection, snap: Snapshot) -> None:
    conn.execute(
        sa.insert(snapshots_t).values(
            snapshot_id=snap.snapshot_id,
            account_id=snap.account_id,
            region=snap.region,
            identifier=snap.identifier,
            arn=snap.arn,
            snapshot_type=snap.snapshot_type.value,
            status=snap.status.value,
            final=snap.final,
            cluster_identifier=snap.cluster_identifier,
            cluster_resource_id=snap.cluster_resource_id,
            cluster_created_at=snap.cluster_created_at,
            source_snapshot_id=snap.source_snapshot_id,
            source_arn=snap.source_arn,
            engine=snap.engine,
            engine_version=snap.engine_version,
            port=snap.port,
            master_username=snap.master_username,
            master_password=snap.master_password,
            settings=snap.settings.to_json(),
            storage_encrypted=snap.storage_encrypted,
            kms_key_id=snap.kms_key_id,
            data_key=snap.data_key,
            size_bytes=snap.size_bytes,
            progress=snap.progress,
            attempts=snap.attempts,
            restore_accounts=list(snap.restore_accounts),
            tags=[{"Key": k, "Value": v} for k, v in snap.tags],
            created_at=snap.created_at,
        )
    )


def _one(conn: Connection, query: sa.Select[Any]) -> Snapshot | None:
    row = conn.execute(query).mappings().first()
    return None if row is None else _row(row)


def find(conn: Connection, account_id: str, region: str, identifier: str) -> Snapshot | None:
    return _one(
        conn,
        sa.select(snapshots_t).where(
            snapshots_t.c.account_id == account_id,
            snapshots_t.c.region == region,
            snapshots_t.c.identifier == identifier,
        ),
    )


def by_arn(conn: Connection, arn: str) -> Snapshot | None:
    return _one(conn, sa.select(snapshots_t).where(snapshots_t.c.arn == arn))


def by_id(conn: Connection, snapshot_id: str) -> Snapshot | None:
    return _one(conn, sa.select(snapshots_t).where(snapshots_t.c.snapshot_id == snapshot_id))


def listed(
    conn: Connection, account_id: str | None = None, region: str | None = None
) -> list[Snapshot]:
    """Snapshots of one account and region (every snapshot when not given), oldest first."""
    query = sa.select(snapshots_t).order_by(snapshots_t.c.created_at, snapshots_t.c.identifier)
    if account_id is not None:
        query = query.where(snapshots_t.c.account_id == account_id, snapshots_t.c.region == region)
    return [_row(row) for row in conn.execute(query).mappings()]


def others_in(conn: Connection, account_id: str, region: str) -> list[Snapshot]:
    """Manual snapshots of other accounts in the region (shared or public ones among them)."""
    query = (
        sa.select(snapshots_t)
        .where(
            snapshots_t.c.account_id != account_id,
            snapshots_t.c.region == region,
            snapshots_t.c.snapshot_type == SnapshotType.MANUAL.value,
        )
        .order_by(snapshots_t.c.created_at, snapshots_t.c.identifier)
    )
    return [_row(row) for row in conn.execute(query).mappings()]


def of_cluster(conn: Connection, cluster_resource_id: str) -> list[Snapshot]:
    query = (
        sa.select(snapshots_t)
        .where(snapshots_t.c.cluster_resource_id == cluster_resource_id)
        .order_by(snapshots_t.c.created_at)
    )
    return [_row(row) for row in conn.execute(query).mappings()]


def busy(conn: Connection) -> list[Snapshot]:
    """Snapshots being taken or copied, oldest first."""
    query = (
        sa.select(snapshots_t)
        .where(snapshots_t.c.status.in_([s.value for s in BUSY]))
        .order_by(snapshots_t.c.created_at)
    )
    return [_row(row) for row in conn.execute(query).mappings()]


def taking(conn: Connection, cluster_resource_id: str) -> bool:
    """Whether a snapshot of the cluster is being taken (its data still being read)."""
    query = sa.select(snapshots_t.c.snapshot_id).where(
        snapshots_t.c.cluster_resource_id == cluster_resource_id,
        snapshots_t.c.status == SnapshotStatus.CREATING.value,
    )
    return conn.execute(query.limit(1)).first() is not None


def update(conn: Connection, snapshot_id: str, **values: Any) -> None:
    conn.execute(
        sa.update(snapshots_t).where(snapshots_t.c.snapshot_id == snapshot_id).values(**values)
    )


def set_status(
    conn: Connection,
    snapshot_id: str,
    new: SnapshotStatus,
    expected: Iterable[SnapshotStatus],
    **values: Any,
) -> bool:
    result = conn.execute(
        sa.update(snapshots_t)
        .where(
            snapshots_t.c.snapshot_id == snapshot_id,
            snapshots_t.c.status.in_([s.value for s in expected]),
        )
        .values(status=new.value, **values)
    )
    return result.rowcount == 1


def delete(conn: Connection, snapshot_id: str) -> None:
    conn.execute(sa.delete(snapshots_t).where(snapshots_t.c.snapshot_id == snapshot_id))


def in_use(conn: Connection, snapshot_id: str) -> bool:
    """Whether a copy or a restore still reads the snapshot's file."""
    copying = sa.select(snapshots_t.c.snapshot_id).where(
        snapshots_t.c.source_snapshot_id == snapshot_id,
        snapshots_t.c.status == SnapshotStatus.COPYING.value,
    )
    restoring = sa.select(restores_t.c.cluster_id).where(restores_t.c.snapshot_id == snapshot_id)
    return (
        conn.execute(copying.limit(1)).first() is not None
        or conn.execute(restoring.limit(1)).first() is not None
    )


# -- restores -----------------------------------------------------------------------------


def insert_restore(conn: Connection, cluster_id: str, snapshot_id: str, at: datetime) -> None:
    conn.execute(
        sa.insert(restores_t).values(cluster_id=cluster_id, snapshot_id=snapshot_id, created_at=at)
    )


def restores(conn: Connection) -> dict[str, str]:
    """Cluster resource id → the snapshot its volume is still to be restored from."""
    rows = conn.execute(sa.select(restores_t.c.cluster_id, restores_t.c.snapshot_id))
    return {cluster: snap for cluster, snap in rows}


def restoring(conn: Connection, cluster_id: str) -> bool:
    query = sa.select(restores_t.c.cluster_id).where(restores_t.c.cluster_id == cluster_id)
    return conn.execute(query).first() is not None


def delete_restore(conn: Connection, cluster_id: str) -> None:
    conn.execute(sa.delete(restores_t).where(restores_t.c.cluster_id == cluster_id))
