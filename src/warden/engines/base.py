"""The engine boundary: the values and Protocols through which services touch databases.

``Engine`` runs DB instances (one server process, data directory and port each) from an
``InstanceSpec``, the complete desired configuration of one instance; the RDS service
builds specs from its store and the reconciler converges processes to them. ``Accounts``
changes passwords and clones roles on any reachable PostgreSQL (warden's own instances or
another server named in a secret), for Secrets Manager rotation. ``engines.postgres``
implements both against real servers, ``engines.fake`` in memory for control-plane tests.

Invariants: every value here is immutable; secrets travel only inside ``Redacted``; the
engine never decides policy (which CIDRs, which parameters) — it applies what it is given
and refuses what cannot be applied safely.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import BinaryIO, Protocol

from warden.core.redacted import Redacted

ADMIN_ROLE = "warden_admin"  # warden's own superuser in every instance, never the master
SUPERUSER_GROUP = "rds_superuser"  # the RDS-like group role the master user belongs to
FORCE_SSL = "rds.force_ssl"  # parameter handled by the engine: 1 drops non-TLS hba lines
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class TlsMaterial:
    """PEM server certificate and key for one instance, and the CA that issued it."""

    cert_pem: bytes
    key_pem: Redacted[bytes]
    ca_pem: bytes


@dataclass(frozen=True, slots=True)
class ParameterValues:
    """Parameter-group values (name → value text), immutable and ordered by name."""

    items: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, values: Mapping[str, str]) -> ParameterValues:
        return cls(tuple(sorted(values.items())))

    def as_dict(self) -> dict[str, str]:
        return dict(self.items)

    def get(self, name: str) -> str | None:
        return self.as_dict().get(name)

    @property
    def force_ssl(self) -> bool:
        return (self.get(FORCE_SSL) or "0").strip().lower() in {"1", "on", "true", "yes"}


def _network(cidr: str) -> str:
    return str(ipaddress.ip_network(cidr, strict=False))


@dataclass(frozen=True, slots=True)
class AccessRules:
    """Who may connect: security-group ingress CIDRs (canonical text, deduplicated)."""

    ingress: tuple[str, ...] = ()

    @classmethod
    def of(cls, cidrs: Iterable[str]) -> AccessRules:
        """Raises ValueError for a string that is not an IPv4/IPv6 network."""
        return cls(tuple(sorted({_network(c) for c in cidrs})))


DEFAULT_ACCESS = AccessRules(ingress=(f"{LOOPBACK}/32",))  # the default security group


def listen_addresses(publicly_accessible: bool, host_address: str) -> tuple[str, ...]:
    """RDS's PubliclyAccessible: off listens on loopback only, on also on the host address."""
    if publicly_accessible and host_address != LOOPBACK:
        return (LOOPBACK, host_address)
    return (LOOPBACK,)


@dataclass(frozen=True, slots=True)
class InstanceSpec:
    """Everything needed to create, configure or restart one instance.

    ``root`` is the instance directory (the data directory, TLS files and logs live
    inside it); the engine owns its contents. ``admin_password`` is warden's own
    superuser password for this instance, generated and kept sealed by the caller.
    """

    instance_id: str
    root: Path
    port: int
    admin_password: Redacted[str]
    tls: TlsMaterial
    listen: tuple[str, ...] = (LOOPBACK,)
    access: AccessRules = DEFAULT_ACCESS
    parameters: ParameterValues = field(default_factory=ParameterValues)


@dataclass(frozen=True, slots=True)
class MasterUser:
    username: str
    password: Redacted[str]


class InstanceState(Enum):
    ABSENT = "absent"  # no data directory
    STOPPED = "stopped"  # cleanly shut down
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    CRASHED = "crashed"  # the server's lock file names a process that is gone


@dataclass(frozen=True, slots=True)
class InstanceStatus:
    state: InstanceState
    pid: int | None = None
    port: int | None = None


@dataclass(frozen=True, slots=True)
class ConfigOutcome:
    """After applying configuration: static parameters that wait for a reboot."""

    pending_reboot: frozenset[str] = frozenset()


class DataType(Enum):
    """RDS's parameter DataType values."""

    BOOLEAN = "boolean"
    INTEGER = "integer"
    FLOAT = "float"
    STRING = "string"
    LIST = "list"


class ApplyType(Enum):
    DYNAMIC = "dynamic"
    STATIC = "static"


@dataclass(frozen=True, slots=True)
class ParameterInfo:
    """One engine parameter as the running engine version defines it (``pg_settings``)."""

    name: str
    default: str
    data_type: DataType
    apply_type: ApplyType
    modifiable: bool
    description: str
    unit: str = ""
    allowed_values: str = ""  # RDS form: "0-1", "1-262143", "off,on,local"
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


class AuthEventKind(Enum):
    CONNECTION_RECEIVED = "connection-received"
    LOGIN_SUCCEEDED = "login-succeeded"
    LOGIN_FAILED = "login-failed"
    DISCONNECTED = "disconnected"


class AuthFailure(Enum):
    BAD_PASSWORD = "bad-password"  # noqa: S105 - a failure kind, not a password
    UNKNOWN_ROLE = "unknown-role"
    NOT_ADMITTED = "not-admitted"  # no pg_hba entry: address, TLS or role not allowed
    CANNOT_LOGIN = "cannot-login"  # role without LOGIN, expired password
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class AuthEvent:
    """A connection or authentication event read from an instance's server log."""

    time: datetime
    kind: AuthEventKind
    session_id: str
    remote_host: str
    remote_port: int | None
    user: str = ""
    database: str = ""
    ssl: bool | None = None
    failure: AuthFailure | None = None
    reason: str = ""

    @property
    def internal(self) -> bool:
        """warden's own administrative sessions (not user activity)."""
        return self.user == ADMIN_ROLE


@dataclass(frozen=True, slots=True)
class LogCursor:
    """How far each log file has been read: (file name, byte offset) pairs."""

    offsets: tuple[tuple[str, int], ...] = ()

    def offset(self, name: str) -> int:
        return dict(self.offsets).get(name, 0)


@dataclass(frozen=True, slots=True)
class AuthBatch:
    events: tuple[AuthEvent, ...]
    cursor: LogCursor
    more: bool  # the read stopped at its size limit; call again


class TlsMode(Enum):
    VERIFY_FULL = "verify-full"  # TLS, certificate and host name verified
    PREFER_VERIFIED = "prefer-verified"  # verify-full, else plain (AWS templates' default)
    DISABLE = "disable"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a PostgreSQL server listens. ``ca_file`` None trusts the system CA store."""

    host: str
    port: int = 5432
    dbname: str = "postgres"
    tls: TlsMode = TlsMode.VERIFY_FULL
    ca_file: Path | None = None
    connect_timeout: int = 5


@dataclass(frozen=True, slots=True)
class Login:
    user: str
    password: Redacted[str]


@dataclass(frozen=True, slots=True)
class LoginCheck:
    ok: bool
    reason: str = ""  # the server's or client library's message when not ok


class Engine(Protocol):
    """Runs DB instances. Every method is idempotent for the same spec."""

    def create(
        self, spec: InstanceSpec, master: MasterUser, database: str | None
    ) -> InstanceStatus:
        """Make and start a new instance with its master user (and database), or fail
        leaving nothing behind. Refuses an existing ``spec.root``."""
        ...

    def start(self, spec: InstanceSpec) -> InstanceStatus:
        """Write the configuration from ``spec`` and start; clears a crashed server's
        leftovers first. A running instance is left running."""
        ...

    def stop(self, spec: InstanceSpec) -> None: ...

    def restart(self, spec: InstanceSpec) -> InstanceStatus: ...

    def status(self, spec: InstanceSpec) -> InstanceStatus:
        """Cheap and side-effect free: the reconciler polls it to notice crashes."""
        ...

    def adopt(self, spec: InstanceSpec) -> InstanceStatus:
        """After a warden restart: verify a running server is this instance's (its own
        postgres process, port, and warden's admin login) before treating it as ours."""
        ...

    def destroy(self, spec: InstanceSpec) -> None:
        """Stop every process of the instance and remove its directory."""
        ...

    def configure(self, spec: InstanceSpec) -> ConfigOutcome:
        """Apply access rules, parameters, listen addresses and TLS of a running instance
        live (reload); what needs a restart is reported in ``pending_reboot``."""
        ...

    def parameter_catalog(self) -> tuple[ParameterInfo, ...]:
        """The engine version's parameters (for engine defaults and validation)."""
        ...

    def check_parameters(self, values: Mapping[str, str]) -> None:
        """Raise ``InvalidParameters`` for any value the engine would refuse."""
        ...

    def set_master_password(self, spec: InstanceSpec, master: MasterUser) -> None:
        """Set the master password and restore the master's rights (RDS semantics)."""
        ...

    def password_matches(self, spec: InstanceSpec, role: str, password: Redacted[str]) -> bool:
        """Whether ``role``'s stored verifier still belongs to ``password``."""
        ...

    def snapshot(self, spec: InstanceSpec, out: BinaryIO) -> None:
        """Write a consistent copy of the whole instance (all databases and roles)."""
        ...

    def restore(self, spec: InstanceSpec, source: BinaryIO) -> InstanceStatus:
        """Make a new instance from a snapshot stream: recovered to the snapshot's end and
        re-keyed for warden's admin role, left stopped (whoever serves it starts it once)."""
        ...

    def auth_events(self, spec: InstanceSpec, cursor: LogCursor) -> AuthBatch:
        """Connection and authentication events logged since ``cursor``."""
        ...

    def prune_logs(self, spec: InstanceSpec, before: datetime) -> int:
        """Delete log files older than ``before`` (after reading them); how many."""
        ...


class AccountSession(Protocol):
    """One login to one server (``Accounts.log_in``), for password and role changes; a
    context manager that closes it."""

    def set_password(self, role: str, password: Redacted[str]) -> None:
        """Set ``role``'s password (the session's own role, or one it may alter); the server
        receives a SCRAM verifier, never the password."""
        ...

    def ensure_clone(self, source: str, clone: str, password: Redacted[str]) -> None:
        """Create ``clone`` with ``source``'s attributes and memberships (and membership in
        ``source``), or, when it exists, only set its password."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> AccountSession: ...

    def __exit__(self, *exc: object) -> None: ...


class Accounts(Protocol):
    """Password and role changes on any reachable PostgreSQL (rotation functions)."""

    def check_login(self, endpoint: Endpoint, login: Login) -> LoginCheck: ...

    def log_in(self, endpoint: Endpoint, acting: Login) -> AccountSession:
        """A session as ``acting``; raises ``LoginFailed`` when the server refuses the
        credentials, another ``EngineError`` when it cannot be reached."""
        ...
