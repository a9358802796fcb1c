"""Instance lifecycle against real PostgreSQL: create, stop/start, adopt after a warden
restart, crash (kill -9) detection and recovery, destroy without orphans, and creation
failures that leave nothing behind."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import time
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from engine_helpers import Ca, MakeSpec, connect, with_parameters

from warden.core.redacted import Redacted
from warden.engines.base import InstanceSpec, InstanceState, MasterUser
from warden.engines.errors import (
    EngineError,
    InvalidParameters,
    LoginFailed,
    PortInUse,
    StartFailed,
)
from warden.engines.postgres import PostgresEngine
from warden.engines.postgres.process import instance_processes

pytestmark = pytest.mark.slow


def _processes_under(root: Path) -> list[int]:
    """Every process whose working directory is inside ``root`` (any user)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cwd = os.readlink(f"/proc/{entry}/cwd")
            except OSError:
                continue
            if cwd == str(root) or cwd.startswith(str(root) + "/"):
                found.append(int(entry))
    return found


def _wait_for(engine: PostgresEngine, spec: InstanceSpec, state: InstanceState) -> None:
    deadline = time.monotonic() + 30
    while engine.status(spec).state is not state:
        if time.monotonic() > deadline:
            pytest.fail(f"instance never became {state.value}: {engine.status(spec)}")
        time.sleep(0.05)


def test_lifecycle(engine: PostgresEngine, make_spec: MakeSpec, engine_root: Path) -> None:
    spec = make_spec()
    master = MasterUser("app_owner", Redacted(secrets.token_urlsafe(16)))
    assert engine.status(spec).state is InstanceState.ABSENT

    created = engine.create(spec, master, "orders")
    assert created.state is InstanceState.RUNNING and created.port == spec.port
    with connect(spec, "app_owner", master.password.reveal(), dbname="orders") as conn:
        conn.execute("CREATE TABLE t (v int)")
        conn.execute("INSERT INTO t VALUES (42)")
        conn.execute("CHECKPOINT")
        assert conn.pgconn.ssl_in_use

    engine.stop(spec)
    assert engine.status(spec).state is InstanceState.STOPPED
    assert instance_processes(spec.root / "data", engine.runner.owner) == []
    with pytest.raises(psycopg.OperationalError):
        connect(spec, "app_owner", master.password.reveal())

    started = engine.start(spec)
    assert started.state is InstanceState.RUNNING

    # A warden restart: a new engine object finds the server and verifies it is ours.
    again = PostgresEngine(engine_root / "workspace", durable=False)
    adopted = again.adopt(spec)
    assert adopted.state is InstanceState.RUNNING and adopted.pid == started.pid
    with pytest.raises(EngineError):
        again.adopt(replace(spec, port=spec.port + 1))
    with pytest.raises(LoginFailed):  # not warden's admin password: not adopted
        again.adopt(replace(spec, admin_password=Redacted("not-the-admin-password")))

    # kill -9 of the postmaster is noticed, and start recovers the instance.
    assert started.pid is not None
    os.kill(started.pid, signal.SIGKILL)
    _wait_for(engine, spec, InstanceState.CRASHED)
    assert engine.start(spec).state is InstanceState.RUNNING
    with connect(spec, "app_owner", master.password.reveal(), dbname="orders") as conn:
        assert conn.execute("SELECT v FROM t").fetchall() == [(42,)]

    engine.destroy(spec)
    assert engine.status(spec).state is InstanceState.ABSENT
    assert not spec.root.exists()
    assert _processes_under(spec.root) == []
    engine.destroy(spec)  # idempotent


def test_port_in_use_leaves_nothing(engine: PostgresEngine, make_spec: MakeSpec) -> None:
    spec = make_spec()
    with socket.create_server(("127.0.0.1", spec.port)), pytest.raises(PortInUse):
        engine.create(spec, MasterUser("m", Redacted("pw-12345678")), None)
    assert not spec.root.exists()
    assert _processes_under(spec.root) == []


def test_invalid_parameters_leave_nothing(engine: PostgresEngine, make_spec: MakeSpec) -> None:
    spec = with_parameters(make_spec(), work_mem="lots", archive_command="rm -rf /")
    with pytest.raises(InvalidParameters) as caught:
        engine.create(spec, MasterUser("m", Redacted("pw-12345678")), None)
    assert {p.name for p in caught.value.problems} == {"work_mem", "archive_command"}
    assert not spec.root.exists()


def test_reserved_master_names_are_refused(engine: PostgresEngine, make_spec: MakeSpec) -> None:
    spec = make_spec()
    for name in ("warden_admin", "rds_superuser", "pg_evil"):
        with pytest.raises(EngineError):
            engine.create(spec, MasterUser(name, Redacted("pw-12345678")), None)
        assert not spec.root.exists()


def test_existing_directory_is_refused(engine: PostgresEngine, make_spec: MakeSpec) -> None:
    spec = make_spec()
    spec.root.mkdir(parents=True)
    (spec.root / "keep.txt").write_text("not warden's")
    with pytest.raises(EngineError):
        engine.create(spec, MasterUser("m", Redacted("pw-12345678")), None)
    assert (spec.root / "keep.txt").read_text() == "not warden's"
    (spec.root / "keep.txt").unlink()
    spec.root.rmdir()


def test_certificate_from_another_ca_is_refused(
    engine: PostgresEngine, make_spec: MakeSpec, tmp_path: Path
) -> None:
    spec = make_spec()
    master = MasterUser("m", Redacted("pw-12345678"))
    engine.create(spec, master, None)
    other = tmp_path / "other-ca.pem"
    other.write_bytes(Ca.make().cert)
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        connect(spec, "m", "pw-12345678", ca_file=other)
    engine.destroy(spec)


def test_failed_start_leaves_nothing(engine: PostgresEngine, make_spec: MakeSpec, ca: Ca) -> None:
    spec = make_spec()
    other = ca.issue("other")
    broken = replace(spec, tls=replace(spec.tls, key_pem=other.key_pem))  # key ≠ certificate
    with pytest.raises(StartFailed, match="private key"):
        engine.create(broken, MasterUser("m", Redacted("pw-12345678")), None)
    assert not spec.root.exists()
    assert _processes_under(spec.root) == []
