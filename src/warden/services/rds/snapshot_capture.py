"""Starting a snapshot of a cluster: the row that records what the cluster is now.

Used by CreateDBClusterSnapshot, by DeleteDBCluster's final snapshot and by the automated
backups. ``capture`` calls KMS (a fresh data key), so it runs before the writing
transaction, which then inserts the row with ``begin_snapshot`` (a manual snapshot's cluster turns
``backing-up``; a final snapshot's stays ``deleting``; an automated one's is left as it is)
and the snapshot worker takes it from there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.engine import Connection

from warden.core.ids import IdFactory
from warden.core.redacted import Redacted

from . import repository as repo
from . import snapshot_repository as snaps
from .core import MANAGED_KEY, Deps
from .errors import cluster_state, snapshot_exists
from .model import Cluster, SourceType, Status, Tags, new_resource_id, rds_arn
from .secrets import Purpose
from .snapshot_keys import SnapshotKeys
from .snapshot_repository import Snapshot, SnapshotStatus, SnapshotType

SNAPSHOT_ID_PREFIX = "cluster-snapshot-"


def seal_master(deps: Deps, snapshot_id: str, password: Redacted[str]) -> bytes:
    return deps.sealer.seal(Purpose.MASTER, snapshot_id, password)


def open_master(deps: Deps, snap: Snapshot) -> Redacted[str]:
    return deps.sealer.open_text(Purpose.MASTER, snap.snapshot_id, snap.master_password)


def capture(
    deps: Deps,
    cluster: Cluster,
    identifier: str,
    kind: SnapshotType,
    at: datetime,
    tags: Tags,
    *,
    final: bool = False,
) -> Snapshot:
    """A ``creating`` snapshot of ``cluster`` (not yet stored), its file key made."""
    settings = cluster.volume.settings
    snapshot_id = new_resource_id(deps.ids, SNAPSHOT_ID_PREFIX)
    arn = rds_arn(cluster.region, cluster.account_id, "cluster-snapshot", identifier)
    kms = (settings.kms_key_id or MANAGED_KEY) if settings.storage_encrypted else None
    wrapped = SnapshotKeys(deps).wrap_new(
        account_id=cluster.account_id,
        region=cluster.region,
        arn=arn,
        snapshot_id=snapshot_id,
        kms_key_id=kms,
    )
    master = deps.specs.master(cluster.volume)
    return Snapshot(
        snapshot_id=snapshot_id,
        account_id=cluster.account_id,
        region=cluster.region,
        identifier=identifier,
        arn=arn,
        snapshot_type=kind,
        status=SnapshotStatus.CREATING,
        cluster_identifier=cluster.identifier,
        cluster_resource_id=cluster.resource_id,
        cluster_created_at=cluster.created_at,
        engine=cluster.engine,
        engine_version=cluster.engine_version,
        port=cluster.volume.port,
        master_username=master.username,
        master_password=seal_master(deps, snapshot_id, master.password),
        settings=settings,
        kms_key_id=wrapped.kms_key_id,
        data_key=wrapped.blob,
        created_at=at,
        final=final,
        tags=tags,
    )


def begin_snapshot(
    conn: Connection, ids: IdFactory, snap: Snapshot, cluster_status: Status
) -> None:
    """Inside the writing transaction: refuse a taken identifier, check the cluster is still
    ``cluster_status`` and store the snapshot with its event. A manual snapshot turns an
    available cluster ``backing-up`` until it is taken; an automated one leaves the status
    alone (as Aurora's continuous backups do); a final one's cluster is already deleting."""
    if snaps.find(conn, snap.account_id, snap.region, snap.identifier) is not None:
        raise snapshot_exists(snap.identifier)
    found = repo.cluster_by_id(conn, snap.cluster_resource_id)
    if found is None or found.status is not cluster_status:
        raise cluster_state(snap.cluster_identifier, found.status.value if found else "deleted")
    if holds_cluster(snap) and not repo.set_status(
        conn, SourceType.CLUSTER, found.resource_id, Status.BACKING_UP, [Status.AVAILABLE]
    ):
        raise cluster_state(snap.cluster_identifier, "changing")
    snaps.insert(conn, snap)
    kind = "automated" if snap.snapshot_type is SnapshotType.AUTOMATED else "manual"
    record(conn, ids, snap, f"Creating {kind} cluster snapshot", ("backup",), snap.created_at)


def holds_cluster(snap: Snapshot) -> bool:
    """Whether the snapshot keeps its cluster ``backing-up`` while it is taken."""
    return snap.snapshot_type is SnapshotType.MANUAL and not snap.final


def record(
    conn: Connection,
    ids: IdFactory,
    snap: Snapshot,
    message: str,
    categories: Sequence[str],
    at: datetime,
) -> None:
    """An event of source type db-cluster-snapshot."""
    repo.insert_event(
        conn,
        event_id=ids.request_id(),
        account_id=snap.account_id,
        region=snap.region,
        source_type=SourceType.CLUSTER_SNAPSHOT,
        source_id=snap.identifier,
        source_arn=snap.arn,
        message=message,
        categories=categories,
        at=at,
    )


def cluster_tags(cluster: Cluster, requested: Tags) -> Tags:
    """A new snapshot's tags: those requested, else the cluster's when CopyTagsToSnapshot."""
    if requested:
        return requested
    return cluster.tags if cluster.volume.settings.copy_tags else ()
