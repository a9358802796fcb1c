"""Snapshots: a physical base backup as one tar stream, and restoring it into a new instance.

Physical rather than logical: an Aurora cluster snapshot holds every database and every
role, which ``pg_basebackup`` captures in one consistent copy, and restoring is a file
extraction plus WAL replay instead of ``pg_restore`` re-inserting rows and rebuilding
indexes — the fastest restore with the data.

``pg_basebackup -D - -Ft -X fetch`` writes a single tar (data files, the WAL needed to make
them consistent, the manifest) to stdout, which is copied to the caller's binary stream in
chunks, so the caller can encrypt on the way; restore reads any binary stream. A
temporary replication slot reserves WAL from before the backup starts until it ends, so
a busy server cannot recycle WAL the backup still has to fetch.

Invariants: the admin password reaches ``pg_basebackup`` only through its environment;
extraction uses tarfile's ``data`` filter (no absolute paths, no links out of the target,
no device files); a failed snapshot leaves no slot behind.
"""

from __future__ import annotations

import contextlib
import queue
import shutil
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, BinaryIO

from psycopg import errors

from ..base import ADMIN_ROLE, LOOPBACK, InstanceSpec
from ..errors import SnapshotError
from .binaries import PgBinaries
from .config import InstancePaths
from .connection import Connection
from .process import Runner

SLOT = "warden_snapshot"
CHUNK = 1024 * 1024
AHEAD = 16  # chunks read ahead of the writer
SLOT_WAIT = 5.0  # seconds for a killed pg_basebackup's walsender to let go of the slot


def _conninfo(spec: InstanceSpec, paths: InstancePaths) -> str:
    return (
        f"host={LOOPBACK} port={spec.port} user={ADMIN_ROLE} sslmode=verify-full"
        f" sslrootcert={paths.ca_cert} gssencmode=disable application_name=warden-snapshot"
    )


def drop_slot(conn: Connection, wait: float = SLOT_WAIT) -> None:
    """Drop warden's slot if it exists. A walsender still holding it (pg_basebackup just
    killed, or left behind by a crashed warden) is ended first: only warden's snapshots
    use the slot, and only one runs at a time."""
    deadline = time.monotonic() + wait
    while True:
        row = conn.execute(
            "SELECT active_pid FROM pg_replication_slots WHERE slot_name = %s", (SLOT,)
        ).fetchone()
        if row is None:
            return
        try:
            if row[0] is None:
                conn.execute("SELECT pg_drop_replication_slot(%s)", (SLOT,))
                return
            conn.execute("SELECT pg_terminate_backend(%s)", (row[0],))
        except (errors.ObjectInUse, errors.UndefinedObject):
            pass  # taken or dropped meanwhile: look again
        if time.monotonic() > deadline:
            raise SnapshotError(f"replication slot {SLOT} is still in use")
        time.sleep(0.02)


def snapshot(
    binaries: PgBinaries,
    runner: Runner,
    spec: InstanceSpec,
    admin: Connection,
    out: BinaryIO,
) -> int:
    """Stream a base backup of the running instance into ``out``; returns bytes written."""
    paths = InstancePaths(spec.root)
    drop_slot(admin)  # a leftover of a snapshot interrupted by a crash
    admin.execute("SELECT pg_create_physical_replication_slot(%s, true)", (SLOT,))
    argv = [
        binaries.path("pg_basebackup"),
        "-d",
        _conninfo(spec, paths),
        "-D",
        "-",
        "-F",
        "t",
        "-X",
        "fetch",
        "-c",
        "fast",
    ]
    try:
        with tempfile.TemporaryFile() as errors:
            with runner.stream(
                argv,
                cwd=paths.root,
                env={"PGPASSWORD": spec.admin_password.reveal()},
                errors=errors,
            ) as proc:
                if proc.stdout is None:  # pragma: no cover - stdout is always piped
                    raise SnapshotError("pg_basebackup has no output pipe")
                try:
                    written = _copy(proc.stdout, out, halt=proc.kill)
                finally:
                    if proc.poll() is None:
                        proc.kill()
                    code = proc.wait()
            if code != 0:
                errors.seek(0)
                reason = errors.read().decode(errors="replace").strip()
                raise SnapshotError(f"pg_basebackup failed: {reason}")
    finally:
        drop_slot(admin)
    return written


def _copy(source: IO[bytes], out: BinaryIO, halt: Callable[[], None]) -> int:
    """Copy ``source`` (the pipe) into ``out``, reading in a thread of its own: writing
    ``out`` (sealing, the disk) and pg_basebackup producing the next megabytes overlap,
    with at most ``AHEAD`` chunks held in memory between them. If writing fails, ``halt``
    ends the producer (so the reader sees the pipe's end) before the reader is joined."""
    ahead: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=AHEAD)
    stop = threading.Event()

    def pump() -> None:
        try:
            while not stop.is_set():
                chunk = source.read(CHUNK)
                ahead.put(chunk)
                if not chunk:
                    return
        except BaseException as exc:  # handed to the writing side, which raises it
            ahead.put(exc)

    reader = threading.Thread(target=pump, name="warden-snapshot-pipe", daemon=True)
    reader.start()
    written = 0
    try:
        while True:
            item = ahead.get()
            if isinstance(item, BaseException):
                raise SnapshotError(f"reading pg_basebackup's output failed: {item}")
            if not item:
                return written
            out.write(item)
            written += len(item)
    except BaseException:
        halt()
        raise
    finally:
        stop.set()
        while reader.is_alive():  # unblock a reader waiting for room, then let it end
            with contextlib.suppress(queue.Empty):
                ahead.get(timeout=0.05)
        reader.join()


def extract(source: BinaryIO, data: Path) -> None:
    """Unpack a snapshot stream into the (new, empty) directory ``data``."""
    try:
        with tarfile.open(fileobj=source, mode="r|") as archive:
            archive.extractall(data, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise SnapshotError(f"the snapshot cannot be unpacked: {exc}") from exc
    if not (data / "PG_VERSION").is_file() or not (data / "backup_label").is_file():
        raise SnapshotError("the stream is not a warden snapshot (no base backup inside)")
    for leftover in ("postmaster.pid", "postmaster.opts", "backup_manifest"):
        with contextlib.suppress(FileNotFoundError):
            (data / leftover).unlink()


def discard(data: Path) -> None:
    shutil.rmtree(data, ignore_errors=True)
