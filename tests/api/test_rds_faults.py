"""Faults: a PostgreSQL server killed with -9 comes back by itself; warden killed with -9
in the middle of creating a cluster converges after its restart, adopts the servers that
kept running, and removes volume directories nothing owns."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
from rds_support import RdsServer, processes_in, rds_server, until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RdsServer]:
    with rds_server(tmp_path_factory.mktemp("rds-faults")) as made:
        yield made


@pytest.fixture(scope="module")
def sturdy(server: RdsServer) -> dict[str, Any]:
    return server.make_cluster("sturdy")


def _parent(pid: int) -> int | None:
    """The parent of ``pid``; None when it has exited meanwhile (a backend closing)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[1])
    except (FileNotFoundError, ProcessLookupError):  # gone before open, or between open and read
        return None


def _restart_after_kill(server: RdsServer) -> None:
    proc = server.warden.proc
    assert proc is not None
    proc.kill()  # SIGKILL: no shutdown of any kind
    proc.wait(timeout=30)
    server.warden.proc = None
    server.warden.start()
    server.rds = server.warden.client("rds")
    server.ec2 = server.warden.client("ec2")


def test_a_killed_postgres_comes_back_by_itself(server: RdsServer, sturdy: dict[str, Any]) -> None:
    cluster = sturdy
    with server.connect(cluster) as conn:
        conn.execute("CREATE TABLE t (v int)")
        conn.execute("INSERT INTO t VALUES (42)")
    volume = cluster["DbClusterResourceId"]
    victim = server.postmaster(volume)
    os.kill(victim, signal.SIGKILL)
    until(lambda: server.can_connect(cluster), timeout=30)
    assert server.postmaster(volume) != victim
    with server.connect(cluster) as conn:
        assert conn.execute("SELECT v FROM t").fetchone() == (42,)
    until(
        lambda: any("stopped unexpectedly" in m for m in server.events("sturdy-w", "db-instance"))
    )
    assert server.instance("sturdy-w")["DBInstanceStatus"] == "available"


def test_warden_killed_while_creating_a_cluster_converges(server: RdsServer) -> None:
    rds = server.rds
    rds.create_db_cluster(
        DBClusterIdentifier="crashy",
        Engine="aurora-postgresql",
        MasterUsername="master",
        MasterUserPassword="crash-Passw0rd",
        DatabaseName="app",
    )
    resource_id = server.cluster("crashy")["DbClusterResourceId"]
    made = rds.create_db_instance(
        DBInstanceIdentifier="crashy-w",
        DBClusterIdentifier="crashy",
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
    )["DBInstance"]
    assert made["DBInstanceStatus"] == "creating"
    volumes = server.data_dir / "rds" / "volumes"
    # Kill as soon as the engine has started making the volume (mid-create).
    until(lambda: (volumes / resource_id).exists(), timeout=60, every=0.005)
    _restart_after_kill(server)
    cluster = server.wait_cluster("crashy")
    assert server.wait_instance("crashy-w")["DBInstanceStatus"] == "available"
    with server.connect(cluster, password="crash-Passw0rd") as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("app",)
    pids = processes_in(volumes / resource_id)
    parents = {pid: _parent(pid) for pid in pids}
    roots = [pid for pid, parent in parents.items() if parent is not None and parent not in pids]
    assert roots == [server.postmaster(resource_id)]  # one server, nothing left of the first try


def test_after_a_restart_running_servers_are_adopted_and_orphans_removed(
    server: RdsServer, sturdy: dict[str, Any]
) -> None:
    cluster = sturdy
    volume = cluster["DbClusterResourceId"]
    before = server.postmaster(volume)
    orphan = server.data_dir / "rds" / "volumes" / "cluster-ORPHANEDBYACRASH0000"
    (orphan / "data").mkdir(parents=True)
    _restart_after_kill(server)
    until(lambda: not orphan.exists(), timeout=30)
    time.sleep(1.5)  # a reconciler pass or two after the restart
    assert server.postmaster(volume) == before  # adopted, not restarted
    assert server.can_connect(cluster)
    assert server.cluster("sturdy")["Status"] == "available"
    owned = {c["DbClusterResourceId"] for c in server.rds.describe_db_clusters()["DBClusters"]}
    assert {p.name for p in orphan.parent.iterdir()} == owned
