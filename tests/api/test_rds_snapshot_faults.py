"""Faults: warden killed with -9 in the middle of writing a snapshot converges after its
restart: the snapshot is taken again (or fails with nothing left of it), no partial file
stays, the cluster is available again, and the snapshot restores with the data.

``WARDEN_TEST_SNAPSHOT_PAUSE`` (the server's test hook) blocks the snapshot once its first
sealed chunk is on disk, so the kill lands mid-snapshot every time."""

from __future__ import annotations

from pathlib import Path

import pytest
from rds_support import RdsServer, until

pytestmark = pytest.mark.slow


def test_warden_killed_during_a_snapshot_converges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WARDEN_TEST_SNAPSHOT_PAUSE", "1")
    server = RdsServer(tmp_path)
    try:
        cluster = server.make_cluster("crash")
        with server.connect(cluster) as conn:
            conn.execute("CREATE TABLE kept AS SELECT g AS id FROM generate_series(1, 5000) g")
        server.rds.create_db_cluster_snapshot(
            DBClusterSnapshotIdentifier="crash-1", DBClusterIdentifier="crash"
        )
        until(lambda: "snapshot crash-1 paused" in server.warden.log.read_text(), timeout=60)
        folder = server.data_dir / "rds" / "snapshots"
        partial = list(folder.glob("*.partial"))
        assert len(partial) == 1 and partial[0].stat().st_size > 0
        assert server.cluster("crash")["Status"] == "backing-up"

        monkeypatch.delenv("WARDEN_TEST_SNAPSHOT_PAUSE")
        proc = server.warden.proc
        assert proc is not None
        proc.kill()  # SIGKILL: no shutdown of any kind
        proc.wait(timeout=30)
        server.warden.proc = None
        server.warden.start()
        server.rds = server.warden.client("rds")
        server.ec2 = server.warden.client("ec2")

        def settled() -> str | None:
            found = server.rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier="crash-1")[
                "DBClusterSnapshots"
            ][0]
            return None if found["Status"] == "creating" else str(found["Status"])

        outcome = until(settled, timeout=120)
        assert not list(folder.glob("*.partial"))
        assert server.wait_cluster("crash")["Status"] == "available"
        if outcome == "failed":  # allowed, as long as nothing is left of it
            assert not list(folder.glob("*.tar.enc"))
            return
        assert outcome == "available"
        server.rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier="after", SnapshotIdentifier="crash-1", Engine="aurora-postgresql"
        )
        server.rds.create_db_instance(
            DBInstanceIdentifier="after-w", DBClusterIdentifier="after",
            Engine="aurora-postgresql", DBInstanceClass="db.r6g.large",
        )  # fmt: skip
        server.wait_instance("after-w")
        with server.connect(server.wait_cluster("after")) as conn:
            assert conn.execute("SELECT count(*) FROM kept").fetchone() == (5000,)
    finally:
        server.close()
