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
extraction is GNU tar as the unprivileged service user, fed the authenticated stream, and
leaves only directories and regular files (no absolute or ``..`` paths, no links, no device
files or FIFOs) or fails; a failed snapshot leaves no slot behind.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, BinaryIO

from ..base import ADMIN_ROLE, Endpoint, InstanceSpec, TlsMode
from ..errors import SnapshotError
from .binaries import PgBinaries
from .config import InstancePaths
from .connection import Connection
from .process import Runner

SLOT = "warden_snapshot"
CHUNK = 1024 * 1024
AHEAD = 16  # chunks read ahead of the writer
_FOREIGN = ("recovery.signal", "standby.signal")


def replication_conninfo(endpoint: Endpoint) -> str:
    """libpq's key='value' form for the admin's replication connection (no password: that
    goes through the environment)."""
    params = {
        "host": endpoint.host,
        "port": str(endpoint.port),
        "user": ADMIN_ROLE,
        "sslmode": endpoint.tls.value,
        "gssencmode": "disable",
        "application_name": "warden-snapshot",
    }
    if endpoint.tls is TlsMode.VERIFY_FULL and endpoint.ca_file is not None:
        params["sslrootcert"] = str(endpoint.ca_file)
    elif endpoint.tls is not TlsMode.DISABLE:
        raise SnapshotError(f"no replication connection for TLS mode {endpoint.tls.value}")
    return " ".join(f"{k}='{_escape(v)}'" for k, v in params.items())


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def drop_slot(conn: Connection) -> None:
    conn.execute(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
        " WHERE slot_name = %s AND NOT active",
        (SLOT,),
    )


def snapshot(
    binaries: PgBinaries,
    runner: Runner,
    spec: InstanceSpec,
    endpoint: Endpoint,
    admin: Connection,
    out: BinaryIO,
) -> int:
    """Stream a base backup of the running instance, reached at ``endpoint`` (where
    ``admin`` is connected), into ``out``; returns bytes written."""
    paths = InstancePaths(spec.root)
    drop_slot(admin)  # a leftover of a snapshot interrupted by a crash
    admin.execute("SELECT pg_create_physical_replication_slot(%s, true)", (SLOT,))
    argv = [
        binaries.path("pg_basebackup"),
        "-d",
        replication_conninfo(endpoint),
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
                    written = _copy(proc.stdout, out, halt=lambda: _kill_group(proc))
                except BaseException:
                    _kill_group(proc)
                    proc.wait()
                    raise
                code = proc.wait()  # its output ended: it is finishing
            if code != 0:
                errors.seek(0)
                reason = errors.read().decode(errors="replace").strip()
                raise SnapshotError(f"pg_basebackup failed: {reason}")
    finally:
        drop_slot(admin)
    return written


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """End pg_basebackup and anything it forked (it runs in a session of its own)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


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


# GNU tar, as the service user: it strips leading "/" and refuses names containing "..",
# creates symbolic links only once everything else is written (nothing is written through
# one), cannot make device files, and keeps its hands off anything that exists already.
_UNPACK = (
    "tar", "-x", "--no-same-owner", "--no-same-permissions", "--keep-old-files",
    "--no-acls", "--no-selinux", "--no-xattrs",
)  # fmt: skip


def extract(runner: Runner, source: BinaryIO, data: Path) -> None:
    """Unpack a snapshot stream into the (new, empty) directory ``data``: warden reads, and
    so authenticates, the stream and pipes it to GNU tar, run as the service user (a
    process of its own: unpacking hundreds of megabytes in warden's would hold the GIL its
    requests need). What is unpacked must be directories and regular files only: a base
    backup of a server without tablespaces holds nothing else."""
    with tempfile.TemporaryFile() as errors:
        proc = runner.feed([*_UNPACK, "-f", "-", "-C", str(data)], cwd=data, errors=errors)
        stdin = proc.stdin
        try:
            if stdin is None:  # pragma: no cover - stdin is always piped
                raise SnapshotError("tar has no input pipe")
            with contextlib.suppress(BrokenPipeError):  # tar stopped early: its code says why
                _pipe(source, stdin)
        except BaseException:
            proc.kill()
            raise
        finally:
            with contextlib.suppress(BrokenPipeError):
                if stdin is not None:
                    stdin.close()
            code = proc.wait()
        if code != 0:
            errors.seek(0)
            lines = errors.read().decode(errors="replace").strip().splitlines()
            raise SnapshotError(
                f"the snapshot cannot be unpacked: {lines[-1] if lines else f'tar exit {code}'}"
            )
    _only_files_and_directories(data)
    if not (data / "PG_VERSION").is_file() or not (data / "backup_label").is_file():
        raise SnapshotError("the stream is not a warden snapshot (no base backup inside)")
    # What would make recovery reach outside the directory (tablespace links, a restore
    # command, a standby's primary) is never in a backup of warden's: refused, not trusted.
    foreign = [n for n in _FOREIGN if (data / n).exists()]
    links, tablespace_map = data / "pg_tblspc", data / "tablespace_map"
    if tablespace_map.exists() and tablespace_map.stat().st_size:
        foreign.append(tablespace_map.name)
    if links.is_dir() and any(links.iterdir()):
        foreign.append(links.name)
    if foreign:
        raise SnapshotError(f"the snapshot holds what a warden backup never does: {foreign}")
    for leftover in (
        "postmaster.pid",
        "postmaster.opts",
        "backup_manifest",
        "postgresql.auto.conf",
    ):
        with contextlib.suppress(FileNotFoundError):
            (data / leftover).unlink()


def _pipe(source: BinaryIO, sink: IO[bytes]) -> None:
    """Copy through one buffer, allocated once (``shutil.copyfileobj`` makes a new megabyte
    for every read)."""
    buffer = memoryview(bytearray(CHUNK))
    while count := source.readinto(buffer):  # type: ignore[attr-defined]
        sink.write(buffer[:count])


def _raise(error: OSError) -> None:
    raise SnapshotError(f"the unpacked snapshot cannot be checked: {error}")


def _only_files_and_directories(root: Path) -> None:
    for folder, dirs, names in os.walk(root, onerror=_raise):
        for name in (*dirs, *names):
            mode = os.lstat(os.path.join(folder, name)).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                where = os.path.relpath(os.path.join(folder, name), root)
                raise SnapshotError(f"the snapshot holds a link or special file: {where}")


def discard(data: Path) -> None:
    shutil.rmtree(data, ignore_errors=True)
