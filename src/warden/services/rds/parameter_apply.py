"""Which parameter values a server runs with, and its ``ParameterApplyStatus``.

An instance's *desired* values are its cluster's DB cluster parameter group's (Aurora)
overlaid with its own DB parameter group's. What its server gets depends on how RDS applies
a change:

- at a (re)start, every desired value;
- while running, a dynamic parameter set with ``ApplyMethod=immediate`` (or reset) at once,
  on reload; a static parameter, or one set with ``pending-reboot``, keeps the value the
  server was started with until the next reboot;
- after its parameter groups were *replaced* (Modify…ParameterGroupName), nothing changes
  until a reboot.

The reconciler records per instance (``parameter_store.Applied``) what its server was started
with, the digest of the desired values it last processed, and which names wait for a reboot
or were refused by the engine. The API compares that record with the desired values to
report ``applying``, ``pending-reboot``, ``failed-to-apply`` or ``in-sync``.

Invariants: the plan is a pure function of the desired values, the record and the engine's
static parameter names; a value the engine refuses is left out and reported, never retried in
a loop, and never stops the rest of the configuration (security-group rules) from applying; a
server that will not start with new values is started with those it last ran with.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.engine import Connection

from warden.engines.base import ApplyType, Engine, InstanceSpec, ParameterValues
from warden.engines.errors import InvalidParameters, StartFailed

from . import parameter_store as store
from .core import Deps, record_event
from .model import Server, SourceType
from .parameter_store import PENDING_REBOOT, Applied, GroupKind, UserValue
from .views import db_parameter_group

log = logging.getLogger("warden.rds")

APPLYING = "applying"
PENDING = "pending-reboot"
FAILED = "failed-to-apply"
IN_SYNC = "in-sync"


def is_default(name: str) -> bool:
    """Default groups are ``default.<family>``; a created group's name cannot hold a dot."""
    return name.startswith("default.")


def group_names(server: Server) -> tuple[str, str]:
    """(DB cluster parameter group, DB parameter group) of a server ("" for none)."""
    cluster = server.cluster
    return cluster.volume.settings.parameter_group if cluster else "", db_parameter_group(server)


@dataclass(frozen=True, slots=True)
class Desired:
    groups: tuple[str, ...]
    values: Mapping[str, UserValue]

    @property
    def digest(self) -> str:
        body = {
            "groups": list(self.groups),
            "values": {n: [v.value, v.method] for n, v in sorted(self.values.items())},
        }
        text = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def read_desired(conn: Connection, server: Server) -> Desired:
    names = group_names(server)
    inst = server.instance
    values: dict[str, UserValue] = {}
    for kind, name in zip((GroupKind.CLUSTER, GroupKind.DB), names, strict=True):
        if name and not is_default(name):
            found = store.group(conn, kind, inst.account_id, inst.region, name)
            if found is not None:
                values.update(found.parameters)
    return Desired(names, values)


def apply_status(desired: Desired, record: Applied | None) -> str:
    """RDS's ParameterApplyStatus (and DBClusterParameterGroupStatus) of one instance."""
    if record is None:
        return IN_SYNC
    if desired.digest != record.configured:
        return APPLYING
    if record.failed:
        return FAILED
    if record.pending or record.boot_groups != desired.groups:
        return PENDING
    return IN_SYNC


def statuses(conn: Connection, servers: list[Server]) -> dict[str, str]:
    """Instance resource id → apply status, for the servers of one describe call."""
    records = store.applied(conn, [s.instance.resource_id for s in servers])
    return {
        s.instance.resource_id: apply_status(
            read_desired(conn, s), records.get(s.instance.resource_id)
        )
        for s in servers
    }


@dataclass(frozen=True, slots=True)
class Plan:
    desired: Desired
    values: Mapping[str, str]  # what the server is given now
    pending: frozenset[str]  # desired values it does not run with until a reboot
    record: Applied | None
    boot: bool

    @property
    def parameters(self) -> ParameterValues:
        return ParameterValues.of(dict(self.values))


def _current(want: UserValue | None) -> str | None:
    return None if want is None else want.value


def plan(desired: Desired, record: Applied | None, static: frozenset[str], *, boot: bool) -> Plan:
    values: dict[str, str] = {}
    pending: set[str] = set()
    if boot or record is None:
        failed = record.failed if record is not None and boot else frozenset()
        values = {n: v.value for n, v in desired.values.items() if n not in failed}
        return Plan(desired, values, frozenset(failed & set(desired.values)), record, boot)
    if record.boot_groups != desired.groups:
        names = set(desired.values) | set(record.boot_values)
        pending = {n for n in names if _current(desired.values.get(n)) != record.boot_values.get(n)}
        return Plan(desired, dict(record.boot_values), frozenset(pending), record, boot)
    for name in sorted(set(desired.values) | set(record.boot_values)):
        want, booted = desired.values.get(name), record.boot_values.get(name)
        deferred = name in static or (want is not None and want.method == PENDING_REBOOT)
        if deferred:
            if booted is not None:
                values[name] = booted
            if _current(want) != booted:
                pending.add(name)
        elif want is not None:
            values[name] = want.value
    return Plan(desired, values, frozenset(pending), record, boot)


class ParameterApply:
    """The reconciler's side: plan a server's values, apply them, record the outcome."""

    def __init__(self, deps: Deps, engine: Engine) -> None:
        self.deps = deps
        self.engine = engine
        self._static: frozenset[str] | None = None

    def static_names(self) -> frozenset[str]:
        if self._static is None:
            catalog = self.engine.parameter_catalog()
            self._static = frozenset(p.name for p in catalog if p.apply_type is ApplyType.STATIC)
        return self._static

    def plan(self, server: Server, *, boot: bool = False) -> Plan:
        with self.deps.store.read() as conn:
            desired = read_desired(conn, server)
            ident = server.instance.resource_id
            record = store.applied(conn, [ident]).get(ident)
        return plan(desired, record, self.static_names(), boot=boot)

    def outdated(self, found: Plan) -> bool:
        """The desired values changed since the reconciler last processed them."""
        return found.record is None or found.record.configured != found.desired.digest

    def configure(self, server: Server, spec: InstanceSpec, found: Plan) -> None:
        """Apply live (reload); values the engine refuses are left out and reported."""
        failed: frozenset[str] = frozenset()
        try:
            outcome = self.engine.configure(spec)
        except InvalidParameters as exc:
            failed = frozenset(p.name for p in exc.problems)
            if not failed <= set(found.values):
                raise  # not (only) a parameter value: nothing to leave out
            kept = {n: v for n, v in found.values.items() if n not in failed}
            outcome = self.engine.configure(replace(spec, parameters=ParameterValues.of(kept)))
            self._refused(server, found, failed, str(exc))
        pending = found.pending | outcome.pending_reboot
        if found.record is None:
            booted_values = {n: v for n, v in found.values.items() if n not in pending | failed}
            record = Applied(
                server.instance.resource_id, found.desired.groups, booted_values,
                found.desired.digest, pending, failed,
            )  # fmt: skip
        else:
            record = replace(
                found.record, configured=found.desired.digest, pending=pending, failed=failed
            )
        self._save(record)

    def boot(
        self, server: Server, spec: InstanceSpec, found: Plan, start: Callable[[InstanceSpec], Any]
    ) -> InstanceSpec:
        """(Re)start with the plan's values; the spec the server runs with."""
        try:
            start(spec)
        except StartFailed as exc:
            previous = found.record.boot_values if found.record is not None else None
            if previous is None or previous == dict(found.values):
                raise
            spec = replace(spec, parameters=ParameterValues.of(previous))
            self.engine.start(spec)
            names = set(previous) | set(found.values)
            failed = frozenset(n for n in names if previous.get(n) != found.values.get(n))
            self._refused(server, found, failed, str(exc))
            self.booted(server, replace(found, values=previous), failed)
            return spec
        self.booted(server, found)
        return spec

    def booted(self, server: Server, found: Plan, failed: frozenset[str] = frozenset()) -> None:
        """Record a (re)start; a boot plan's pending names are the refused ones it left out."""
        failed |= found.pending if found.boot else frozenset()
        record = Applied(
            server.instance.resource_id, found.desired.groups, dict(found.values),
            found.desired.digest, found.pending | failed, failed,
        )  # fmt: skip
        self._save(record)

    def _save(self, record: Applied) -> None:
        with self.deps.store.begin() as conn:
            store.save_applied(conn, record, self.deps.clock.now())

    def _refused(self, server: Server, found: Plan, names: frozenset[str], reason: str) -> None:
        if found.record is not None and names <= found.record.failed:
            return  # already reported
        log.warning("%s: parameters %s not applied: %s", server.instance.identifier, names, reason)
        with self.deps.store.begin() as conn:
            record_event(
                conn, self.deps.ids, kind=SourceType.INSTANCE, resource=server.instance,
                message=f"The parameters {', '.join(sorted(names))} could not be applied and "
                f"were left at their previous values: {reason}",
                categories=("configuration change", "failure"), at=self.deps.clock.now(),
            )  # fmt: skip
