"""Automated backups on a real server whose backup day is shortened to a few seconds
(``WARDEN_RDS_BACKUP_INTERVAL``): an automated snapshot of a new cluster appears, is named
as RDS names them, cannot be deleted through the API, expires after the retention period
and goes with its cluster. The clock-driven schedule itself (window, daily, retention) is
tested against a fixed clock in tests/unit/services/test_rds_snapshots_service.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from rds_support import error_of, rds_server, until

pytestmark = pytest.mark.slow


def test_automated_snapshots_appear_expire_and_go_with_the_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WARDEN_RDS_BACKUP_INTERVAL", "4")
    with rds_server(tmp_path) as server:
        rds = server.rds
        server.make_cluster("auto", BackupRetentionPeriod=1)

        def automated() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = rds.describe_db_cluster_snapshots(
                DBClusterIdentifier="auto", SnapshotType="automated"
            )["DBClusterSnapshots"]
            return found

        first = until(lambda: [s for s in automated() if s["Status"] == "available"], timeout=90)[0]
        name = first["DBClusterSnapshotIdentifier"]
        assert re.fullmatch(r"rds:auto-\d{4}-\d\d-\d\d-\d\d-\d\d", name)
        assert first["SnapshotType"] == "automated"
        assert first["DBClusterSnapshotArn"].endswith(f":cluster-snapshot:{name}")
        manual = rds.describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
        assert manual == []
        with pytest.raises(ClientError) as refused:
            rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=name)
        assert error_of(refused) == (
            "InvalidDBClusterSnapshotStateFault",
            "Only manual snapshots may be deleted.",
        )
        taken = (name, first["SnapshotCreateTime"])
        until(
            lambda: taken not in {
                (s["DBClusterSnapshotIdentifier"], s["SnapshotCreateTime"]) for s in automated()
            },
            timeout=60,
        )  # fmt: skip
        rds.delete_db_instance(DBInstanceIdentifier="auto-w", SkipFinalSnapshot=True)
        until(lambda: not rds.describe_db_instances()["DBInstances"], timeout=60)

        def deleted() -> bool:
            try:
                rds.delete_db_cluster(DBClusterIdentifier="auto", SkipFinalSnapshot=True)
            except ClientError as exc:  # backing-up: a backup is being taken; again
                return bool(exc.response["Error"]["Code"] == "DBClusterNotFoundFault")
            return True

        until(deleted, timeout=60, every=0.5)
        until(lambda: not rds.describe_db_clusters()["DBClusters"], timeout=60)
        until(lambda: not automated(), timeout=30)
        assert not list((server.data_dir / "rds" / "snapshots").glob("*.tar.enc*"))
