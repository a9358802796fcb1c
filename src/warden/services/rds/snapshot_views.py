"""DB cluster snapshots in the output shapes (``DBClusterSnapshot``,
``DBClusterSnapshotAttributesResult``), and which snapshots a describe call may see.

A caller sees its own snapshots as ``manual`` or ``automated``; another account's manual
snapshot shared with it (its ``restore`` attribute names the caller) as ``shared``, or as
``public`` when it names ``all``, without that account's tags.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .errors import InvalidParameterValue
from .snapshot_repository import Snapshot, SnapshotType

GIB = 1024**3
TYPES = ("automated", "manual", "shared", "public", "awsbackup")


def snapshot_type_of(snap: Snapshot, viewer: str) -> str:
    if snap.account_id == viewer:
        return snap.snapshot_type.value
    return "public" if snap.public else "shared"


def snapshot_view(snap: Snapshot, viewer: str) -> dict[str, Any]:
    s = snap.settings
    own = snap.account_id == viewer
    out: dict[str, Any] = {
        "AvailabilityZones": [f"{snap.region}{z}" for z in "abc"],
        "DBClusterSnapshotIdentifier": snap.identifier,
        "DBClusterIdentifier": snap.cluster_identifier,
        "SnapshotCreateTime": snap.created_at,
        "Engine": snap.engine,
        "EngineMode": "provisioned",
        "AllocatedStorage": max(1, math.ceil(snap.size_bytes / GIB)),
        "Status": snap.status.value,
        "Port": snap.port,
        "ClusterCreateTime": snap.cluster_created_at,
        "MasterUsername": snap.master_username,
        "EngineVersion": snap.engine_version,
        "LicenseModel": "postgresql-license",
        "SnapshotType": snapshot_type_of(snap, viewer),
        "PercentProgress": snap.progress,
        "StorageEncrypted": snap.storage_encrypted,
        "StorageEncryptionType": "sse-kms" if snap.storage_encrypted else "none",
        "BackupRetentionPeriod": s.backup_retention,
        "PreferredBackupWindow": s.backup_window,
        "DBClusterSnapshotArn": snap.arn,
        "IAMDatabaseAuthenticationEnabled": s.iam_auth,
        "TagList": [{"Key": k, "Value": v} for k, v in snap.tags] if own else [],
        "StorageType": "aurora",
        "DbClusterResourceId": snap.cluster_resource_id,
    }
    if snap.kms_key_id is not None:
        out["KmsKeyId"] = snap.kms_key_id
    if snap.source_arn is not None:
        out["SourceDBClusterSnapshotArn"] = snap.source_arn
    return out


def attributes_view(snap: Snapshot) -> dict[str, Any]:
    return {
        "DBClusterSnapshotIdentifier": snap.identifier,
        "DBClusterSnapshotAttributes": [
            {"AttributeName": "restore", "AttributeValues": list(snap.restore_accounts)}
        ],
    }


def visible(
    own: Sequence[Snapshot],
    others: Sequence[Snapshot],
    viewer: str,
    kind: str | None,
    *,
    include_shared: bool,
    include_public: bool,
) -> list[Snapshot]:
    """The snapshots a DescribeDBClusterSnapshots call sees for its SnapshotType and
    IncludeShared / IncludePublic, as RDS combines them."""
    if kind is not None and kind not in TYPES:
        raise InvalidParameterValue(
            message=f"Invalid snapshot type: {kind}. Valid types: {', '.join(TYPES)}"
        )
    shared = [s for s in others if viewer in s.restore_accounts]
    public = [s for s in others if s.public and viewer not in s.restore_accounts]
    if kind in ("manual", "automated"):
        return [s for s in own if s.snapshot_type.value == kind]
    if kind == "shared":
        return shared
    if kind == "public":
        mine = [s for s in own if s.public and s.snapshot_type is SnapshotType.MANUAL]
        return [*mine, *(s for s in others if s.public)]
    if kind == "awsbackup":
        return []
    return [*own, *(shared if include_shared else ()), *(public if include_public else ())]
