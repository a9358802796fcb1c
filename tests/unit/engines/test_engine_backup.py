"""Snapshots: a base backup streamed to a file, restored into a new instance with all its
databases and roles; a stream that is not a snapshot leaves nothing behind."""

from __future__ import annotations

import io
import os
import secrets
from pathlib import Path

import pytest
from engine_helpers import MakeSpec, Running, connect

from warden.engines.base import ADMIN_ROLE, InstanceState
from warden.engines.errors import SnapshotError
from warden.engines.postgres import PostgresEngine

pytestmark = pytest.mark.slow


def _slots(running: Running) -> list[tuple[object, ...]]:
    spec = running.spec
    with connect(spec, ADMIN_ROLE, spec.admin_password.reveal()) as conn:
        return conn.execute("SELECT slot_name FROM pg_replication_slots").fetchall()


def test_snapshot_and_restore_round_trip(
    engine: PostgresEngine, running: Running, make_spec: MakeSpec, tmp_path: Path
) -> None:
    master = running.master
    password = master.password.reveal()
    with connect(running.spec, master.username, password, dbname="appdb") as conn:
        conn.execute("CREATE TABLE ledger (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO ledger SELECT g, md5(g::text) FROM generate_series(1, 20000) g")
        conn.execute("CREATE ROLE auditor LOGIN")
    file = tmp_path / "snap.tar"
    with open(file, "wb") as out:
        engine.snapshot(running.spec, out)
    assert file.stat().st_size > 1_000_000
    assert _slots(running) == []  # the WAL-reserving slot is gone
    with connect(running.spec, master.username, password, dbname="appdb") as conn:
        conn.execute("INSERT INTO ledger VALUES (20001, 'after the snapshot')")

    target = make_spec()
    with open(file, "rb") as source:
        restored = engine.restore(target, source)
    assert restored.state is InstanceState.STOPPED  # recovered, for its server to start once
    assert engine.start(target).state is InstanceState.RUNNING
    # Same master and password (as RDS restores them), the new instance's own admin.
    with connect(target, master.username, password, dbname="appdb") as conn:
        assert conn.execute("SELECT count(*), max(id) FROM ledger").fetchone() == (20000, 20000)
        assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'auditor'").fetchone()
        assert conn.execute("SELECT pg_has_role('rds_superuser', 'MEMBER')").fetchone() == (True,)
    with connect(target, ADMIN_ROLE, target.admin_password.reveal()) as conn:
        assert conn.execute("SHOW port").fetchone() == (str(target.port),)
    engine.destroy(target)


def test_a_stream_that_is_not_a_snapshot(engine: PostgresEngine, make_spec: MakeSpec) -> None:
    target = make_spec()
    with pytest.raises(SnapshotError):
        engine.restore(target, io.BytesIO(secrets.token_bytes(4096)))
    assert not target.root.exists()


class _DiskFull(io.RawIOBase):
    """A sink that takes the first megabytes, then fails as a full disk does."""

    def __init__(self, room: int) -> None:
        self.room = room

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        size = len(memoryview(data))  # type: ignore[arg-type]
        if size > self.room:
            raise OSError(28, "No space left on device")
        self.room -= size
        return size


def _basebackups() -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"pg_basebackup" in cmdline.split(b"\0")[0]:
            found.append(int(pid))
    return found


def test_a_failed_write_ends_the_backup_and_leaves_no_slot_or_process(
    engine: PostgresEngine, running: Running, tmp_path: Path
) -> None:
    before = _basebackups()
    with pytest.raises(OSError, match="No space left"):
        engine.snapshot(running.spec, _DiskFull(3 * 1024 * 1024))  # type: ignore[arg-type]
    assert _basebackups() == before
    assert _slots(running) == []
    with open(tmp_path / "again.tar", "wb") as out:  # and the next snapshot works
        engine.snapshot(running.spec, out)
    assert (tmp_path / "again.tar").stat().st_size > 1_000_000
