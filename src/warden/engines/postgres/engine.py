"""``PostgresEngine``: the ``base.Engine`` boundary over real PostgreSQL servers.

It composes the modules beside it: the template (fast creation), the server process,
configuration files, pg_hba rules, parameters, roles, snapshots and the auth log. warden
administers each instance as ``warden_admin`` on the instance's private Unix socket (no
other role may use it; only the service user's processes and root can reach it), or, where
the instance's path cannot hold a socket, over TLS from 127.0.0.1, verifying the server
certificate against the instance's CA (``sslmode=verify-full``).

Invariants: ``create`` and ``restore`` either end with a running instance or leave no
process and no directory behind; configuration is validated before any file changes,
and a change the server itself rejects is rolled back before the reload; a reload is
complete (new sessions see it) when ``configure`` returns.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from psycopg import sql

from warden.core.redacted import Redacted

from ..base import (
    ADMIN_ROLE,
    LOOPBACK,
    AuthBatch,
    ConfigOutcome,
    Endpoint,
    InstanceSpec,
    InstanceState,
    InstanceStatus,
    LogCursor,
    Login,
    MasterUser,
    ParameterInfo,
    TlsMode,
)
from ..errors import EngineError, InvalidParameters, NotRunning, ParameterProblem, PortInUse
from . import authlog, backup, config, hba, roles
from .binaries import PgBinaries
from .config import InstancePaths
from .connection import Connection, connected
from .parameters import Catalog
from .process import SERVICE_USER, Runner, ensure_account, remove_tree
from .server import PgServer, port_is_free
from .template import Template

_RELOAD_WAIT = 10.0
_NOT_APPLIED = "setting could not be applied"  # pg_file_settings: waits for a restart


class PostgresEngine:
    def __init__(
        self,
        workspace: Path,
        *,
        binaries: PgBinaries | None = None,
        service_user: str = SERVICE_USER,
        durable: bool = True,
    ) -> None:
        """``workspace`` holds the template; instances live wherever their spec says."""
        self.binaries = binaries or PgBinaries.bundled()
        self.runner = Runner(ensure_account(service_user))
        self.durable = durable
        self.template = Template(workspace, self.binaries, self.runner, durable)
        self._catalog: Catalog | None = None

    # -- helpers ---------------------------------------------------------------------

    def _server(self, spec: InstanceSpec) -> PgServer:
        return PgServer(self.binaries, self.runner, InstancePaths(spec.root))

    def _admin_endpoint(self, spec: InstanceSpec, port: int | None = None) -> Endpoint:
        """The running server's socket when it has one (a server started before warden
        gave it one has none until its next start), else TLS over loopback."""
        paths, port = InstancePaths(spec.root), port or spec.port
        socket = paths.admin_socket(port)
        if socket is not None and socket.is_socket():
            return Endpoint(host=str(paths.run), port=port, tls=TlsMode.DISABLE)
        return Endpoint(host=LOOPBACK, port=port, ca_file=paths.ca_cert)

    @contextmanager
    def admin(self, spec: InstanceSpec) -> Iterator[Connection]:
        """A warden_admin session on the running server (at the port it runs on)."""
        current = self.status(spec)
        if current.state is not InstanceState.RUNNING:
            raise NotRunning(f"instance {spec.instance_id} is {current.state.value}")
        login = Login(ADMIN_ROLE, spec.admin_password)
        with connected(self._admin_endpoint(spec, current.port), login) as conn:
            yield conn

    def _write_files(self, spec: InstanceSpec, paths: InstancePaths) -> None:
        for directory in (paths.tls, paths.log, paths.run):
            self.runner.make_dir(directory)
        w = self.runner.write_file
        w(paths.server_cert, spec.tls.cert_pem, 0o644)
        w(paths.server_key, spec.tls.key_pem.reveal(), 0o600)
        w(paths.ca_cert, spec.tls.ca_pem, 0o644)
        w(paths.conf("postgresql.conf"), config.main_conf())
        w(paths.conf(config.DEFAULTS_FILE), config.defaults_conf())
        w(paths.conf(config.PARAMETERS_FILE), config.parameters_conf(spec.parameters.items))
        enforced = config.enforced_conf(spec, paths, durable=self.durable)
        w(paths.conf(config.ENFORCED_FILE), enforced)
        w(paths.hba, hba.render(spec.access, spec.parameters.force_ssl).encode())

    def _new_root(self, spec: InstanceSpec) -> InstancePaths:
        if spec.root.exists():
            raise EngineError(f"{spec.root} already exists")
        self.check_parameters(spec.parameters.as_dict())
        if not port_is_free(spec.listen, spec.port):  # fail before copying anything
            raise PortInUse(f"port {spec.port} is already in use")
        paths = InstancePaths(spec.root)
        spec.root.parent.mkdir(parents=True, exist_ok=True)
        self.runner.make_dir(spec.root)
        try:
            self.runner.check_reachable(spec.root)
        except EngineError:
            remove_tree(spec.root)
            raise
        return paths

    def _first_start(self, spec: InstanceSpec, paths: InstancePaths) -> InstanceStatus:
        self._prepare(spec, paths)
        return self._server(spec).start(spec.listen, spec.port)

    def _prepare(self, spec: InstanceSpec, paths: InstancePaths) -> None:
        """Configuration files, and the admin role's password set in single-user mode (which
        also replays a restored base backup's WAL and ends with a clean shutdown)."""
        self._write_files(spec, paths)
        set_admin = sql.SQL("ALTER ROLE {} PASSWORD {}").format(
            sql.Identifier(ADMIN_ROLE), roles.verifier_literal(spec.admin_password)
        )
        self._server(spec).single_user([set_admin.as_string()])

    def _discard(self, spec: InstanceSpec) -> None:
        try:
            self._server(spec).stop()
        finally:
            if spec.root.exists():
                remove_tree(spec.root)

    # -- lifecycle -------------------------------------------------------------------

    def create(
        self, spec: InstanceSpec, master: MasterUser, database: str | None
    ) -> InstanceStatus:
        roles.check_name(master.username, "master user")
        self.template.ensure()
        paths = self._new_root(spec)
        try:
            self.template.copy_to(paths.data)
            status = self._first_start(spec, paths)
            with self.admin(spec) as conn:
                roles.create_master(conn, master, database)
        except BaseException:
            self._discard(spec)
            raise
        return status

    def restore(self, spec: InstanceSpec, source: BinaryIO) -> InstanceStatus:
        paths = self._new_root(spec)
        try:
            self.runner.make_dir(paths.data)
            backup.extract(self.runner, source, paths.data)  # unpacked as the owner
            self._prepare(spec, paths)
        except BaseException:
            self._discard(spec)
            raise
        return self.status(spec)

    def start(self, spec: InstanceSpec) -> InstanceStatus:
        server = self._server(spec)
        current = server.status()
        if current.state is InstanceState.ABSENT:
            raise EngineError(f"instance {spec.instance_id} has no data directory")
        if current.state not in {InstanceState.RUNNING, InstanceState.STARTING}:
            self.check_parameters(spec.parameters.as_dict())
            self._write_files(spec, InstancePaths(spec.root))
        return server.start(spec.listen, spec.port)

    def stop(self, spec: InstanceSpec) -> None:
        self._server(spec).stop()

    def restart(self, spec: InstanceSpec) -> InstanceStatus:
        self.stop(spec)
        return self.start(spec)

    def status(self, spec: InstanceSpec) -> InstanceStatus:
        return self._server(spec).status()

    def adopt(self, spec: InstanceSpec) -> InstanceStatus:
        current = self.status(spec)
        if current.state is not InstanceState.RUNNING:
            return current
        if current.port != spec.port:
            raise EngineError(
                f"the server in {spec.root} listens on {current.port}, not {spec.port}"
            )
        with self.admin(spec) as conn:
            backup.drop_slot(conn)  # a snapshot interrupted by the warden restart
        return current

    def destroy(self, spec: InstanceSpec) -> None:
        self._discard(spec)

    # -- configuration ---------------------------------------------------------------

    def parameter_catalog(self) -> tuple[ParameterInfo, ...]:
        return self._load_catalog().parameters

    def _load_catalog(self) -> Catalog:
        if self._catalog is None:
            self.template.ensure()
            self._catalog = Catalog.load(self.template.catalog)
        return self._catalog

    def check_parameters(self, values: Mapping[str, str]) -> None:
        problems = self._load_catalog().problems(values)
        if problems:
            raise InvalidParameters(problems)

    def configure(self, spec: InstanceSpec) -> ConfigOutcome:
        self.check_parameters(spec.parameters.as_dict())
        paths = InstancePaths(spec.root)
        if self.status(spec).state is not InstanceState.RUNNING:
            self._write_files(spec, paths)
            return ConfigOutcome()
        with self.admin(spec) as conn:
            before = conn.execute("SELECT pg_conf_load_time()").fetchone()
            previous = {p: p.read_bytes() for p in self._config_files(paths)}
            self._write_files(spec, paths)
            problems = _rejected(conn)
            if problems:
                for path, data in previous.items():
                    self.runner.write_file(path, data)
                raise InvalidParameters(problems)
            conn.execute("SELECT pg_reload_conf()")
        return ConfigOutcome(self._await_reload(spec, before[0] if before else None))

    def _config_files(self, paths: InstancePaths) -> list[Path]:
        names = (config.PARAMETERS_FILE, config.ENFORCED_FILE, "pg_hba.conf")
        return [paths.conf(n) for n in names]

    def _await_reload(self, spec: InstanceSpec, before: datetime | None) -> frozenset[str]:
        """Wait until new sessions run with the reloaded files; the pending-reboot names."""
        deadline = time.monotonic() + _RELOAD_WAIT
        while True:
            with self.admin(spec) as conn:
                row = conn.execute("SELECT pg_conf_load_time()").fetchone()
                if before is None or (row is not None and row[0] > before):
                    pending = conn.execute("SELECT name FROM pg_settings WHERE pending_restart")
                    names = frozenset(str(r[0]) for r in pending.fetchall())
                    # The socket settings are the engine's own (a server started before
                    # warden set them waits for its next start): never a parameter's reboot.
                    return names - config.ENGINE_INTERNAL
            if time.monotonic() > deadline:
                raise EngineError(f"instance {spec.instance_id} did not reload its configuration")
            time.sleep(0.02)

    # -- roles -----------------------------------------------------------------------

    def set_master_password(self, spec: InstanceSpec, master: MasterUser) -> None:
        with self.admin(spec) as conn:
            roles.set_master_password(conn, master)

    def password_matches(self, spec: InstanceSpec, role: str, password: Redacted[str]) -> bool:
        with self.admin(spec) as conn:
            return roles.password_matches(conn, role, password)

    def stored_verifier(self, spec: InstanceSpec, role: str) -> Redacted[str] | None:
        with self.admin(spec) as conn:
            found = roles.stored_verifier(conn, role)
        return None if found is None else Redacted(found)

    # -- snapshots and logs ------------------------------------------------------------

    def snapshot(self, spec: InstanceSpec, out: BinaryIO) -> None:
        with self.admin(spec) as conn:
            endpoint = self._admin_endpoint(spec, conn.info.port)
            backup.snapshot(self.binaries, self.runner, spec, endpoint, conn, out)

    def auth_events(self, spec: InstanceSpec, cursor: LogCursor) -> AuthBatch:
        return authlog.read(InstancePaths(spec.root).log, cursor)

    def prune_logs(self, spec: InstanceSpec, before: datetime) -> int:
        """Delete the instance's log files older than ``before`` (read them first)."""
        return authlog.prune(InstancePaths(spec.root).log, before)


def _rejected(conn: Connection) -> tuple[ParameterProblem, ...]:
    """What the server would refuse in the files as now written (before reloading).

    pg_file_settings says "setting could not be applied" both for a changed static
    parameter (fine: it waits for a restart) and for a value a check hook rejects; only
    the context of the parameter tells them apart."""
    rows = conn.execute(
        "SELECT coalesce(f.name, f.sourcefile), f.error, s.context FROM pg_file_settings f"
        " LEFT JOIN pg_settings s ON lower(s.name) = lower(f.name) WHERE f.error IS NOT NULL"
    ).fetchall()
    found = [
        ParameterProblem(
            str(name), "the engine rejects this value" if error == _NOT_APPLIED else str(error)
        )
        for name, error, context in rows
        if not (error == _NOT_APPLIED and context == "postmaster")
    ]
    hba_rows = conn.execute(
        "SELECT line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL"
    ).fetchall()
    found += [ParameterProblem(f"pg_hba.conf line {n}", str(e)) for n, e in hba_rows]
    return tuple(found)
