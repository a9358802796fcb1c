"""Automated backups: a daily automated snapshot of every cluster, kept
``BackupRetentionPeriod`` days.

A cluster gets its first automated snapshot as soon as it is available with its writer
running; then one a day in its ``PreferredBackupWindow`` (UTC), or as soon as a day has
passed without one (warden was down during the window). A cluster without a running writer
is not backed up (its data cannot change); an automated snapshot leaves the cluster's
status alone (Aurora's backups are continuous), and is skipped if the cluster stops or is
deleted meanwhile. Automated snapshots are
named ``rds:<cluster>-YYYY-MM-DD-HH-MM``, deleted once older than the retention period
and deleted with their cluster (a final snapshot is a manual one and stays).

The day is ``BackupSchedule.interval``: the server shortens it with
``WARDEN_RDS_BACKUP_INTERVAL`` (seconds), for tests and demonstrations; then the window
is ignored and a retention "day" is one interval. Time comes from the injected Clock.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import repository as repo
from . import snapshot_repository as snaps
from .core import Deps
from .errors import DBClusterSnapshotAlreadyExistsFault, InvalidDBClusterStateFault
from .model import Cluster, Status
from .snapshot_capture import begin_snapshot, capture, cluster_tags
from .snapshot_files import SnapshotFiles
from .snapshot_repository import Snapshot, SnapshotType

log = logging.getLogger("warden.rds")

BACKUP_INTERVAL_ENV = "WARDEN_RDS_BACKUP_INTERVAL"
DAY = timedelta(days=1)
_WINDOW = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")


def in_window(window: str, at: datetime) -> bool:
    """Whether ``at`` (UTC) falls in ``hh24:mi-hh24:mi`` (which may span midnight)."""
    found = _WINDOW.match(window)
    if found is None:
        return False
    start = int(found[1]) * 60 + int(found[2])
    end = int(found[3]) * 60 + int(found[4])
    now = at.hour * 60 + at.minute
    return start <= now < end if start <= end else now >= start or now < end


def automated_name(cluster: str, at: datetime) -> str:
    return f"rds:{cluster}-{at:%Y-%m-%d-%H-%M}"


@dataclass(frozen=True, slots=True)
class BackupSchedule:
    interval: timedelta = DAY
    windowed: bool = True

    @classmethod
    def from_env(cls, value: str) -> BackupSchedule:
        """The default schedule, or every ``value`` seconds (window ignored)."""
        if not value:
            return cls()
        seconds = float(value)
        if not math.isfinite(seconds) or seconds <= 0:
            raise ValueError(f"{BACKUP_INTERVAL_ENV} must be a positive number of seconds")
        return cls(timedelta(seconds=seconds), windowed=False)

    @property
    def check_every(self) -> float:
        """Seconds between two looks at the schedule."""
        return min(self.interval.total_seconds() / 2, 60.0)

    def retention(self, days: int) -> timedelta:
        return self.interval * days

    def due(self, window: str, last: datetime | None, now: datetime) -> bool:
        if last is None:
            return True
        since = now - last
        if since >= self.interval:
            return True
        return self.windowed and since >= self.interval / 2 and in_window(window, now)


class Backups:
    """Takes and expires automated snapshots; run by the snapshot worker."""

    def __init__(self, deps: Deps, schedule: BackupSchedule, files: SnapshotFiles) -> None:
        self.deps = deps
        self.schedule = schedule
        self.files = files
        self._next = -math.inf

    def tick(self) -> bool:
        now_mono = self.deps.clock.monotonic()
        if now_mono < self._next:
            return False
        self._next = now_mono + self.schedule.check_every
        now = self.deps.clock.now()
        with self.deps.store.read() as conn:
            clusters = {c.resource_id: c for c in repo.clusters(conn)}
            members = repo.members(conn, list(clusters))
            automated = [s for s in snaps.listed(conn) if s.snapshot_type is SnapshotType.AUTOMATED]
        changed = self._expire(automated, clusters, now)
        for cluster in clusters.values():
            mine = [s for s in automated if s.cluster_resource_id == cluster.resource_id]
            writers = [m for m in members if m.cluster_id == cluster.resource_id]
            ready = bool(writers) and all(m.status is Status.AVAILABLE for m in writers)
            if ready and self._due(cluster, mine, now):
                try:
                    changed |= self._take(cluster, now)
                except Exception:  # one cluster's trouble (its KMS key disabled) not the rest's
                    log.warning("no automated snapshot of %s this time", cluster.identifier,
                                exc_info=True)  # fmt: skip
        return changed

    def _due(self, cluster: Cluster, mine: list[Snapshot], now: datetime) -> bool:
        if cluster.status is not Status.AVAILABLE or not cluster.volume.ready:
            return False
        last = max((s.created_at for s in mine), default=None)
        return self.schedule.due(cluster.volume.settings.backup_window, last, now)

    def _take(self, cluster: Cluster, now: datetime) -> bool:
        name = automated_name(cluster.identifier, now)
        with self.deps.store.read() as conn:
            if snaps.find(conn, cluster.account_id, cluster.region, name) is not None:
                return False  # one a minute at most (a shortened interval)
        snap = capture(
            self.deps, cluster, name, SnapshotType.AUTOMATED, now, cluster_tags(cluster, ())
        )
        try:
            with self.deps.store.begin() as conn:
                begin_snapshot(conn, self.deps.ids, snap, Status.AVAILABLE)
        except (InvalidDBClusterStateFault, DBClusterSnapshotAlreadyExistsFault):
            return False  # the cluster changed meanwhile: next time
        log.info("automated snapshot %s of %s started", name, cluster.identifier)
        return True

    def _expire(
        self, automated: list[Snapshot], clusters: dict[str, Cluster], now: datetime
    ) -> bool:
        """Delete automated snapshots past their cluster's retention, or whose cluster is
        gone; not while one is being taken, copied from or restored from."""
        gone = []
        for snap in automated:
            cluster = clusters.get(snap.cluster_resource_id)
            days = cluster.volume.settings.backup_retention if cluster is not None else 0
            old = now - snap.created_at >= self.schedule.retention(days)
            if old and snap.status not in snaps.BUSY:
                gone.append(snap)
        removed = []
        for snap in gone:
            with self.deps.store.begin() as conn:
                if snaps.in_use(conn, snap.snapshot_id):
                    continue
                snaps.delete(conn, snap.snapshot_id)
            removed.append(snap.snapshot_id)
            self.files.remove(snap.snapshot_id)
        return bool(removed)
