"""The audit writer never drops a record: a store that refuses writes makes it unhealthy
(the pipeline then refuses calls) and the batch is retried until the store takes it."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from warden.server.audit import AuditRecord, AuditWriter
from warden.store.db import Store
from warden.store.schema import accounts, audit_events

ACCOUNT = "123456789012"


def _record(event_id: str) -> AuditRecord:
    return AuditRecord(
        event_id, datetime.now(UTC), "rid", ACCOUNT, "us-east-1", "sts.amazonaws.com",
        "GetCallerIdentity", True, "arn:aws:iam::123456789012:user/a", "IAMUser", "a",
        "AKIAX", "127.0.0.1", "ua", (), (), "Allow", "", "", {},
    )  # fmt: skip


def _store(tmp_path: Path) -> Store:
    """A store holding the account the records name."""
    store = Store.sqlite_in(tmp_path)
    with store.begin() as conn:
        conn.execute(
            accounts.insert().values(
                account_id=ACCOUNT,
                created_at=datetime.now(UTC),
                root_password_hash="x",
                root_user_id=ACCOUNT,
            )
        )
    return store


def _wait(check: object, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_a_refusing_store_makes_it_unhealthy_and_nothing_is_lost(tmp_path: Path) -> None:
    store = _store(tmp_path)
    writer = AuditWriter(store)
    try:
        writer.record(_record("e1"))
        writer.flush()
        assert writer.healthy
        with store.engine.begin() as conn:  # the store stops taking audit records
            conn.exec_driver_sql("ALTER TABLE audit_events RENAME TO audit_events_away")
        writer.record(_record("e2"))
        assert _wait(lambda: not writer.healthy)
        with store.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE audit_events_away RENAME TO audit_events")
        assert _wait(lambda: writer.healthy)
        writer.flush()
        with store.read() as conn:
            ids = set(conn.execute(sa.select(audit_events.c.event_id)).scalars())
        assert ids == {"e1", "e2"}
    finally:
        writer.close()
        store.close()


def test_a_record_naming_one_resource_twice_is_written_once(tmp_path: Path) -> None:
    from dataclasses import replace

    from warden.store.schema import audit_resources

    store = _store(tmp_path)
    writer = AuditWriter(store)
    try:
        arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:a-AbCdEf"
        kind = "AWS::SecretsManager::Secret"
        twice = replace(_record("dup"), resource_arns=(arn, arn), resource_types=(kind, kind))
        writer.record(twice)
        writer.record(_record("after"))
        writer.flush()
        assert writer.healthy
        with store.read() as conn:
            ids = set(conn.execute(sa.select(audit_events.c.event_id)).scalars())
            names = list(conn.execute(sa.select(audit_resources.c.resource_name)).scalars())
        assert ids == {"dup", "after"} and names == [arn]
    finally:
        writer.close()
        store.close()


def test_more_than_a_batch_is_all_written_before_a_flush_returns(tmp_path: Path) -> None:
    store = _store(tmp_path)
    writer = AuditWriter(store)
    try:
        for n in range(1300):  # more than two batches
            writer.record(_record(f"e{n}"))
        writer.flush()
        with store.read() as conn:
            count = conn.execute(sa.select(sa.func.count()).select_from(audit_events)).scalar()
        assert count == 1300
        writer.record(_record("late"))
        writer.flush()
        with store.read() as conn:
            ids = conn.execute(sa.select(audit_events.c.event_id)).scalars().all()
        assert len(ids) == 1301 and "late" in ids
    finally:
        writer.close()
        store.close()
