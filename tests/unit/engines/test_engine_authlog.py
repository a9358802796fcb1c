"""Authentication events from the jsonlog files: real logins seen by a real server, and
the cursor's rotation safety on synthetic files."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from engine_helpers import Running, connect

from warden.engines.base import AuthEvent, AuthEventKind, AuthFailure, LogCursor
from warden.engines.postgres import PostgresEngine, authlog

RECEIVED = {"timestamp": "2030-01-02 03:04:05.678 UTC", "message": "connection received: "
            "host=10.1.2.3 port=5555", "remote_host": "10.1.2.3", "remote_port": 5555,
            "session_id": "s1"}  # fmt: skip


def _events_until(
    engine: PostgresEngine, running: Running, cursor: LogCursor
) -> tuple[list[AuthEvent], LogCursor]:
    """Read until the last expected event (the disconnection) arrived; the logging
    collector writes asynchronously."""
    found: list[AuthEvent] = []
    deadline = time.monotonic() + 20
    while True:
        batch = engine.auth_events(running.spec, cursor)
        cursor = batch.cursor
        found += [e for e in batch.events if not e.internal]
        done = any(e.kind is AuthEventKind.DISCONNECTED for e in found)
        if done or time.monotonic() > deadline:
            return found, cursor
        time.sleep(0.05)


@pytest.mark.slow
def test_failed_and_successful_logins(engine: PostgresEngine, running: Running) -> None:
    spec, master = running.spec, running.master
    start = engine.auth_events(spec, LogCursor())
    cursor = start.cursor
    with pytest.raises(psycopg.OperationalError):
        connect(spec, master.username, "wrong-password")
    with pytest.raises(psycopg.OperationalError):
        connect(spec, "nobody_here", "whatever")
    connect(spec, master.username, master.password.reveal(), dbname="appdb").close()

    # received + failed, received + failed, received + succeeded + disconnected
    events, cursor = _events_until(engine, running, cursor)
    failed = [e for e in events if e.kind is AuthEventKind.LOGIN_FAILED]
    assert [(e.user, e.failure) for e in failed] == [
        (master.username, AuthFailure.BAD_PASSWORD),
        ("nobody_here", AuthFailure.UNKNOWN_ROLE),
    ]
    assert all(e.remote_host == "127.0.0.1" and e.remote_port for e in failed)
    assert "password authentication failed" in failed[0].reason
    ok = [e for e in events if e.kind is AuthEventKind.LOGIN_SUCCEEDED]
    assert [(e.user, e.database, e.ssl) for e in ok] == [(master.username, "appdb", True)]
    assert ok[0].session_id and ok[0].time.year >= 2024
    kinds = [e.kind for e in events]
    assert kinds.count(AuthEventKind.CONNECTION_RECEIVED) == 3
    assert kinds.count(AuthEventKind.DISCONNECTED) == 1

    again = engine.auth_events(spec, cursor)  # nothing new for users: no repeats
    assert [e for e in again.events if not e.internal] == []


def _write(path: Path, *records: dict[str, object], tail: str = "") -> None:
    with open(path, "a") as fh:
        for record in records:
            fh.write(json.dumps(record) + "\n")
        fh.write(tail)


def test_cursor_is_rotation_safe(tmp_path: Path) -> None:
    first = tmp_path / "postgresql-20300102-030405.json"
    _write(first, RECEIVED, tail='{"message": "connection rec')
    batch = authlog.read(tmp_path, LogCursor())
    assert [e.kind for e in batch.events] == [AuthEventKind.CONNECTION_RECEIVED]
    assert batch.events[0].remote_host == "10.1.2.3" and not batch.more

    # The torn line is completed; a rotated file appears; both are read once.
    failed = {**RECEIVED, "message": 'no pg_hba.conf entry for host "10.1.2.3", user "u", '
              'database "d", no encryption', "error_severity": "FATAL", "state_code": "28000",
              "user": "u", "dbname": "d"}  # fmt: skip
    with open(first, "a") as fh:
        fh.write('eived: host=x"}\n')
    second = tmp_path / "postgresql-20300103-000000.json"
    _write(second, failed, {"message": "statement: SELECT 1"}, tail="not json at all\n")
    batch = authlog.read(tmp_path, batch.cursor)
    assert [(e.kind, e.failure, e.ssl) for e in batch.events] == [
        (AuthEventKind.CONNECTION_RECEIVED, None, None),
        (AuthEventKind.LOGIN_FAILED, AuthFailure.NOT_ADMITTED, False),
    ]
    assert authlog.read(tmp_path, batch.cursor).events == ()

    # A file replaced by a shorter one is read from its start; a deleted one is forgotten.
    first.unlink()
    _write(first, RECEIVED)
    batch = authlog.read(tmp_path, batch.cursor)
    assert len(batch.events) == 1
    second.unlink()
    assert dict(authlog.read(tmp_path, batch.cursor).cursor.offsets).keys() == {first.name}


def test_reads_are_bounded(tmp_path: Path) -> None:
    path = tmp_path / "postgresql-20300102-030405.json"
    _write(path, *([RECEIVED] * 50))
    size = path.stat().st_size
    batch = authlog.read(tmp_path, LogCursor(), max_bytes=size // 3)
    assert batch.more and 0 < len(batch.events) < 50
    seen = len(batch.events)
    while batch.more:
        batch = authlog.read(tmp_path, batch.cursor, max_bytes=size // 3)
        seen += len(batch.events)
    assert seen == 50


def test_prune_keeps_the_current_file(tmp_path: Path) -> None:
    names = [f"postgresql-2030010{d}-000000.json" for d in (1, 2, 3)]
    for name in names:
        _write(tmp_path / name, RECEIVED)
        os.utime(tmp_path / name, (0, 0))  # all written long ago
    assert authlog.prune(tmp_path, datetime.now(UTC)) == 2
    assert [p.name for p in tmp_path.iterdir()] == [names[-1]]
