"""The snapshot worker: takes, copies and restores snapshots, and runs the automated backups.

The store is the work list: snapshots ``creating`` or ``copying`` and clusters waiting for a
restore. Each tick does one of them whole (they take seconds to minutes, so a thread of its
own, not the reconciler's). A snapshot is read from its cluster's writer while it runs;
with no instance on the volume (a final snapshot, a cluster without instances) warden
starts the volume's server itself, on loopback and admitting only itself, and stops it
after. The data streams through ``snapshot_cipher`` into ``snapshot_files``: never the
whole snapshot in memory, never plaintext on disk.

Crash safety: an attempt is counted in the store before it starts; at start-up the partial
files of interrupted attempts are removed, and a snapshot left ``creating`` is tried again,
or, after ``MAX_ATTEMPTS``, marked ``failed`` (its file removed, its cluster available
again; a final snapshot's cluster ``failed`` and not deleted, so no data is lost). A restore
interrupted by a crash starts over from an empty volume.

Ordering invariant: KMS (the file keys) is asked outside the store's writing transactions;
the engine is never called inside one.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.engine import Connection

from warden.engines.base import Engine, InstanceSpec, InstanceState
from warden.engines.errors import EngineError
from warden.services.ports import KeyUnavailable

from . import repository as repo
from . import snapshot_repository as snaps
from .backups import BACKUP_INTERVAL_ENV, Backups, BackupSchedule
from .core import Deps, record_event
from .model import Cluster, Instance, Server, SourceType, Status
from .snapshot_capture import holds_cluster, record
from .snapshot_cipher import CHUNK, PREFIX_BYTES, SnapshotCorrupt, drain, opening, sealing
from .snapshot_files import SnapshotFiles
from .snapshot_keys import SnapshotKeys
from .snapshot_repository import Snapshot, SnapshotStatus, SnapshotType

log = logging.getLogger("warden.rds")

MAX_ATTEMPTS = 3
MAX_BACKOFF = 120.0
WAIT_LIMIT = timedelta(minutes=10)  # for a cluster's instances to become available
PROGRESS_EVERY = 1.0
SNAPSHOT_PAUSE_ENV = "WARDEN_TEST_SNAPSHOT_PAUSE"
_SERVING = {Status.AVAILABLE, Status.MODIFYING, Status.RESETTING}
_CLUSTER = SourceType.CLUSTER


@dataclass(frozen=True, slots=True)
class SnapshotOptions:
    """``pause_after_first_chunk`` is the fault tests' hook (``WARDEN_TEST_SNAPSHOT_PAUSE``,
    unset in production): a snapshot blocks for ever once its first chunk is on disk."""

    schedule: BackupSchedule = field(default_factory=BackupSchedule)
    pause_after_first_chunk: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SnapshotOptions:
        return cls(
            BackupSchedule.from_env(env.get(BACKUP_INTERVAL_ENV, "")),
            bool(env.get(SNAPSHOT_PAUSE_ENV)),
        )


def _tree_size(root: Path) -> int:
    total = 0
    for folder, _, names in os.walk(root):
        for name in names:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
    return total


def _backoff(attempts: int) -> float:
    """Seconds before the next attempt: long enough for the reconciler to bring a crashed
    server back before a snapshot's attempts run out."""
    return min(5.0 * 2.0**attempts, MAX_BACKOFF)


def _reason(exc: Exception) -> str:
    if isinstance(exc, EngineError | KeyUnavailable | SnapshotCorrupt | OSError):
        return str(exc)
    return "an internal error (see the server log)"


class _Progress:
    """Writes PercentProgress at most once a second (and holds the test pause)."""

    def __init__(self, worker: SnapshotWorker, snap: Snapshot, estimate: int, out: BinaryIO):
        self.worker, self.snap, self.estimate, self.out = worker, snap, max(estimate, 1), out
        self.last = worker.deps.clock.monotonic()

    def __call__(self, done: int) -> None:
        if self.worker.pause:
            self.out.flush()
            os.fsync(self.out.fileno())
            log.warning("snapshot %s paused (%s)", self.snap.identifier, SNAPSHOT_PAUSE_ENV)
            threading.Event().wait()
        now = self.worker.deps.clock.monotonic()
        if now - self.last < PROGRESS_EVERY:
            return
        self.last = now
        with self.worker.deps.store.begin() as conn:
            snaps.update(conn, self.snap.snapshot_id, progress=min(99, done * 100 // self.estimate))


class SnapshotWorker:
    name = "rds-snapshots"

    def __init__(self, deps: Deps, engine: Engine, options: SnapshotOptions | None = None):
        options = options or SnapshotOptions()
        self.deps, self.engine = deps, engine
        self.keys = SnapshotKeys(deps)
        self.files = SnapshotFiles(deps.specs.root)
        self.backups = Backups(deps, options.schedule, self.files)
        self.pause = options.pause_after_first_chunk
        self._swept = False
        self._retry_at: dict[str, float] = {}
        self._restore_failures: dict[str, int] = {}

    def tick(self) -> bool:
        if not self._swept:
            with self.deps.store.read() as conn:
                known = {s.snapshot_id for s in snaps.listed(conn)}
            self.files.sweep(known)
            self._swept = True
        busy = self._backups()
        with self.deps.store.read() as conn:
            pending = snaps.busy(conn)
            restores = snaps.restores(conn)
        for snap in pending:
            if self._due(snap.snapshot_id) and self._snapshot_step(snap):
                return True
        for cluster_id, snapshot_id in restores.items():
            if self._due(cluster_id) and self._restore_step(cluster_id, snapshot_id):
                return True
        return busy

    def _due(self, key: str) -> bool:
        return self.deps.clock.monotonic() >= self._retry_at.get(key, -math.inf)

    def _backups(self) -> bool:
        """The automated backups' turn (a failure is logged; they look again later)."""
        try:
            return self.backups.tick()
        except Exception:
            log.exception("automated backups failed")
            return False

    # -- taking and copying --------------------------------------------------------------

    def _snapshot_step(self, snap: Snapshot) -> bool:
        if snap.attempts >= MAX_ATTEMPTS:
            return self._give_up(snap, f"it failed {snap.attempts} times")
        if snap.status is SnapshotStatus.COPYING:
            with self.deps.store.read() as conn:
                source = snaps.by_id(conn, snap.source_snapshot_id or "")
            if source is None or source.status is not SnapshotStatus.AVAILABLE:
                return self._give_up(snap, "its source snapshot is no longer available")
            return self._attempt(snap, lambda: self._copy(snap, source))
        with self.deps.store.read() as conn:
            cluster = repo.cluster_by_id(conn, snap.cluster_resource_id)
            members = repo.members(conn, [snap.cluster_resource_id])
        if cluster is None:
            return self._give_up(snap, "its DB cluster was deleted")
        writer = next((m for m in members if m.status in _SERVING), None)
        running = cluster.status in (Status.AVAILABLE, Status.BACKING_UP) and bool(members)
        if snap.snapshot_type is SnapshotType.AUTOMATED and not running:
            return self._give_up(snap, "skipped: the DB cluster is not running")
        if writer is None and members:
            if self.deps.clock.now() - snap.created_at > WAIT_LIMIT:
                return self._give_up(snap, "no instance of its DB cluster became available")
            return False  # an instance is changing state (or being deleted): wait for it
        return self._attempt(snap, lambda: self._take(snap, cluster, writer))

    def _attempt(self, snap: Snapshot, work: Callable[[], None]) -> bool:
        attempts = snap.attempts + 1
        with self.deps.store.begin() as conn:
            snaps.update(conn, snap.snapshot_id, attempts=attempts)
        try:
            work()
        except Exception as exc:
            log.warning("snapshot %s failed (attempt %d)", snap.identifier, attempts,
                        exc_info=True)  # fmt: skip
            self._retry_at[snap.snapshot_id] = self.deps.clock.monotonic() + _backoff(attempts)
            if attempts >= MAX_ATTEMPTS:
                return self._give_up(snap, _reason(exc))
        return True

    def _take(self, snap: Snapshot, cluster: Cluster, writer: Instance | None) -> None:
        specs = self.deps.specs
        if writer is not None:
            spec, started = specs.spec(Server(writer, cluster)), False
        else:
            spec, started = specs.maintenance(cluster), True
            self._bring_up(cluster, spec)
        try:
            self._write(snap, _tree_size(spec.root), lambda out: self.engine.snapshot(spec, out))
        finally:
            if started:
                self.engine.stop(spec)
        self._finish(snap, SnapshotStatus.CREATING, cluster)

    def _bring_up(self, cluster: Cluster, spec: InstanceSpec) -> None:
        """Start the volume's server (making the volume first if no instance has yet)."""
        volume = cluster.volume
        if volume.ready:
            self.engine.start(spec)
            return
        if self.engine.status(spec).state is not InstanceState.ABSENT:
            self.engine.destroy(spec)  # a make interrupted by a crash
        master = self.deps.specs.master(volume)
        self.engine.create(spec, master, volume.settings.database_name)
        with self.deps.store.begin() as conn:
            repo.set_volume(conn, _CLUSTER, volume.owner, volume_ready=True)
            repo.clear_pending(conn, _CLUSTER, volume.owner, volume.master_password)

    def _copy(self, snap: Snapshot, source: Snapshot) -> None:
        key = self.keys.open(source)
        with self.files.reading(source.snapshot_id) as raw:
            plain = opening(raw, key, source.arn.encode())
            self._write(snap, source.size_bytes, lambda out: shutil.copyfileobj(plain, out, CHUNK))
        self._finish(snap, SnapshotStatus.COPYING, None)

    def _write(self, snap: Snapshot, estimate: int, fill: Callable[[BinaryIO], None]) -> None:
        key = self.keys.open(snap)
        prefix = self.deps.ids.token_bytes(PREFIX_BYTES)
        with self.files.writing(snap.snapshot_id) as out:
            progress = _Progress(self, snap, estimate, out)
            with sealing(out, key, snap.arn.encode(), prefix, progress=progress) as sink:
                fill(sink)

    def _finish(self, snap: Snapshot, was: SnapshotStatus, cluster: Cluster | None) -> None:
        size = self.files.size(snap.snapshot_id)
        kind = "Automated" if snap.snapshot_type is SnapshotType.AUTOMATED else "Manual"
        message = "Finished copying cluster snapshot" if cluster is None else (
            f"{kind} cluster snapshot created"
        )  # fmt: skip
        with self.deps.store.begin() as conn:
            done = snaps.set_status(
                conn, snap.snapshot_id, SnapshotStatus.AVAILABLE, [was],
                progress=100, size_bytes=size,
            )  # fmt: skip
            if cluster is not None and holds_cluster(snap):
                repo.set_status(conn, _CLUSTER, cluster.resource_id, Status.AVAILABLE,
                                [Status.BACKING_UP])  # fmt: skip
            if done:
                record(conn, self.deps.ids, snap, message, ("backup",), self.deps.clock.now())
        if not done:
            self.files.remove(snap.snapshot_id)

    def _give_up(self, snap: Snapshot, reason: str) -> bool:
        """The snapshot fails for good: no file; its cluster as it was (a final snapshot's
        cluster ``failed``, not deleted)."""
        self.files.remove(snap.snapshot_id)
        with self.deps.store.read() as conn:
            cluster = repo.cluster_by_id(conn, snap.cluster_resource_id)
            members = repo.members(conn, [snap.cluster_resource_id])
        taking = snap.status is SnapshotStatus.CREATING and cluster is not None
        if taking and cluster is not None and not members:
            self._stop_quietly(cluster)  # warden may have started it for this snapshot
        now = self.deps.clock.now()
        with self.deps.store.begin() as conn:
            if not snaps.set_status(conn, snap.snapshot_id, SnapshotStatus.FAILED, snaps.BUSY,
                                    progress=0):  # fmt: skip
                return False
            record(conn, self.deps.ids, snap, f"Cluster snapshot failed: {reason}",
                   ("failure",), now)  # fmt: skip
            if taking and cluster is not None:
                self._release(conn, snap, cluster, reason)
        log.warning("snapshot %s failed for good: %s", snap.identifier, reason)
        return True

    def _release(self, conn: Connection, snap: Snapshot, cluster: Cluster, reason: str) -> None:
        if holds_cluster(snap):
            repo.set_status(conn, _CLUSTER, cluster.resource_id, Status.AVAILABLE,
                            [Status.BACKING_UP])  # fmt: skip
            return
        if not snap.final:
            return
        if repo.set_status(conn, _CLUSTER, cluster.resource_id, Status.FAILED, [Status.DELETING]):
            record_event(
                conn, self.deps.ids, kind=_CLUSTER, resource=cluster,
                message=f"The final snapshot {snap.identifier} failed ({reason}); the DB "
                "cluster was not deleted",
                categories=("failure",), at=self.deps.clock.now(),
            )  # fmt: skip

    def _stop_quietly(self, cluster: Cluster) -> None:
        try:
            self.engine.stop(self.deps.specs.maintenance(cluster))
        except EngineError:
            log.warning("could not stop the volume of %s", cluster.identifier, exc_info=True)

    # -- restoring -----------------------------------------------------------------------

    def _restore_step(self, cluster_id: str, snapshot_id: str) -> bool:
        with self.deps.store.read() as conn:
            cluster = repo.cluster_by_id(conn, cluster_id)
            snap = snaps.by_id(conn, snapshot_id)
        if cluster is None or snap is None:
            return False
        spec = self.deps.specs.maintenance(cluster)
        try:
            self._restore(spec, snap)
        except Exception as exc:
            failures = self._restore_failures.get(cluster_id, 0) + 1
            self._restore_failures[cluster_id] = failures
            self._retry_at[cluster_id] = self.deps.clock.monotonic() + _backoff(failures)
            log.warning("restoring %s failed (attempt %d)", cluster.identifier, failures,
                        exc_info=True)  # fmt: skip
            self._discard(spec)
            if failures >= MAX_ATTEMPTS:
                self._restore_failed(cluster, _reason(exc))
            return True
        with self.deps.store.begin() as conn:
            if repo.set_status(conn, _CLUSTER, cluster_id, Status.AVAILABLE, [Status.CREATING],
                               volume_ready=True):  # fmt: skip
                record_event(
                    conn, self.deps.ids, kind=_CLUSTER, resource=cluster,
                    message=f"DB cluster created from snapshot {snap.arn}",
                    categories=("creation", "restoration"), at=self.deps.clock.now(),
                )  # fmt: skip
            snaps.delete_restore(conn, cluster_id)
        self._restore_failures.pop(cluster_id, None)
        return True

    def _restore(self, spec: InstanceSpec, snap: Snapshot) -> None:
        if self.engine.status(spec).state is not InstanceState.ABSENT:
            self.engine.destroy(spec)  # an earlier attempt was interrupted
        key = self.keys.open(snap)
        with self.files.reading(snap.snapshot_id) as raw:
            plain = opening(raw, key, snap.arn.encode())
            self.engine.restore(spec, plain)
            drain(plain)  # every chunk authenticated, the last one included
        self.engine.stop(spec)

    def _discard(self, spec: InstanceSpec) -> None:
        try:
            self.engine.destroy(spec)
        except EngineError:
            log.warning("could not remove %s", spec.root, exc_info=True)

    def _restore_failed(self, cluster: Cluster, reason: str) -> None:
        with self.deps.store.begin() as conn:
            if repo.set_status(conn, _CLUSTER, cluster.resource_id, Status.FAILED,
                               [Status.CREATING]):  # fmt: skip
                record_event(
                    conn, self.deps.ids, kind=_CLUSTER, resource=cluster,
                    message=f"DB cluster could not be restored from its snapshot: {reason}",
                    categories=("failure",), at=self.deps.clock.now(),
                )  # fmt: skip
            snaps.delete_restore(conn, cluster.resource_id)
        self._restore_failures.pop(cluster.resource_id, None)
