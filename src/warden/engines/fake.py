"""In-memory ``Engine`` and ``Accounts`` for fast control-plane tests.

Same contract as the PostgreSQL engine, no processes: an instance is a record with a
state, roles (name → SCRAM verifier, so passwords are checked exactly as a server would),
databases and parameter values. ``crash`` stands in for ``kill -9``; ``login`` records
the auth events a real server would log. Parameters are checked against a small catalog
with the real engine's rules (dynamic vs static, not-modifiable names).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import BinaryIO

from warden.core.redacted import Redacted

from .base import (
    ADMIN_ROLE,
    ApplyType,
    AuthBatch,
    AuthEvent,
    AuthEventKind,
    AuthFailure,
    ConfigOutcome,
    DataType,
    Endpoint,
    InstanceSpec,
    InstanceState,
    InstanceStatus,
    LogCursor,
    Login,
    LoginCheck,
    MasterUser,
    ParameterInfo,
)
from .errors import EngineError, InvalidParameters, LoginFailed, NotRunning, PortInUse, RoleError
from .postgres.parameters import FORCE_SSL_INFO, Catalog
from .postgres.roles import check_name
from .postgres.scram import Verifier, make_verifier

_DYN, _STATIC = ApplyType.DYNAMIC, ApplyType.STATIC
CATALOG = Catalog(
    (
        ParameterInfo("log_statement", "none", DataType.STRING, _DYN, True, "Statements logged.",
                      choices=("none", "ddl", "mod", "all"), allowed_values="none,ddl,mod,all"),
        ParameterInfo("max_connections", "100", DataType.INTEGER, _STATIC, True,
                      "Maximum connections.", minimum=1, maximum=262143,
                      allowed_values="1-262143"),
        FORCE_SSL_INFO,
        ParameterInfo("shared_preload_libraries", "", DataType.STRING, _STATIC, False,
                      "Libraries to preload."),
        ParameterInfo("work_mem", "4096", DataType.INTEGER, _DYN, True, "Query work memory.",
                      unit="kB", minimum=64, maximum=2147483647, allowed_values="64-2147483647"),
    )
)  # fmt: skip


@dataclass
class _Instance:
    spec: InstanceSpec
    state: InstanceState = InstanceState.RUNNING
    roles: dict[str, str] = field(default_factory=dict)
    databases: set[str] = field(default_factory=lambda: {"postgres"})
    applied: dict[str, str] = field(default_factory=dict)
    events: list[AuthEvent] = field(default_factory=list)
    pruned: int = 0  # events dropped from the front; cursors count from the first ever


class FakeEngine:
    def __init__(self) -> None:
        self._instances: dict[str, _Instance] = {}
        self._lock = threading.Lock()

    def _get(self, spec: InstanceSpec) -> _Instance:
        found = self._instances.get(str(spec.root))
        if found is None:
            raise EngineError(f"instance {spec.instance_id} has no data directory")
        return found

    def _running(self, spec: InstanceSpec) -> _Instance:
        inst = self._get(spec)
        if inst.state is not InstanceState.RUNNING:
            raise NotRunning(f"instance {spec.instance_id} is {inst.state.value}")
        return inst

    def _check_port(self, spec: InstanceSpec) -> None:
        for other in self._instances.values():
            running = other.state is InstanceState.RUNNING and other.spec.root != spec.root
            if running and other.spec.port == spec.port:
                raise PortInUse(f"port {spec.port} is already in use")

    def _new(self, spec: InstanceSpec) -> _Instance:
        if str(spec.root) in self._instances:
            raise EngineError(f"{spec.root} already exists")
        self.check_parameters(spec.parameters.as_dict())
        self._check_port(spec)
        inst = _Instance(spec, applied=spec.parameters.as_dict())
        inst.roles[ADMIN_ROLE] = str(make_verifier(spec.admin_password.reveal()))
        return inst

    def create(
        self, spec: InstanceSpec, master: MasterUser, database: str | None
    ) -> InstanceStatus:
        check_name(master.username, "master user")
        with self._lock:
            inst = self._new(spec)
            inst.roles[master.username] = str(make_verifier(master.password.reveal()))
            if database:
                inst.databases.add(database)
            self._instances[str(spec.root)] = inst
        return self.status(spec)

    def start(self, spec: InstanceSpec) -> InstanceStatus:
        with self._lock:
            inst = self._get(spec)
            if inst.state is not InstanceState.RUNNING:
                self._check_port(spec)
                inst.spec, inst.state = spec, InstanceState.RUNNING
                inst.applied = spec.parameters.as_dict()
        return self.status(spec)

    def stop(self, spec: InstanceSpec) -> None:
        with self._lock:
            if str(spec.root) in self._instances:
                self._get(spec).state = InstanceState.STOPPED

    def restart(self, spec: InstanceSpec) -> InstanceStatus:
        self.stop(spec)
        return self.start(spec)

    def crash(self, spec: InstanceSpec) -> None:
        """Test hook: the server process died (kill -9)."""
        self._get(spec).state = InstanceState.CRASHED

    def status(self, spec: InstanceSpec) -> InstanceStatus:
        inst = self._instances.get(str(spec.root))
        if inst is None:
            return InstanceStatus(InstanceState.ABSENT)
        running = inst.state is InstanceState.RUNNING
        return InstanceStatus(inst.state, pid=1000 if running else None, port=inst.spec.port)

    def adopt(self, spec: InstanceSpec) -> InstanceStatus:
        return self.status(spec)

    def destroy(self, spec: InstanceSpec) -> None:
        with self._lock:
            self._instances.pop(str(spec.root), None)

    def parameter_catalog(self) -> tuple[ParameterInfo, ...]:
        return CATALOG.parameters

    def check_parameters(self, values: Mapping[str, str]) -> None:
        problems = CATALOG.problems(values)
        if problems:
            raise InvalidParameters(problems)

    def configure(self, spec: InstanceSpec) -> ConfigOutcome:
        self.check_parameters(spec.parameters.as_dict())
        inst = self._get(spec)
        wanted = spec.parameters.as_dict()
        inst.spec = spec
        pending = set()
        for info in CATALOG.parameters:
            if wanted.get(info.name) != inst.applied.get(info.name):
                if info.apply_type is ApplyType.STATIC and inst.state is InstanceState.RUNNING:
                    pending.add(info.name)
                elif info.name in wanted:
                    inst.applied[info.name] = wanted[info.name]
                else:
                    inst.applied.pop(info.name, None)
        return ConfigOutcome(frozenset(pending))

    def set_master_password(self, spec: InstanceSpec, master: MasterUser) -> None:
        self._running(spec).roles[master.username] = str(make_verifier(master.password.reveal()))

    def password_matches(self, spec: InstanceSpec, role: str, password: Redacted[str]) -> bool:
        stored = self._running(spec).roles.get(role)
        return stored is not None and Verifier.parse(stored).matches(password.reveal())

    def set_role_verifier(self, spec: InstanceSpec, role: str, verifier: str) -> None:
        """Test hook: a SQL client changed a password behind warden's back."""
        self._running(spec).roles[role] = verifier

    def login(self, spec: InstanceSpec, user: str, password: str, source: str) -> bool:
        """Test hook: a client logs in; the outcome is recorded as a real server logs it."""
        inst = self._running(spec)
        stored = inst.roles.get(user)
        ok = stored is not None and Verifier.parse(stored).matches(password)
        failure = None if ok else AuthFailure.BAD_PASSWORD if stored else AuthFailure.UNKNOWN_ROLE
        kind = AuthEventKind.LOGIN_SUCCEEDED if ok else AuthEventKind.LOGIN_FAILED
        event = AuthEvent(datetime.now(UTC), kind, str(len(inst.events)), source, None, user)
        inst.events.append(replace(event, database="postgres", ssl=True, failure=failure))
        return ok

    def snapshot(self, spec: InstanceSpec, out: BinaryIO) -> None:
        inst = self._running(spec)
        data = {"roles": inst.roles, "databases": sorted(inst.databases)}
        out.write(json.dumps(data).encode())

    def restore(self, spec: InstanceSpec, source: BinaryIO) -> InstanceStatus:
        try:
            data = json.loads(source.read())
        except ValueError as exc:
            raise EngineError("the stream is not a snapshot") from exc
        with self._lock:
            inst = self._new(spec)
            inst.roles.update({k: v for k, v in data["roles"].items() if k != ADMIN_ROLE})
            inst.databases = set(data["databases"])
            inst.state = InstanceState.STOPPED
            self._instances[str(spec.root)] = inst
        return self.status(spec)

    def auth_events(self, spec: InstanceSpec, cursor: LogCursor) -> AuthBatch:
        inst = self._get(spec)
        start = max(cursor.offset("fake") - inst.pruned, 0)
        end = inst.pruned + len(inst.events)
        return AuthBatch(tuple(inst.events[start:]), LogCursor((("fake", end),)), False)

    def prune_logs(self, spec: InstanceSpec, before: datetime) -> int:
        inst = self._get(spec)
        old = 0
        while old < len(inst.events) - 1 and inst.events[old].time < before:
            old += 1
        del inst.events[:old]
        inst.pruned += old
        return old


class FakeAccounts:
    """``Accounts`` over in-memory servers keyed by host and port."""

    def __init__(self) -> None:
        self.servers: dict[tuple[str, int], dict[str, str]] = {}
        self.admins: set[str] = set()  # roles allowed to alter other roles
        self.sessions: set[FakeSession] = set()  # logged in and not yet closed

    def add_role(self, endpoint: Endpoint, role: str, password: str, admin: bool = False) -> None:
        self.servers.setdefault((endpoint.host, endpoint.port), {})[role] = str(
            make_verifier(password)
        )
        if admin:
            self.admins.add(role)

    def _roles(self, endpoint: Endpoint, login: Login) -> dict[str, str]:
        roles = self.servers.get((endpoint.host, endpoint.port))
        if roles is None:
            raise EngineError(f"cannot connect to {endpoint.host}:{endpoint.port}")
        stored = roles.get(login.user)
        if stored is None or not Verifier.parse(stored).matches(login.password.reveal()):
            raise LoginFailed(f'FATAL:  password authentication failed for user "{login.user}"')
        return roles

    def check_login(self, endpoint: Endpoint, login: Login) -> LoginCheck:
        try:
            self._roles(endpoint, login)
        except EngineError as exc:
            return LoginCheck(False, str(exc))
        return LoginCheck(True)

    def log_in(self, endpoint: Endpoint, acting: Login) -> FakeSession:
        session = FakeSession(self, self._roles(endpoint, acting), acting.user)
        self.sessions.add(session)
        return session


class FakeSession:
    """``AccountSession`` of ``FakeAccounts``: open until closed (``FakeAccounts.sessions``)."""

    def __init__(self, accounts: FakeAccounts, roles: dict[str, str], user: str) -> None:
        self._accounts = accounts
        self._roles = roles
        self._user = user

    def _open(self) -> None:
        if self not in self._accounts.sessions:
            raise EngineError("the connection is closed")

    def set_password(self, role: str, password: Redacted[str]) -> None:
        self._open()
        if role not in self._roles or (
            self._user != role and self._user not in self._accounts.admins
        ):
            raise RoleError(f"permission denied to alter role {role!r}")
        self._roles[role] = str(make_verifier(password.reveal()))

    def ensure_clone(self, source: str, clone: str, password: Redacted[str]) -> None:
        self._open()
        if self._user not in self._accounts.admins or source not in self._roles:
            raise RoleError(f"cannot clone role {source!r}")
        check_name(clone)
        self._roles[clone] = str(make_verifier(password.reveal()))

    def close(self) -> None:
        self._accounts.sessions.discard(self)

    def __enter__(self) -> FakeSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
