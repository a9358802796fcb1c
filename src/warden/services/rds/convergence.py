"""Converging one server (an instance on its volume) to its desired state, one step a call.

Each ``step`` looks at the instance's status and does what it asks: create the volume (or
start the instance on its cluster's volume), keep an available instance running and
configured as its spec says (restarting a crashed server, applying changed security group
rules and parameter values live — static ones wait for a reboot, see ``parameter_apply`` —,
applying a master password set through the API, noticing a password changed inside the
database), reboot, stop, start, delete. Status changes are compare-and-set and
are written with their event in one transaction; the engine is never called inside a
transaction.

Invariants: a create either ends ``available`` or, after ``MAX_CREATE_ATTEMPTS`` failures,
``failed`` with nothing left behind (the engine's create cleans up; leftovers of a create
interrupted by a crash are destroyed before the next try); an existing volume is never
destroyed except by a delete.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy.engine import Connection

from warden.engines.base import Engine, InstanceSpec, InstanceState
from warden.engines.errors import EngineError, PortInUse

from . import repository as repo
from .allocation import choose_port
from .core import Deps, record_event
from .model import Server, SourceType, Status
from .parameter_apply import ParameterApply, Plan

log = logging.getLogger("warden.rds")

MAX_CREATE_ATTEMPTS = 3
DRIFT_CHECK_SECONDS = 5.0
_KEEP = {Status.AVAILABLE, Status.MODIFYING, Status.RESETTING}
_INSTANCE = SourceType.INSTANCE


def _needs_restart(old: InstanceSpec, new: InstanceSpec) -> bool:
    return old.port != new.port or old.listen != new.listen or old.tls != new.tls


class ServerSteps:
    def __init__(self, deps: Deps, engine: Engine, drift_seconds: float) -> None:
        self.deps = deps
        self.engine = engine
        self.drift_seconds = drift_seconds
        self.applied: dict[str, InstanceSpec] = {}  # instance id → spec its server runs with
        self.parameters = ParameterApply(deps, engine)
        self._create_failures: dict[str, int] = {}
        self._next_drift_check: dict[str, float] = {}

    def step(self, server: Server) -> bool:
        """One step for one server; True when it changed something."""
        status = server.instance.status
        if status is Status.CREATING:
            return self.create(server)
        if status in _KEEP:
            return self.keep(server)
        if status is Status.REBOOTING:
            return self._transition(server, "DB instance restarted", ("availability",), True)
        if status is Status.STARTING:
            return self._transition(server, "DB instance started", ("notification",), False)
        if status is Status.STOPPING:
            return self.stop(server)
        if status is Status.STOPPED:
            return self.keep_stopped(server)
        if status is Status.DELETING:
            return self.delete(server)
        return False

    def _spec(self, server: Server, *, boot: bool = False) -> tuple[InstanceSpec, Plan]:
        """The server's spec with the parameter values it is to run with now (at a
        (re)start when ``boot``), and the plan they come from."""
        found = self.parameters.plan(server, boot=boot)
        return self.deps.specs.spec(server, found.parameters), found

    # -- events and status ---------------------------------------------------------------

    def _event(
        self, server: Server, message: str, categories: Sequence[str], *, owner: bool = False
    ) -> None:
        with self.deps.store.begin() as conn:
            self._record(conn, server, message, categories, owner=owner)

    def _record(
        self,
        conn: Connection,
        server: Server,
        message: str,
        categories: Sequence[str],
        *,
        owner: bool = False,
    ) -> None:
        resource = server.cluster if owner and server.cluster is not None else server.instance
        kind = server.owner_kind if owner else _INSTANCE
        record_event(
            conn,
            self.deps.ids,
            kind=kind,
            resource=resource,
            message=message,
            categories=categories,
            at=self.deps.clock.now(),
        )

    def _set_status(
        self,
        server: Server,
        new: Status,
        expected: Sequence[Status],
        message: str | None = None,
        categories: Sequence[str] = (),
    ) -> bool:
        with self.deps.store.begin() as conn:
            changed = repo.set_status(conn, _INSTANCE, server.instance.resource_id, new, expected)
            if changed and message:
                self._record(conn, server, message, categories)
        return changed

    # -- create --------------------------------------------------------------------------

    def create(self, server: Server) -> bool:
        deps, volume, inst = self.deps, server.volume, server.instance
        cluster = server.cluster
        if cluster is not None and not volume.ready and cluster.status is Status.CREATING:
            return False  # a restore may still be filling the volume: the writer waits
        if cluster is not None and not volume.ready and cluster.status is Status.FAILED:
            return self._set_status(
                server, Status.FAILED, [Status.CREATING],
                "DB instance could not be created: its DB cluster failed", ("failure",),
            )  # fmt: skip
        spec, found = self._spec(server, boot=True)
        try:
            if server.cluster is None or not volume.ready:
                if spec.root.exists():  # an earlier create was interrupted: start over
                    self.engine.destroy(spec)
                master = deps.specs.master(volume)
                self.engine.create(spec, master, volume.settings.database_name)
            else:
                self.engine.start(spec)
        except PortInUse as exc:
            if not volume.settings.port_requested:
                return self._move_port(server)
            return self._create_failed(server, str(exc))
        except EngineError as exc:
            return self._create_failed(server, str(exc))
        with deps.store.begin() as conn:
            repo.set_volume(conn, server.owner_kind, volume.owner, volume_ready=True)
            repo.clear_pending(conn, server.owner_kind, volume.owner, volume.master_password)
            if repo.set_status(
                conn, _INSTANCE, inst.resource_id, Status.AVAILABLE, [Status.CREATING]
            ):
                self._record(conn, server, "DB instance created", ("creation",))
        self._create_failures.pop(inst.resource_id, None)
        self.parameters.booted(server, found)
        self.applied[inst.resource_id] = spec
        return True

    def _move_port(self, server: Server) -> bool:
        """A port warden chose was taken meanwhile by another program: choose again."""
        volume = server.volume
        with self.deps.store.read() as conn:
            used = repo.used_ports(conn)
        port = choose_port(None, used, self.deps.specs.certificate_names())
        with self.deps.store.begin() as conn:
            repo.set_volume(conn, server.owner_kind, volume.owner, port=port)
        log.info("port %s of %s was taken; moved to %s", volume.port, volume.owner, port)
        return True

    def _create_failed(self, server: Server, reason: str) -> bool:
        key = server.instance.resource_id
        self._create_failures[key] = self._create_failures.get(key, 0) + 1
        log.warning("creating %s failed: %s", server.instance.identifier, reason)
        if self._create_failures[key] < MAX_CREATE_ATTEMPTS:
            return False
        self._create_failures.pop(key, None)
        return self._set_status(
            server, Status.FAILED, [Status.CREATING],
            f"DB instance could not be created: {reason}", ("failure",),
        )  # fmt: skip

    # -- keep running --------------------------------------------------------------------

    def keep(self, server: Server) -> bool:
        inst = server.instance
        spec, found = self._spec(server)
        state = self.engine.status(spec).state
        busy = False
        if state is InstanceState.ABSENT:
            return self._set_status(
                server, Status.FAILED, list(_KEEP),
                "DB instance failed: its data directory is missing", ("failure",),
            )  # fmt: skip
        if state in {InstanceState.STARTING, InstanceState.STOPPING}:
            return False
        if state in {InstanceState.STOPPED, InstanceState.CRASHED}:
            self.applied[inst.resource_id] = self._boot(server, self.engine.start)
            self._event(server, "DB instance restarted by warden: its PostgreSQL server had "
                        "stopped unexpectedly", ("availability", "recovery"))  # fmt: skip
            busy = True
        elif inst.resource_id not in self.applied:
            self._adopt(server, spec, found)
            busy = True
        elif self.applied[inst.resource_id] != spec or self.parameters.outdated(found):
            if _needs_restart(self.applied[inst.resource_id], spec):
                spec = self._boot(server, self.engine.restart)
            else:
                self.parameters.configure(server, spec, found)
            self.applied[inst.resource_id] = spec
            busy = True
        busy |= self._apply_password(server, spec)
        if inst.status is not Status.AVAILABLE:
            done = inst.status is Status.MODIFYING or not server.volume.password_pending or busy
            if done:
                busy |= self._set_status(server, Status.AVAILABLE, [inst.status])
        self._check_drift(server, spec)
        return busy

    def _adopt(self, server: Server, spec: InstanceSpec, found: Plan) -> None:
        """First sight of a running server since warden started: verify it is ours, then
        re-apply the configuration (security groups may have changed meanwhile)."""
        try:
            self.engine.adopt(spec)
            self.parameters.configure(server, spec, found)
        except EngineError as exc:
            log.warning("adopting %s failed (%s); restarting it", spec.instance_id, exc)
            spec = self._boot(server, self.engine.restart)
            self._event(server, f"DB instance restarted by warden: {exc}", ("availability",))
        self.applied[server.instance.resource_id] = spec

    def _boot(self, server: Server, start: Callable[[InstanceSpec], object]) -> InstanceSpec:
        """(Re)start the server with every desired parameter value; the spec it runs with."""
        spec, found = self._spec(server, boot=True)
        return self.parameters.boot(server, spec, found, start)

    def _apply_password(self, server: Server, spec: InstanceSpec) -> bool:
        volume = server.volume
        if not volume.password_pending:
            return False
        self.engine.set_master_password(spec, self.deps.specs.master(volume))
        with self.deps.store.begin() as conn:
            if repo.clear_pending(conn, server.owner_kind, volume.owner, volume.master_password):
                self._record(
                    conn, server, "Reset master credentials", ("configuration change",), owner=True
                )
        self._next_drift_check.pop(volume.owner, None)
        return True

    def _check_drift(self, server: Server, spec: InstanceSpec) -> None:
        """Notice a master password changed by a SQL client (not through the RDS API)."""
        volume = server.volume
        if volume.password_pending or volume.password_drift:
            return
        now = self.deps.clock.monotonic()
        if now < self._next_drift_check.get(volume.owner, 0.0):
            return
        self._next_drift_check[volume.owner] = now + self.drift_seconds
        master = self.deps.specs.master(volume)
        if self.engine.password_matches(spec, master.username, master.password):
            return
        with self.deps.store.begin() as conn:
            repo.set_volume(conn, server.owner_kind, volume.owner, password_drift=True)
            self._record(
                conn, server,
                "The master user password was changed inside the database, not through the "
                "RDS API; set it again with MasterUserPassword to restore it",
                ("configuration change",), owner=True,
            )  # fmt: skip

    # -- reboot, start, stop, delete -----------------------------------------------------

    def _transition(
        self, server: Server, message: str, categories: Sequence[str], restart: bool
    ) -> bool:
        """Reboot (restart) or start, then ``available``."""
        start = self.engine.restart if restart else self.engine.start
        self.applied[server.instance.resource_id] = self._boot(server, start)
        expected = [server.instance.status]
        return self._set_status(server, Status.AVAILABLE, expected, message, categories)

    def stop(self, server: Server) -> bool:
        self.engine.stop(self.deps.specs.spec(server))
        self.applied.pop(server.instance.resource_id, None)
        stopped = "DB instance stopped"
        return self._set_status(
            server, Status.STOPPED, [Status.STOPPING], stopped, ("notification",)
        )

    def keep_stopped(self, server: Server) -> bool:
        spec = self.deps.specs.spec(server)
        if self.engine.status(spec).state in {InstanceState.RUNNING, InstanceState.STARTING}:
            self.engine.stop(spec)
            return True
        return False

    def delete(self, server: Server) -> bool:
        spec = self.deps.specs.spec(server)
        if server.cluster is None:
            self.engine.destroy(spec)
        else:
            self.engine.stop(spec)  # the cluster volume outlives its instances
        self.applied.pop(server.instance.resource_id, None)
        with self.deps.store.begin() as conn:
            self._record(conn, server, "DB instance deleted", ("deletion",))
            repo.delete_instance(conn, server.instance.resource_id)
        return True
