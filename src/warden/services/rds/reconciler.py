"""The reconciler: the one worker that owns the PostgreSQL processes of every DB instance.

Each tick reads the desired state from the store and converges it: every instance one step
(``convergence``), then every cluster whose status waits on its instances (created,
modified, stopped, started, deleted). It runs every second when idle, so a killed server
is back within seconds and a security group change reaches pg_hba.conf as fast. At its
first tick after warden starts it adopts the servers that kept running, and removes any
volume directory no cluster or instance owns and any managed master secret no cluster
names (what a crash between two steps could leave).

Invariants: one server's failure never stops the others (it is logged and retried with
backoff); the store is written only in short transactions, never around an engine call.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import timedelta

from warden.engines.base import Engine

from . import repository as repo
from . import snapshot_repository as snaps
from .convergence import DRIFT_CHECK_SECONDS, ServerSteps
from .core import Deps, record_event
from .events import RETENTION
from .master_secret import MasterSecrets
from .model import Cluster, Instance, Server, SourceType, Status

log = logging.getLogger("warden.rds")

_PRUNE_EVERY = 3600.0
_MAX_BACKOFF = 60.0
_RUNNING = {Status.CREATING, Status.AVAILABLE, Status.MODIFYING, Status.RESETTING,
            Status.REBOOTING, Status.STARTING}  # fmt: skip


class Reconciler:
    name = "rds-reconciler"

    def __init__(
        self, deps: Deps, engine: Engine, *, drift_seconds: float = DRIFT_CHECK_SECONDS
    ) -> None:
        self.deps = deps
        self.engine = engine
        self.steps = ServerSteps(deps, engine, drift_seconds)
        self.masters = MasterSecrets(deps)
        self._swept = False
        self._next_prune = -math.inf
        self._failures: dict[str, int] = {}
        self._retry_at: dict[str, float] = {}

    def tick(self) -> bool:
        if not self._swept:
            self._sweep_orphans()
            self._guarded("master-secrets", self.masters.sweep)
            self._swept = True
        with self.deps.store.read() as conn:
            clusters = {c.resource_id: c for c in repo.clusters(conn)}
            instances = repo.instances(conn)
        busy = False
        for instance in instances:
            cluster = clusters.get(instance.cluster_id) if instance.cluster_id else None
            busy |= self._guarded(instance.resource_id, Server(instance, cluster))
        with self.deps.store.read() as conn:
            clusters = {c.resource_id: c for c in repo.clusters(conn)}
            instances = repo.instances(conn)
        for cluster in clusters.values():
            members = [i for i in instances if i.cluster_id == cluster.resource_id]
            busy |= self._guarded(cluster.resource_id, cluster, members)
        self._prune()
        return busy

    def _guarded(
        self,
        key: str,
        target: Server | Cluster | Callable[[], None],
        members: list[Instance] | None = None,
    ) -> bool:
        now = self.deps.clock.monotonic()
        if now < self._retry_at.get(key, -math.inf):
            return False
        try:
            if isinstance(target, Server):
                done = self.steps.step(target)
            elif isinstance(target, Cluster):
                done = self._cluster_step(target, members or [])
            else:
                target()
                done = False
        except Exception:
            failures = self._failures.get(key, 0) + 1
            self._failures[key] = failures
            self._retry_at[key] = now + min(2.0**failures, _MAX_BACKOFF)
            log.exception("converging %s failed (attempt %d)", key, failures)
            return False
        self._failures.pop(key, None)
        self._retry_at.pop(key, None)
        return done

    # -- clusters ------------------------------------------------------------------------

    def _cluster_step(self, cluster: Cluster, members: list[Instance]) -> bool:
        status = cluster.status
        if self.masters.converge(cluster):
            return True
        if status is Status.CREATING:
            if self._waits_on_snapshots(cluster):
                return False
            return self._cluster_status(cluster, "DB cluster created", ("creation",))
        if status is Status.MODIFYING:
            return self._cluster_status(cluster)
        if status is Status.RESETTING:
            running = [m for m in members if m.status in _RUNNING]
            if cluster.volume.password_pending and running:
                return False  # the writer applies it (or its create uses it)
            return self._cluster_status(cluster)
        if status is Status.STOPPING and all(m.status is Status.STOPPED for m in members):
            return self._cluster_status(
                cluster, "DB cluster stopped", ("notification",), Status.STOPPED
            )
        if status is Status.STARTING and all(m.status is Status.AVAILABLE for m in members):
            return self._cluster_status(cluster, "DB cluster started", ("notification",))
        if status is Status.DELETING and not members:
            if self._waits_on_snapshots(cluster):
                return False
            return self._delete_cluster(cluster)
        return False

    def _waits_on_snapshots(self, cluster: Cluster) -> bool:
        """A restore is still filling the volume, or a final snapshot still reading it
        (the snapshot worker moves the cluster on)."""
        with self.deps.store.read() as conn:
            if cluster.status is Status.CREATING:
                return snaps.restoring(conn, cluster.resource_id)
            return snaps.taking(conn, cluster.resource_id)

    def _cluster_status(
        self,
        cluster: Cluster,
        message: str | None = None,
        categories: tuple[str, ...] = (),
        new: Status = Status.AVAILABLE,
    ) -> bool:
        with self.deps.store.begin() as conn:
            changed = repo.set_status(
                conn, SourceType.CLUSTER, cluster.resource_id, new, [cluster.status]
            )
            if changed and message:
                record_event(
                    conn, self.deps.ids, kind=SourceType.CLUSTER, resource=cluster,
                    message=message, categories=categories, at=self.deps.clock.now(),
                )  # fmt: skip
        return changed

    def _delete_cluster(self, cluster: Cluster) -> bool:
        root = self.deps.specs.volume_root(cluster.resource_id)
        self.engine.destroy(self.deps.specs.bare(root))
        # Its managed master secret goes with it (a crash before the row goes: again).
        self.masters.release(cluster.account_id, cluster.region, cluster.master_secret)
        with self.deps.store.begin() as conn:
            record_event(
                conn, self.deps.ids, kind=SourceType.CLUSTER, resource=cluster,
                message="DB cluster deleted", categories=("deletion",), at=self.deps.clock.now(),
            )  # fmt: skip
            repo.delete_cluster(conn, cluster.resource_id)
        return True

    # -- housekeeping ----------------------------------------------------------------------

    def _sweep_orphans(self) -> None:
        volumes = self.deps.specs.root / "volumes"
        if not volumes.is_dir():
            return
        with self.deps.store.read() as conn:
            owners = {c.resource_id for c in repo.clusters(conn)}
            owners |= {i.resource_id for i in repo.instances(conn) if i.volume is not None}
        for path in sorted(volumes.iterdir()):
            if path.is_dir() and path.name not in owners:
                log.warning("removing %s: no DB cluster or instance owns it", path)
                try:
                    self.engine.destroy(self.deps.specs.bare(path))
                except Exception:
                    log.exception("could not remove %s", path)

    def _prune(self) -> None:
        now = self.deps.clock.monotonic()
        if now < self._next_prune:
            return
        self._next_prune = now + _PRUNE_EVERY
        with self.deps.store.begin() as conn:
            repo.prune_events(conn, self.deps.clock.now() - RETENTION - timedelta(seconds=1))
