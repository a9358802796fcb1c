"""Prepared statements and per-thread readers, on SQLite and PostgreSQL.

A prepared statement must convert values exactly as SQLAlchemy does (timestamps, JSON,
booleans), stay inside the store's transactions (a read cannot write; a failed writing
transaction leaves nothing), and refuse to run outside one.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from warden.store import schema
from warden.store.db import Store
from warden.store.prepared import Prepared

T0 = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
_ACCOUNT = "123456789012"

_INSERT_EVENT = Prepared(
    sa.insert(schema.audit_events),
    columns=[
        "event_id", "event_time", "region", "event_source", "event_name", "read_only",
        "resource_arns", "resource_types", "decision", "request_parameters",
    ],
)  # fmt: skip
_EVENTS_SINCE = Prepared(
    sa.select(
        schema.audit_events.c.event_id,
        schema.audit_events.c.event_time,
        schema.audit_events.c.read_only,
        schema.audit_events.c.resource_arns,
        schema.audit_events.c.request_parameters,
    )
    .where(schema.audit_events.c.event_time >= sa.bindparam("since"))
    .order_by(schema.audit_events.c.seq)
)
_SETTING = Prepared(
    sa.select(schema.settings.c.value).where(schema.settings.c.key == sa.bindparam("key"))
)
_SET = Prepared(sa.insert(schema.settings), columns=["key", "value"])


def _event(n: int, at: datetime) -> dict[str, object]:
    return {
        "event_id": f"e{n}",
        "event_time": at,
        "region": "us-east-1",
        "event_source": "iam.amazonaws.com",
        "event_name": "ListUsers",
        "read_only": n % 2 == 0,
        "resource_arns": [f"arn:aws:iam::{_ACCOUNT}:user/u{n}"],
        "resource_types": ["AWS::IAM::User"],
        "decision": "Allow",
        "request_parameters": {"n": n, "name": "ü'; DROP TABLE x; --"},
    }


def test_values_round_trip_as_sqlalchemy_converts_them(store: Store) -> None:
    with store.begin() as conn:
        _INSERT_EVENT.run_many(conn, [_event(n, T0 + timedelta(seconds=n)) for n in range(3)])
    with store.read() as conn:
        fast = _EVENTS_SINCE.rows(conn, since=T0 + timedelta(seconds=1))
        slow = conn.execute(
            sa.select(
                schema.audit_events.c.event_id,
                schema.audit_events.c.event_time,
                schema.audit_events.c.read_only,
                schema.audit_events.c.resource_arns,
                schema.audit_events.c.request_parameters,
            ).where(schema.audit_events.c.event_time >= T0 + timedelta(seconds=1))
        )
        assert fast == [dict(r) for r in slow.mappings()]
    assert [r["event_id"] for r in fast] == ["e1", "e2"]
    assert fast[0]["event_time"] == T0 + timedelta(seconds=1)
    assert fast[0]["event_time"].tzinfo is not None
    assert fast[0]["read_only"] is False and fast[1]["read_only"] is True
    assert fast[1]["request_parameters"] == {"n": 2, "name": "ü'; DROP TABLE x; --"}


def test_many_rows_in_several_statements_keep_every_value_in_order(store: Store) -> None:
    """More rows than one statement may carry parameters for (SQLite's multi-row INSERT is
    cut into statements): every row, every value, in order, each converted."""
    rows = [_event(n, T0 + timedelta(microseconds=n)) for n in range(3500)]  # 10 columns
    with store.begin() as conn:
        _INSERT_EVENT.run_many(conn, rows)
        _SET.run_many(conn, [{"key": f"k{n}", "value": str(n)} for n in range(11_000)])
    with store.read() as conn:
        back = _EVENTS_SINCE.rows(conn, since=T0)
        count = conn.execute(sa.select(sa.func.count()).select_from(schema.settings)).scalar()
    assert [r["event_id"] for r in back] == [f"e{n}" for n in range(3500)]
    assert [r["event_time"] for r in back] == [r["event_time"] for r in rows]
    assert back[-1]["request_parameters"] == {"n": 3499, "name": "ü'; DROP TABLE x; --"}
    assert [r["read_only"] for r in back[:4]] == [True, False, True, False]
    assert count == 11_000


def test_driver_errors_surface_as_sqlalchemy_errors(store: Store) -> None:
    with pytest.raises(IntegrityError), store.begin() as conn:
        _SET.run_many(conn, [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}])
    with store.read() as conn:
        assert _SETTING.first(conn, key="a") is None


def test_first_and_run(store: Store) -> None:
    with store.begin() as conn:
        _SET.run(conn, key="a", value="1")
        assert _SETTING.first(conn, key="a") == {"value": "1"}
        assert _SETTING.first(conn, key="missing") is None


def test_a_read_cannot_write_through_a_prepared_statement(store: Store) -> None:
    with pytest.raises(DBAPIError), store.read() as conn:
        _SET.run(conn, key="a", value="1")
    with store.read() as conn:
        assert _SETTING.first(conn, key="a") is None


def test_a_failed_writing_transaction_keeps_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.begin() as conn:
        _SET.run(conn, key="a", value="1")
        raise RuntimeError("boom")
    with store.read() as conn:
        assert _SETTING.first(conn, key="a") is None


def test_refused_outside_a_transaction(store: Store) -> None:
    with store.engine.connect() as conn, pytest.raises(RuntimeError):
        _SETTING.first(conn, key="a")


def test_statements_needing_per_execution_sql_are_refused(store: Store) -> None:
    expanding = Prepared(
        sa.select(schema.settings).where(schema.settings.c.key.in_(sa.bindparam("keys")))
    )
    with store.read() as conn, pytest.raises(ValueError):
        expanding.rows(conn, keys=["a"])


def test_nested_reads_each_get_a_snapshot_and_see_committed_writes(store: Store) -> None:
    with store.read() as outer, store.read() as inner:
        assert outer is not inner
        assert _SETTING.first(inner, key="a") is None
    with store.begin() as conn:
        _SET.run(conn, key="a", value="1")
    with store.read() as conn:  # the thread's kept connection sees the commit
        assert _SETTING.first(conn, key="a") == {"value": "1"}


def test_a_read_is_one_snapshot_and_the_next_read_sees_what_came_after(store: Store) -> None:
    def write(value: str) -> None:
        with store.begin() as conn:
            _SET.run(conn, key=value, value=value)

    with store.read() as conn:
        assert _SETTING.first(conn, key="during") is None  # the snapshot starts here
        other = threading.Thread(target=write, args=("during",))
        other.start()
        other.join()
        assert _SETTING.first(conn, key="during") is None  # still the same snapshot
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.settings)).scalar() == 0
    with store.read() as conn:
        assert _SETTING.first(conn, key="during") == {"value": "during"}


def test_a_read_that_raised_leaves_nothing_behind(store: Store) -> None:
    with pytest.raises(RuntimeError), store.read() as conn:
        assert _SETTING.first(conn, key="a") is None
        raise RuntimeError("boom")
    with store.begin() as conn:
        _SET.run(conn, key="a", value="1")
    with store.read() as conn:  # a fresh snapshot, on a working connection
        assert _SETTING.first(conn, key="a") == {"value": "1"}
        assert conn.execute(sa.select(schema.settings.c.key)).scalars().all() == ["a"]


def test_sqlite_readers_hold_no_snapshot_between_reads(tmp_path: Path) -> None:
    # A reader that kept its SQLite transaction open would pin the WAL: a TRUNCATE
    # checkpoint could not finish (it reports busy) and the file would only grow.
    store = Store.sqlite_in(tmp_path)
    try:
        for n in range(3):
            with store.read() as conn:
                _SETTING.first(conn, key="a")
            with store.begin() as conn:
                _SET.run(conn, key=f"k{n}", value="v")
        plain = sqlite3.connect(tmp_path / "warden.db", isolation_level=None)
        try:
            busy, _, _ = plain.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            plain.close()
        assert busy == 0
        assert (tmp_path / "warden.db-wal").stat().st_size == 0
    finally:
        store.close()


def test_a_read_on_a_kept_connection_still_refuses_plain_writes(store: Store) -> None:
    for _ in range(2):
        with store.read() as conn:  # a read that succeeds: its connection is kept
            assert _SETTING.first(conn, key="k") is None
        with pytest.raises(DBAPIError), store.read() as conn:
            conn.execute(sa.insert(schema.settings).values(key="k", value="v"))


def test_a_callers_error_ends_the_read_and_keeps_the_connection(tmp_path: Path) -> None:
    store = Store.sqlite_in(tmp_path)
    try:
        with store.read() as first:
            pass
        with pytest.raises(KeyError), store.read() as conn:
            assert conn is first
            _SETTING.first(conn, key="a")
            raise KeyError("a service refusing the call")
        with store.begin() as conn:
            _SET.run(conn, key="a", value="1")
        with store.read() as conn:  # same connection, a new snapshot
            assert conn is first
            assert _SETTING.first(conn, key="a") == {"value": "1"}
    finally:
        store.close()


def test_a_kept_reader_connection_refuses_prepared_statements_outside_a_read(
    tmp_path: Path,
) -> None:
    store = Store.sqlite_in(tmp_path)
    try:
        with store.read() as conn:
            kept = conn
        with pytest.raises(RuntimeError, match=r"inside Store\.read"):
            _SETTING.first(kept, key="a")
    finally:
        store.close()


def test_readers_of_ended_threads_are_closed(tmp_path: Path) -> None:
    # Per-thread readers exist on SQLite only; PostgreSQL reads use the pool.
    store = Store.sqlite_in(tmp_path)
    readers = store._readers
    assert readers is not None

    def read_once() -> None:
        with store.read() as conn:
            conn.execute(sa.select(1)).scalar_one()

    for _ in range(5):
        thread = threading.Thread(target=read_once)
        thread.start()
        thread.join()
    read_once()  # this thread asks: the ended threads' connections are closed now
    assert len(readers._open) == 1
    store.close()
    with pytest.raises(RuntimeError):
        read_once()


def test_no_writing_transaction_on_an_event_loop(store: Store) -> None:
    async def write() -> None:
        with store.begin():
            pass

    with pytest.raises(RuntimeError, match="event loop"):
        asyncio.run(write())
    with store.begin():  # off the loop, as before
        pass
