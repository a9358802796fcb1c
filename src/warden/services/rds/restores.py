"""RestoreDBClusterFromSnapshot: a new DB cluster whose volume holds the snapshot's data.

The API records the cluster (``creating``) with a new volume (its own port, TLS certificate
and admin password; the snapshot's master user and password, as RDS restores them) and a
restore row naming the snapshot, and answers at once. The snapshot worker fills the
volume from the snapshot file; only then does the cluster become ``available``, and an
instance created meanwhile waits for it. Encryption follows RDS: the restored cluster is
encrypted when the snapshot is (under ``KmsKeyId``, else the snapshot's key) or when
``KmsKeyId`` is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warden.services.context import CallContext

from . import inputs
from . import repository as repo
from . import snapshot_repository as snaps
from .attributes import UNSUPPORTED_ON_CREATE, create_settings, refuse_unsupported
from .core import Deps
from .errors import (
    DBClusterAlreadyExistsFault,
    InvalidDBClusterSnapshotStateFault,
    InvalidParameterCombination,
    InvalidParameterValue,
    not_supported,
    snapshot_not_found,
)
from .model import Cluster, DbSettings, Status, new_resource_id, rds_arn
from .snapshot_capture import open_master
from .snapshot_repository import Snapshot, SnapshotStatus
from .snapshots import find_snapshot
from .views import cluster_view
from .volumes import VolumeRequest, check_port, encryption, new_volume

UNSUPPORTED_ON_RESTORE = {
    **UNSUPPORTED_ON_CREATE,
    "ScalingConfiguration": "Aurora Serverless v1",
    "BacktrackWindow": "Backtrack",
    "RdsCustomClusterConfiguration": "RDS Custom",
    "EnableInternetAccessGateway": "Internet access gateways",
}


def _settings_of(
    deps: Deps, ctx: CallContext, params: Mapping[str, Any], snap: Snapshot
) -> DbSettings:
    """The new cluster's attributes: the request's, else the snapshot's data's (database
    name, backup retention and window), else RDS's defaults."""
    name = params.get("DatabaseName")
    if name and name != snap.settings.database_name:
        raise InvalidParameterCombination(
            message=f"DatabaseName {name} is not a database of the snapshot; a restored "
            "cluster keeps the snapshot's databases."
        )
    settings = create_settings(deps, ctx, {**params, "DatabaseName": None}, snap.engine,
                               cluster=True)  # fmt: skip
    kept: dict[str, Any] = {"database_name": snap.settings.database_name}
    if params.get("BackupRetentionPeriod") is None:
        kept["backup_retention"] = snap.settings.backup_retention
    if params.get("PreferredBackupWindow") is None:
        kept["backup_window"] = snap.settings.backup_window
    return settings.but(**kept)


class RestoreOps:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def restore_db_cluster_from_snapshot(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        deps = self.deps
        ident = inputs.identifier(params["DBClusterIdentifier"], "DBClusterIdentifier")
        refuse_unsupported(params, UNSUPPORTED_ON_RESTORE)
        if params.get("EngineMode") not in (None, "provisioned"):
            raise not_supported(f"Engine mode {params['EngineMode']}")
        with deps.store.read() as conn:
            snap = find_snapshot(conn, ctx, params["SnapshotIdentifier"])
            if repo.cluster(conn, ctx.account_id, ctx.region, ident) is not None:
                raise DBClusterAlreadyExistsFault(message="DB Cluster already exists")
        if snap.status is not SnapshotStatus.AVAILABLE:
            raise InvalidDBClusterSnapshotStateFault(
                message=f"DBClusterSnapshot {snap.identifier} is not in the available state."
            )
        engine = str(params["Engine"])
        if engine != snap.engine:
            raise InvalidParameterValue(
                message=f"The engine {engine} is not compatible with the snapshot's engine "
                f"{snap.engine}."
            )
        version = inputs.engine_version(
            params.get("EngineVersion") or snap.engine_version, engine, deps.engine_version
        )
        settings = _settings_of(deps, ctx, params, snap)
        requested_key = params.get("KmsKeyId")
        if requested_key and snap.kms_key_id:  # the snapshot's own key opens its file
            encryption(deps, ctx, True, snap.kms_key_id)
        encrypted, key = encryption(
            deps, ctx, True if snap.storage_encrypted or requested_key else None,
            requested_key or snap.kms_key_id,
        )  # fmt: skip
        resource_id = new_resource_id(deps.ids, "cluster-")
        volume = new_volume(
            deps,
            VolumeRequest(
                resource_id, ctx.account_id, ctx.region, ident, snap.master_username,
                open_master(deps, snap), inputs.port(params.get("Port")),
                settings.but(storage_encrypted=encrypted, kms_key_id=key),
            ),
        )  # fmt: skip
        cluster = Cluster(
            resource_id=resource_id,
            account_id=ctx.account_id,
            region=ctx.region,
            identifier=ident,
            arn=rds_arn(ctx.region, ctx.account_id, "cluster", ident),
            engine=engine,
            engine_version=version,
            status=Status.CREATING,
            volume=volume,
            created_at=ctx.now,
            tags=inputs.tags(params.get("Tags")),
        )
        with deps.store.begin() as conn:
            if repo.cluster(conn, ctx.account_id, ctx.region, ident) is not None:
                raise DBClusterAlreadyExistsFault(message="DB Cluster already exists")
            current = snaps.by_id(conn, snap.snapshot_id)
            if current is None or current.status is not SnapshotStatus.AVAILABLE:
                raise snapshot_not_found(snap.identifier)
            check_port(conn, volume.port)
            repo.insert_cluster(conn, cluster)
            snaps.insert_restore(conn, resource_id, snap.snapshot_id, ctx.now)
        return {"DBCluster": cluster_view(cluster, [], deps.specs.host)}
