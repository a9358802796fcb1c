"""Helpers for the RDS black-box tests: a server of their own, waiting, connecting.

Managed PostgreSQL servers outlive a stopped warden by design, so ``RdsServer.close``
first deletes every DB instance and cluster through the API and then, as a safety net,
kills whatever process still works in the data directory (only pids whose working
directory is inside it: nothing else is touched).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from botocore.exceptions import ClientError
from harness import Warden, free_port

PASSWORD = "initial-Passw0rd"
Conn = psycopg.Connection[tuple[Any, ...]]


def until(check: Callable[[], Any], timeout: float = 60.0, every: float = 0.2) -> Any:
    """Poll ``check`` until it returns a truthy value; the value, or AssertionError."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out waiting (last: {last!r})")


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    """(code, message) of a ClientError."""
    response: Any = exc.value.response
    return str(response["Error"]["Code"]), str(response["Error"].get("Message", ""))


class RdsServer:
    def __init__(self, base: Path) -> None:
        self.warden = Warden(base / "data", free_port())
        out = self.warden.init("--account-id", "123456789012")
        if out.returncode != 0:
            raise RuntimeError(out.stderr)
        self.warden.start()
        self.rds: Any = self.warden.client("rds")
        self.ec2: Any = self.warden.client("ec2")

    @property
    def data_dir(self) -> Path:
        return self.warden.data_dir

    @property
    def ca(self) -> str:
        return self.warden.ca

    # -- waiting -----------------------------------------------------------------------

    def cluster(self, ident: str) -> dict[str, Any]:
        found: dict[str, Any] = self.rds.describe_db_clusters(DBClusterIdentifier=ident)[
            "DBClusters"
        ][0]
        return found

    def instance(self, ident: str) -> dict[str, Any]:
        found: dict[str, Any] = self.rds.describe_db_instances(DBInstanceIdentifier=ident)[
            "DBInstances"
        ][0]
        return found

    def wait_cluster(self, ident: str) -> dict[str, Any]:
        self.rds.get_waiter("db_cluster_available").wait(
            DBClusterIdentifier=ident, WaiterConfig={"Delay": 1, "MaxAttempts": 90}
        )
        return self.cluster(ident)

    def wait_instance(self, ident: str) -> dict[str, Any]:
        self.rds.get_waiter("db_instance_available").wait(
            DBInstanceIdentifier=ident, WaiterConfig={"Delay": 1, "MaxAttempts": 90}
        )
        return self.instance(ident)

    def make_cluster(self, ident: str, *, instance: bool = True, **extra: Any) -> dict[str, Any]:
        """A cluster (with its writer instance ``<ident>-w``), available."""
        self.rds.create_db_cluster(
            DBClusterIdentifier=ident,
            Engine="aurora-postgresql",
            MasterUsername="master",
            MasterUserPassword=PASSWORD,
            DatabaseName="app",
            **extra,
        )
        if instance:
            self.rds.create_db_instance(
                DBInstanceIdentifier=f"{ident}-w",
                DBClusterIdentifier=ident,
                Engine="aurora-postgresql",
                DBInstanceClass="db.r6g.large",
            )
            self.wait_instance(f"{ident}-w")
        return self.wait_cluster(ident)

    def events(self, ident: str, kind: str = "db-cluster") -> list[str]:
        found = self.rds.describe_events(SourceType=kind, SourceIdentifier=ident)["Events"]
        return [e["Message"] for e in found]

    # -- connecting --------------------------------------------------------------------

    def connect(
        self,
        cluster: dict[str, Any],
        *,
        password: str = PASSWORD,
        user: str = "master",
        port: int | None = None,
        dbname: str = "app",
    ) -> Conn:
        return psycopg.connect(
            host=cluster["Endpoint"],
            port=port or cluster["Port"],
            user=user,
            password=password,
            dbname=dbname,
            sslmode="verify-full",
            sslrootcert=self.ca,
            gssencmode="disable",
            connect_timeout=5,
            autocommit=True,
        )

    def can_connect(self, cluster: dict[str, Any], **kw: Any) -> bool:
        try:
            with self.connect(cluster, **kw) as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError:
            return False
        return True

    def postmaster(self, resource_id: str) -> int:
        pid_file = self.data_dir / "rds" / "volumes" / resource_id / "data" / "postmaster.pid"
        return int(pid_file.read_text().splitlines()[0])

    # -- teardown ----------------------------------------------------------------------

    def delete_everything(self) -> None:
        for inst in self.rds.describe_db_instances()["DBInstances"]:
            with contextlib.suppress(ClientError):
                self.rds.delete_db_instance(
                    DBInstanceIdentifier=inst["DBInstanceIdentifier"], SkipFinalSnapshot=True
                )
        until(lambda: not self.rds.describe_db_instances()["DBInstances"], timeout=60)

        def clusters_gone() -> bool:
            # A cluster still modifying refuses deletion: ask again until it is gone.
            remaining = self.rds.describe_db_clusters()["DBClusters"]
            for cluster in remaining:
                ident = cluster["DBClusterIdentifier"]
                with contextlib.suppress(ClientError):
                    self.rds.modify_db_cluster(DBClusterIdentifier=ident, DeletionProtection=False)
                with contextlib.suppress(ClientError):
                    self.rds.delete_db_cluster(DBClusterIdentifier=ident, SkipFinalSnapshot=True)
            return not remaining

        until(clusters_gone, timeout=60, every=1.0)

    def close(self) -> None:
        try:
            if self.warden.proc is not None:
                self.delete_everything()
        finally:
            for client in (self.rds, self.ec2):
                client.close()
            self.warden.stop()
            kill_processes_in(self.data_dir)


def processes_in(root: Path) -> list[int]:
    """Pids whose working directory is inside ``root``."""
    found = []
    target = str(root.resolve())
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            cwd = os.readlink(f"/proc/{entry}/cwd")
            if cwd == target or cwd.startswith(target + "/"):
                found.append(int(entry))
    return found


def kill_processes_in(root: Path) -> None:
    for pid in processes_in(root):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def rds_server(base: Path) -> Iterator[RdsServer]:
    server = RdsServer(base)
    try:
        yield server
    finally:
        server.close()
