"""A real PostgreSQL server for the rotation tests, and the checks they make against it.

The server is an instance of warden's own engine (the bundled PostgreSQL 17, scram-sha-256
only, TLS on) whose certificate is issued by the warden data dir's CA, like the servers
warden runs: the rotation worker verifies it against ``DIR/tls/ca.pem`` (``sslmode=
verify-full``). As root the engine runs it as the ``warden-pg`` user in a directory that user
owns. Users are created with SCRAM verifiers computed here, so no test password ever
reaches the server (or its logs) in plaintext.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from harness import free_port
from psycopg import sql

from warden.core.redacted import Redacted
from warden.engines.base import InstanceSpec, MasterUser
from warden.engines.postgres import PostgresEngine, certs
from warden.engines.postgres.process import ensure_account
from warden.engines.postgres.scram import make_verifier


@dataclass
class Database:
    engine: PostgresEngine
    spec: InstanceSpec
    master: MasterUser
    root: Path
    ca_file: Path

    host = "127.0.0.1"
    dbname = "appdb"

    @property
    def port(self) -> int:
        return self.spec.port

    def connect(self, user: str, password: str) -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=user,
            password=password,
            dbname=self.dbname,
            sslmode="verify-full",
            sslrootcert=str(self.ca_file),
            gssencmode="disable",
            connect_timeout=5,
            autocommit=True,
        )

    def logs_in(self, user: str, password: str) -> bool:
        try:
            with self.connect(user, password) as conn:
                conn.execute("SELECT 1").fetchone()
        except psycopg.OperationalError:
            return False
        return True

    def create_user(self, name: str, password: str) -> None:
        """A login role made by the master (which therefore administers it)."""
        with self.connect(self.master.username, self.master.password.reveal()) as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(name), sql.Literal(str(make_verifier(password)))
                )
            )
            conn.execute(
                sql.SQL("GRANT CONNECT, CREATE ON DATABASE {} TO {}").format(
                    sql.Identifier(self.dbname), sql.Identifier(name)
                )
            )

    def secret(self, username: str, password: str, **extra: Any) -> dict[str, Any]:
        """AWS's database secret JSON for this server."""
        doc: dict[str, Any] = {"engine": "postgres", "host": self.host, "port": self.port}
        doc |= {"username": username, "password": password, "dbname": self.dbname}
        return doc | extra

    def close(self) -> None:
        try:
            self.engine.destroy(self.spec)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_database(ca_dir: Path) -> Database:
    """A running server whose certificate is issued by the CA in ``ca_dir`` (a data dir's
    ``tls``)."""
    account = ensure_account()
    root = Path(tempfile.mkdtemp(prefix="warden-rotation-db-"))
    os.chown(root, account.uid, account.gid)
    engine = PostgresEngine(root / "workspace", durable=False)
    tls = certs.issue(
        (ca_dir / "ca.pem").read_bytes(),
        Redacted((ca_dir / "ca.key").read_bytes()),
        "rotation-db",
        ["127.0.0.1"],
        datetime.now(UTC),
    )
    spec = InstanceSpec(
        instance_id="rotation-db",
        root=root / "instance",
        port=free_port(),
        admin_password=Redacted(secrets.token_urlsafe(24)),
        tls=tls,
    )
    master = MasterUser("master", Redacted("master-" + secrets.token_urlsafe(18)))
    try:
        engine.create(spec, master, Database.dbname)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return Database(engine, spec, master, root, ca_dir / "ca.pem")


def scan_for(needles: list[str], places: list[Path]) -> list[tuple[str, Path]]:
    """Every (needle, file) where a plaintext occurs in a file under ``places``."""
    encoded = [(n, n.encode()) for n in needles]
    hits: list[tuple[str, Path]] = []
    for place in places:
        files = [place] if place.is_file() else [p for p in place.rglob("*") if p.is_file()]
        for path in files:
            try:
                data = path.read_bytes()
            except OSError:
                continue
            hits.extend((n, path) for n, raw in encoded if raw in data)
    return hits
