"""An instance's directory layout and the configuration files warden writes into it.

``<root>/data`` is PGDATA; ``<root>/tls`` holds the server certificate, key and CA;
``<root>/log`` receives the jsonlog files. ``postgresql.conf`` only includes three
warden-owned files, in this order, so that a later one wins:

1. ``warden.defaults.conf`` — sizing for many small instances on one host;
2. ``warden.parameters.conf`` — the parameter group's values;
3. ``warden.enforced.conf`` — what the engine guarantees: listen addresses, port, TLS,
   SCRAM, jsonlog connection logging, and the one Unix socket, in ``<root>/run`` (0700,
   the service user's), which pg_hba.conf opens to warden's admin role alone. Nothing
   earlier overrides it.

Invariants: every value is written single-quoted with quotes and backslashes escaped, and
values containing line breaks or NUL are refused before they reach a file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..base import FORCE_SSL, InstanceSpec
from ..errors import InvalidParameters, ParameterProblem

DEFAULTS_FILE = "warden.defaults.conf"
PARAMETERS_FILE = "warden.parameters.conf"
ENFORCED_FILE = "warden.enforced.conf"
LOG_FILE_PATTERN = "postgresql-%Y%m%d-%H%M%S.log"  # jsonlog writes .json beside .log

# Sized so that dozens of idle instances fit in a few GiB: PostgreSQL's 128MB
# shared_buffers default would reserve 128MB per instance up front.
DEFAULTS: tuple[tuple[str, str], ...] = (
    ("shared_buffers", "32MB"),
    ("max_connections", "100"),
    ("max_wal_size", "512MB"),
    ("min_wal_size", "32MB"),
    ("huge_pages", "off"),
)

# Names the engine handles itself rather than writing to postgresql.conf.
ENGINE_HANDLED = frozenset({FORCE_SSL})
# Settings of the engine's own that no parameter group names.
ENGINE_INTERNAL = frozenset({"unix_socket_directories", "unix_socket_permissions"})

# A Unix socket's path must fit sockaddr_un's 108 bytes with its NUL (PostgreSQL refuses to
# start otherwise), and unix_socket_directories is a comma-separated list: a root whose path
# is longer or holds other characters gets no socket, and warden's admin uses TLS over TCP.
_SOCKET_PATH_MAX = 107
_SOCKET_SAFE = re.compile(r"[A-Za-z0-9/._+-]+")


@dataclass(frozen=True, slots=True)
class InstancePaths:
    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def tls(self) -> Path:
        return self.root / "tls"

    @property
    def server_cert(self) -> Path:
        return self.tls / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.tls / "server.key"

    @property
    def ca_cert(self) -> Path:
        return self.tls / "ca.pem"

    @property
    def log(self) -> Path:
        return self.root / "log"

    @property
    def run(self) -> Path:
        return self.root / "run"

    def admin_socket(self, port: int) -> Path | None:
        """Where the server's Unix socket for ``port`` lives, or None when this root cannot
        have one (see ``_SOCKET_PATH_MAX``)."""
        path = self.run / f".s.PGSQL.{port}"
        fits = len(os.fsencode(path)) <= _SOCKET_PATH_MAX
        plain = self.run.is_absolute() and _SOCKET_SAFE.fullmatch(str(self.run)) is not None
        return path if fits and plain else None

    @property
    def startup_log(self) -> Path:
        return self.log / "startup.txt"

    @property
    def pid_file(self) -> Path:
        return self.data / "postmaster.pid"

    @property
    def hba(self) -> Path:
        return self.data / "pg_hba.conf"

    def conf(self, name: str) -> Path:
        return self.data / name


def quote(value: str) -> str:
    if "\n" in value or "\r" in value or "\0" in value:
        raise InvalidParameters((ParameterProblem("value", "must be a single line"),))
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _render(header: str, pairs: Iterable[tuple[str, str]]) -> bytes:
    lines = [f"# {header}", "# Written by warden; edits are overwritten."]
    lines += [f"{name} = {quote(value)}" for name, value in pairs]
    return ("\n".join(lines) + "\n").encode()


def main_conf() -> bytes:
    return (
        "# Written by warden. Settings live in the included files; later files win.\n"
        f"include '{DEFAULTS_FILE}'\n"
        f"include '{PARAMETERS_FILE}'\n"
        f"include '{ENFORCED_FILE}'\n"
    ).encode()


def defaults_conf() -> bytes:
    return _render("sizing defaults", DEFAULTS)


def parameters_conf(values: Iterable[tuple[str, str]]) -> bytes:
    kept = ((n, v) for n, v in values if n not in ENGINE_HANDLED)
    return _render("parameter group values", kept)


def _logging(paths: InstancePaths) -> list[tuple[str, str]]:
    return [
        ("logging_collector", "on"),
        ("log_destination", "jsonlog"),
        ("log_directory", str(paths.log)),
        ("log_filename", LOG_FILE_PATTERN),
        ("log_file_mode", "0600"),
        ("log_rotation_age", "1d"),
        ("log_rotation_size", "100MB"),
        ("log_truncate_on_rotation", "off"),
        ("log_connections", "on"),
        ("log_disconnections", "on"),
        ("log_timezone", "UTC"),
    ]


# For disposable instances (tests, benchmarks): crash safety traded for speed.
NOT_DURABLE = (("fsync", "off"), ("synchronous_commit", "off"), ("full_page_writes", "off"))


def enforced_conf(spec: InstanceSpec, paths: InstancePaths, *, durable: bool = True) -> bytes:
    pairs = [
        ("listen_addresses", ",".join(spec.listen)),
        ("port", str(spec.port)),
        ("unix_socket_directories", str(paths.run) if paths.admin_socket(spec.port) else ""),
        ("unix_socket_permissions", "0700"),
        ("ssl", "on"),
        ("ssl_cert_file", str(paths.server_cert)),
        ("ssl_key_file", str(paths.server_key)),
        ("ssl_ca_file", ""),
        ("ssl_min_protocol_version", "TLSv1.2"),
        ("password_encryption", "scram-sha-256"),
        ("cluster_name", spec.instance_id),
        *_logging(paths),
        *(() if durable else NOT_DURABLE),
    ]
    return _render("enforced by the engine", pairs)


def template_enforced_conf() -> bytes:
    """For the template, which only ever runs in single-user mode."""
    return _render("template", [("unix_socket_directories", ""), ("listen_addresses", "")])
