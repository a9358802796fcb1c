"""Snapshots: a base backup streamed to a file, restored into a new instance with all its
databases and roles; a stream that is not a snapshot leaves nothing behind."""

from __future__ import annotations

import io
import os
import secrets
import tarfile
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


def _archive(hostile: tarfile.TarInfo) -> bytes:
    """A stream that looks like a base backup, with one hostile member in the middle."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name in ("PG_VERSION", "base/1/1259"):
            entry = tarfile.TarInfo(name)
            entry.size = 3
            archive.addfile(entry, io.BytesIO(b"17\n"))
        archive.addfile(hostile, io.BytesIO(b"x") if hostile.isreg() else None)
        label = tarfile.TarInfo("backup_label")
        label.size = 1
        archive.addfile(label, io.BytesIO(b"x"))
    return out.getvalue()


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    entry = tarfile.TarInfo(name)
    entry.type, entry.linkname = kind, link
    entry.size = 1 if kind == tarfile.REGTYPE else 0
    return entry


@pytest.mark.parametrize(
    "hostile",
    [
        _member("../outside.txt"),
        _member("base/../../outside.txt"),
        _member("pg_wal", tarfile.SYMTYPE, "{outside}"),
        _member("pg_tblspc/16384", tarfile.SYMTYPE, "../../.."),
        _member("global/hardlink", tarfile.LNKTYPE, "{outside}/victim"),
        _member("global/fifo", tarfile.FIFOTYPE),
        _member("global/null", tarfile.CHRTYPE),
        _member("tablespace_map"),
        _member("recovery.signal"),
        _member("pg_tblspc/16384/PG_17/1"),
    ],
    ids=[
        "dot-dot",
        "nested-dot-dot",
        "absolute-symlink",
        "relative-symlink",
        "hard-link",
        "fifo",
        "device",
        "tablespace-map",
        "recovery-signal",
        "tablespace-contents",
    ],
)
def test_a_hostile_archive_is_refused_and_touches_nothing_outside(
    engine: PostgresEngine, make_spec: MakeSpec, tmp_path: Path, hostile: tarfile.TarInfo
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    os.chmod(tmp_path, 0o711)
    os.chmod(outside, 0o777)  # writable even by the service user: tar must still not write
    (outside / "victim").write_text("untouched")
    hostile.linkname = hostile.linkname.replace("{outside}", str(outside))
    target = make_spec()
    with pytest.raises(SnapshotError):
        engine.restore(target, io.BytesIO(_archive(hostile)))
    assert not target.root.exists()
    assert sorted(p.name for p in outside.iterdir()) == ["victim"]
    assert (outside / "victim").read_text() == "untouched"
    assert not (tmp_path / "outside.txt").exists()


class _DiskFull(io.RawIOBase):
    """A sink that takes the first megabytes, then fails as a full disk does; it notes
    which pg_basebackup processes of ``port`` ran while it was being written."""

    def __init__(self, room: int, port: int) -> None:
        self.room, self.port = room, port
        self.writers: list[int] = []

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        size = len(memoryview(data))  # type: ignore[arg-type]
        self.writers = self.writers or _basebackups(self.port)
        if size > self.room:
            raise OSError(28, "No space left on device")
        self.room -= size
        return size


def _basebackups(port: int) -> list[int]:
    """pg_basebackup processes reading from the server on ``port`` (other tests' servers
    may be taking snapshots meanwhile)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        argv = cmdline.split(b"\0")
        if b"pg_basebackup" in argv[0] and any(f"port='{port}'".encode() in a for a in argv):
            found.append(int(pid))
    return found


def test_a_failed_write_ends_the_backup_and_leaves_no_slot_or_process(
    engine: PostgresEngine, running: Running, tmp_path: Path
) -> None:
    port = running.spec.port
    assert _basebackups(port) == []
    sink = _DiskFull(3 * 1024 * 1024, port)
    with pytest.raises(OSError, match="No space left"):
        engine.snapshot(running.spec, sink)  # type: ignore[arg-type]
    assert len(sink.writers) == 1  # it was running while the sink took data ...
    assert _basebackups(port) == []  # ... and is gone
    assert _slots(running) == []
    with open(tmp_path / "again.tar", "wb") as out:  # and the next snapshot works
        engine.snapshot(running.spec, out)
    assert (tmp_path / "again.tar").stat().st_size > 1_000_000
