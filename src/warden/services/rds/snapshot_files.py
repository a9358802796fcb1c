"""The snapshot files: ``<rds root>/snapshots/<snapshot id>.tar.enc``, sealed streams.

A file is written under a ``.partial`` name, flushed and fsynced, then renamed into place
and the directory fsynced: a reader sees a complete file or none, and a crash leaves at
most a ``.partial`` file, which the next start removes (``sweep``). Files are private to
warden (mode 0600 in a 0700 directory). They hold only ciphertext (``snapshot_cipher``).

While a file grows, each ``WRITE_BEHIND`` bytes written are handed to the kernel's
writeback at once (``posix_fadvise`` DONTNEED starts it without waiting, as PostgreSQL's
``backend_flush_after`` does with ``sync_file_range``), so the disk works while the stream
is still being produced and the final fsync has only the last stretch left. (Pages still
being written stay cached; the advice is only advice: where it fails or does not exist,
the final fsync does all the work, as before.)
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

log = logging.getLogger("warden.rds")

SUFFIX = ".tar.enc"
PARTIAL = SUFFIX + ".partial"
WRITE_BEHIND = 8 * 1024 * 1024
_ADVISE = getattr(os, "posix_fadvise", None)  # not on every platform
_BUFFER = 1024 * 1024


class _WriteBehind(io.FileIO):
    def __init__(self, fd: int) -> None:
        super().__init__(fd, "wb")
        self._written = self._handed = 0

    def write(self, data: ReadableBuffer, /) -> int:
        n = super().write(data)
        self._written += n
        if self._written - self._handed >= WRITE_BEHIND and _ADVISE is not None:
            start, self._handed = self._handed, self._written
            with contextlib.suppress(OSError):
                _ADVISE(self.fileno(), start, self._written - start, os.POSIX_FADV_DONTNEED)
        return n


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SnapshotFiles:
    def __init__(self, rds_root: Path) -> None:
        self.dir = rds_root / "snapshots"

    def path(self, snapshot_id: str) -> Path:
        return self.dir / f"{snapshot_id}{SUFFIX}"

    def partial(self, snapshot_id: str) -> Path:
        return self.dir / f"{snapshot_id}{PARTIAL}"

    def exists(self, snapshot_id: str) -> bool:
        return self.path(snapshot_id).is_file()

    def size(self, snapshot_id: str) -> int:
        return self.path(snapshot_id).stat().st_size

    @contextlib.contextmanager
    def writing(self, snapshot_id: str) -> Iterator[BinaryIO]:
        """Write the file atomically: in place only if the block completes."""
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = self.partial(snapshot_id)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with io.BufferedWriter(_WriteBehind(fd), _BUFFER) as out:
                yield out
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, self.path(snapshot_id))
            _fsync_dir(self.dir)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    @contextlib.contextmanager
    def reading(self, snapshot_id: str) -> Iterator[BinaryIO]:
        with open(self.path(snapshot_id), "rb") as source:
            yield source

    def remove(self, snapshot_id: str) -> None:
        self.partial(snapshot_id).unlink(missing_ok=True)
        self.path(snapshot_id).unlink(missing_ok=True)

    def sweep(self, known: Collection[str]) -> list[str]:
        """At start-up: remove every partial file (no write is under way yet) and every
        file no snapshot row names (a crash between a row's deletion and its file's).
        Returns the names removed."""
        if not self.dir.is_dir():
            return []
        removed = []
        for path in sorted(self.dir.iterdir()):
            if not path.is_file():
                continue
            stem = path.name.removesuffix(PARTIAL).removesuffix(SUFFIX)
            if path.name.endswith(PARTIAL) or stem not in known:
                log.warning("removing %s: a leftover of an interrupted snapshot", path)
                path.unlink(missing_ok=True)
                removed.append(path.name)
        return removed
