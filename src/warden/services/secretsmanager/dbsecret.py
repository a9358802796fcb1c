"""The database secret JSON the PostgreSQL rotation functions read and write (AWS's format),
and how warden reaches the server a secret names.

The JSON (keys are case-sensitive, as in AWS's rotation templates)::

    {"engine": "postgres", "host": "...", "port": 5432, "username": "...", "password": "...",
     "dbname": "postgres", "masterarn": "<alternating users: the superuser secret>",
     "ssl": true|false (optional)}

``host``, ``username`` and ``password`` are required ("<key> key is missing from secret JSON",
the templates' wording); ``engine``, when present, must be ``postgres`` or
``aurora-postgresql``; ``port`` defaults to 5432 (a number or a digit string) and ``dbname`` to
``postgres``. A new version keeps every key of the current one and changes only ``username``
and ``password``, as the templates do.

TLS follows the templates' ``ssl`` key: ``true`` connects only with a verified certificate
(``sslmode=verify-full``), ``false`` never uses TLS, absent (or anything else) tries
verify-full first and falls back to plain TCP only when TLS itself failed. The certificate is
verified against warden's own CA (``DIR/tls/ca.pem``) for the hosts warden runs its
PostgreSQL servers on (loopback and the server's configured host), and against the system
trust store for every other host (``Trust``).

Invariants: no message here contains a value from the secret; the password travels only
inside ``Redacted``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warden.core.redacted import Redacted
from warden.engines.base import Endpoint, Login, TlsMode

from .envelope import SecretValue, ValueKind

ENGINES = frozenset({"postgres", "aurora-postgresql"})
DEFAULT_PORT = 5432
DEFAULT_DBNAME = "postgres"
CLONE_SUFFIX = "_clone"
MAX_ROLE_BYTES = 63
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class SecretFormatError(Exception):
    """The secret is not a database secret the function can rotate (message is safe to show)."""


@dataclass(frozen=True, slots=True)
class DbSecret:
    """One version of a database secret, parsed."""

    host: str
    port: int
    username: str
    password: Redacted[str] = field(repr=False)
    dbname: str
    masterarn: str | None
    ssl: bool | None
    document: str = field(repr=False)  # the JSON without the password, to render new versions

    @property
    def login(self) -> Login:
        return Login(self.username, self.password)

    def same_server(self, other: DbSecret) -> bool:
        return (self.host.lower(), self.port) == (other.host.lower(), other.port)

    def with_login(self, username: str, password: Redacted[str]) -> SecretValue:
        """A new version's value: this version's keys with ``username`` and ``password``."""
        doc = json.loads(self.document)
        doc["username"] = username
        doc["password"] = password.reveal()
        return SecretValue.of_string(json.dumps(doc))


def parse(value: SecretValue, *, require_host: bool = True) -> DbSecret:
    """Read a version's value; ``SecretFormatError`` says what is wrong with it."""
    if value.kind is not ValueKind.STRING:
        raise SecretFormatError("The secret value is binary: a database secret is a JSON string")
    try:
        doc = json.loads(value.data.reveal().decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise SecretFormatError("Invalid secret value JSON") from None
    if not isinstance(doc, dict):
        raise SecretFormatError("Invalid secret value JSON: expected an object")
    required = ("host", "username", "password") if require_host else ("username", "password")
    for key in required:
        if key not in doc:
            raise SecretFormatError(f"{key} key is missing from secret JSON")
        if not isinstance(doc[key], str) or not doc[key]:
            raise SecretFormatError(f"{key} key in secret JSON must be a non-empty string")
    engine = doc.get("engine")
    if engine is not None and engine not in ENGINES:
        raise SecretFormatError(
            "Database engine must be set to 'postgres' in order to use this rotation lambda"
        )
    masterarn = doc.get("masterarn")
    if masterarn is not None and not isinstance(masterarn, str):
        raise SecretFormatError("masterarn key in secret JSON must be a string")
    dbname = doc.get("dbname") or DEFAULT_DBNAME
    if not isinstance(dbname, str):
        raise SecretFormatError("dbname key in secret JSON must be a string")
    password = Redacted(str(doc.pop("password")))
    return DbSecret(
        host=str(doc.get("host", "")),
        port=_port(doc.get("port")),
        username=str(doc["username"]),
        password=password,
        dbname=dbname,
        masterarn=masterarn,
        ssl=_ssl(doc.get("ssl")),
        document=json.dumps(doc),
    )


def _port(raw: Any) -> int:
    if raw is None or raw == "":
        return DEFAULT_PORT
    text = str(raw)
    if isinstance(raw, bool) or not text.isdigit() or not 1 <= int(text) <= 65535:
        raise SecretFormatError("port key in secret JSON is not a valid port number")
    return int(text)


def _ssl(raw: Any) -> bool | None:
    if raw is True or (isinstance(raw, str) and raw.lower() == "true"):
        return True
    if raw is False or (isinstance(raw, str) and raw.lower() == "false"):
        return False
    return None  # absent or not a boolean: try TLS, then plain (the templates' default)


def alternate_user(username: str) -> str:
    """Alternating users: ``user`` <-> ``user_clone``."""
    if username.endswith(CLONE_SUFFIX) and len(username) > len(CLONE_SUFFIX):
        return username[: -len(CLONE_SUFFIX)]
    clone = username + CLONE_SUFFIX
    if len(clone.encode()) > MAX_ROLE_BYTES:
        raise SecretFormatError(
            "Unable to clone user, username length with _clone appended would exceed "
            f"{MAX_ROLE_BYTES} characters"
        )
    return clone


def base_user(username: str) -> str:
    """The original user of an alternating pair (the one the clone copies)."""
    if username.endswith(CLONE_SUFFIX) and len(username) > len(CLONE_SUFFIX):
        return username[: -len(CLONE_SUFFIX)]
    return username


@dataclass(frozen=True, slots=True)
class Trust:
    """Which CA verifies a server's certificate: warden's own CA for the hosts warden runs
    PostgreSQL on, the system trust store (``None``) for every other host."""

    ca_file: Path | None = None
    own_hosts: frozenset[str] = LOOPBACK_HOSTS

    @classmethod
    def of(cls, ca_file: Path, server_host: str) -> Trust:
        return cls(ca_file, LOOPBACK_HOSTS | {server_host.lower()})

    def ca_for(self, host: str) -> Path | None:
        return self.ca_file if host.lower() in self.own_hosts else None


def endpoint(secret: DbSecret, trust: Trust, *, connect_timeout: int = 5) -> Endpoint:
    """Where ``secret``'s server listens, with the TLS its ``ssl`` key asks for."""
    tls = {True: TlsMode.VERIFY_FULL, False: TlsMode.DISABLE, None: TlsMode.PREFER_VERIFIED}[
        secret.ssl
    ]
    return Endpoint(
        host=secret.host,
        port=secret.port,
        dbname=secret.dbname,
        tls=tls,
        ca_file=trust.ca_for(secret.host),
        connect_timeout=connect_timeout,
    )
