"""The store: migrations, schema agreement, SQLite hardening, transaction discipline."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import DBAPIError, IntegrityError

from warden.store import db, schema
from warden.store.db import MIGRATIONS_DIR, Store, upgrade

T0 = datetime(2030, 1, 1, tzinfo=UTC)
HEAD = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def _account(conn: sa.Connection, account_id: str = "123456789012") -> None:
    conn.execute(
        sa.insert(schema.accounts).values(
            account_id=account_id,
            created_at=T0,
            root_password_hash="$scrypt$...",
            root_user_id=f"root-{account_id}",
        )
    )


def _user(conn: sa.Connection, user_id: str, name: str, account_id: str = "123456789012") -> None:
    conn.execute(
        sa.insert(schema.iam_users).values(
            user_id=user_id,
            account_id=account_id,
            name=name,
            name_lower=name.lower(),
            path="/",
            arn=f"arn:aws:iam::{account_id}:user/{name}",
            created_at=T0,
        )
    )


def test_migrations_create_every_table_and_rerun_as_noop(store_url: str) -> None:
    with Store.open(store_url) as first:
        upgrade(first.engine)  # a second `upgrade head` on a migrated database
        with first.read() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    assert set(schema.metadata.tables) <= tables
    assert version == HEAD
    with Store.open(store_url) as again, again.read() as conn:
        rows = conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar()
    assert rows == 1


def test_migrated_database_matches_schema_module(store: Store) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, schema.metadata)
    assert diff == []


def test_sqlite_file_is_private_and_hardened(tmp_path: Path) -> None:
    with Store.sqlite_in(tmp_path) as store:
        with store.begin() as conn:
            _account(conn)
        with store.read() as conn:
            pragmas = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert pragmas["journal_mode"] == "wal"
    assert pragmas["synchronous"] == 2  # FULL
    assert pragmas["foreign_keys"] == 1
    assert int(pragmas["busy_timeout"] or 0) > 0
    assert modes["warden.db"] == 0o600
    assert all(mode == 0o600 for mode in modes.values()), modes


def test_sqlite_in_tightens_a_wider_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "warden.db"
    path.touch()
    os.chmod(path, 0o644)
    Store.sqlite_in(tmp_path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_in_memory_sqlite_and_other_schemes_are_refused() -> None:
    with pytest.raises(ValueError, match="file"):
        Store.open("sqlite://")
    with pytest.raises(ValueError, match="unsupported"):
        Store.open("mysql://localhost/x")


def test_foreign_keys_are_enforced(store: Store) -> None:
    with pytest.raises(IntegrityError), store.begin() as conn:
        _user(conn, "AIDAORPHAN", "orphan", account_id="999999999999")


def test_iam_names_are_unique_per_account_ignoring_case(store: Store) -> None:
    with store.begin() as conn:
        _account(conn)
        _account(conn, "210987654321")
        _user(conn, "AIDA1", "Alice")
        _user(conn, "AIDA2", "Alice", account_id="210987654321")
    with pytest.raises(IntegrityError), store.begin() as conn:
        conn.execute(
            sa.insert(schema.iam_users).values(
                user_id="AIDA3",
                account_id="123456789012",
                name="ALICE",
                name_lower="alice",
                path="/other/",
                arn="arn:aws:iam::123456789012:user/other/ALICE",
                created_at=T0,
            )
        )


def test_deleting_a_group_or_user_removes_memberships(store: Store) -> None:
    members = schema.iam_group_members
    with store.begin() as conn:
        _account(conn)
        _user(conn, "AIDA1", "alice")
        _user(conn, "AIDA2", "bob")
        conn.execute(
            sa.insert(schema.iam_groups).values(
                group_id="AGPA1",
                account_id="123456789012",
                name="Admins",
                name_lower="admins",
                path="/",
                arn="arn:aws:iam::123456789012:group/Admins",
                created_at=T0,
            )
        )
        conn.execute(
            sa.insert(members), [{"group_id": "AGPA1", "user_id": u} for u in ("AIDA1", "AIDA2")]
        )
    with store.begin() as conn:
        conn.execute(sa.delete(schema.iam_users).where(schema.iam_users.c.user_id == "AIDA1"))
    with store.read() as conn:
        assert conn.execute(sa.select(members.c.user_id)).scalars().all() == ["AIDA2"]
    with store.begin() as conn:
        conn.execute(sa.delete(schema.iam_groups))
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(members)).scalar() == 0


def test_timestamps_come_back_aware_utc_and_naive_ones_are_refused(store: Store) -> None:
    plus_five = datetime(2030, 6, 1, 17, 30, tzinfo=timezone(timedelta(hours=5)))
    with store.begin() as conn:
        conn.execute(
            sa.insert(schema.accounts).values(
                account_id="123456789012",
                created_at=plus_five,
                root_password_hash="h",
                root_user_id="r",
            )
        )
    with store.read() as conn:
        got = conn.execute(sa.select(schema.accounts.c.created_at)).scalar_one()
    assert got == plus_five
    assert got.utcoffset() == timedelta(0)
    assert got.hour == 12
    with pytest.raises(sa.exc.StatementError, match="naive"), store.begin() as conn:
        _account(conn, "000000000001")
        conn.execute(sa.update(schema.accounts).values(created_at=datetime(2030, 1, 1)))


def test_audit_seq_orders_events_and_resources_cascade(store: Store) -> None:
    events = schema.audit_events
    rows = [
        {
            "event_id": f"ev-{i}",
            "event_time": T0,
            "region": "us-east-1",
            "event_source": "iam.amazonaws.com",
            "event_name": "ListUsers",
            "read_only": True,
            "decision": "Allow",
        }
        for i in range(3)
    ]
    with store.begin() as conn:
        for row in rows:
            conn.execute(sa.insert(events).values(row))
        conn.execute(
            sa.insert(schema.audit_resources).values(
                event_id="ev-1", resource_name="alice", resource_type="AWS::IAM::User"
            )
        )
    with store.read() as conn:
        newest_first = conn.execute(
            sa.select(events.c.event_id, events.c.resource_arns).order_by(events.c.seq.desc())
        ).all()
    assert [r.event_id for r in newest_first] == ["ev-2", "ev-1", "ev-0"]
    assert all(r.resource_arns == [] for r in newest_first)
    with store.begin() as conn:
        conn.execute(sa.delete(events).where(events.c.event_id == "ev-1"))
    with store.read() as conn:
        left = conn.execute(sa.select(sa.func.count()).select_from(schema.audit_resources))
        assert left.scalar() == 0


def test_closed_sets_are_checked(store: Store) -> None:
    with pytest.raises(IntegrityError), store.begin() as conn:
        _account(conn)
        conn.execute(
            sa.insert(schema.access_keys).values(
                access_key_id="AKIAEXAMPLE",
                account_id="123456789012",
                status="Enabled",
                secret_ciphertext=b"\x00",
                created_at=T0,
            )
        )


def test_a_failed_transaction_leaves_nothing_behind(store: Store) -> None:
    with pytest.raises(RuntimeError), store.begin() as conn:
        conn.execute(sa.insert(schema.settings).values(key="k", value="v"))
        raise RuntimeError("boom")
    with store.read() as conn:
        assert conn.execute(sa.select(schema.settings)).all() == []


def test_after_commit_hooks_run_once_committed_and_never_after_a_rollback(store: Store) -> None:
    def seen() -> list[str]:  # what a new reader sees when the hook runs
        with store.read() as conn:
            return list(conn.execute(sa.select(schema.settings.c.value)).scalars())

    ran: list[list[str]] = []
    with store.begin() as conn:
        conn.execute(sa.insert(schema.settings).values(key="k", value="v"))
        store.after_commit(conn, lambda: ran.append(seen()))
        assert ran == []
    assert ran == [["v"]]
    with pytest.raises(RuntimeError), store.begin() as conn:
        store.after_commit(conn, lambda: ran.append(["rolled back"]))
        raise RuntimeError("boom")
    assert ran == [["v"]]
    with store.read() as conn, pytest.raises(RuntimeError, match="open begin"):
        store.after_commit(conn, lambda: None)


def test_a_failing_after_commit_hook_is_logged_and_the_others_still_run(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    def boom() -> None:
        raise ValueError("hook bug")

    with store.begin() as conn:
        conn.execute(sa.insert(schema.settings).values(key="k", value="v"))
        store.after_commit(conn, boom)
        store.after_commit(conn, lambda: ran.append("second"))
    assert ran == ["second"]
    assert "hook after a committed transaction failed" in caplog.text
    with store.read() as conn:
        assert conn.execute(sa.select(schema.settings.c.value)).scalar_one() == "v"


def test_read_transactions_cannot_write(store: Store) -> None:
    with pytest.raises(DBAPIError), store.read() as conn:
        conn.execute(sa.insert(schema.settings).values(key="k", value="v"))
    # The pooled connection that refused the write still writes in a writing transaction.
    with store.begin() as conn:
        conn.execute(sa.insert(schema.settings).values(key="k", value="v"))
    with store.read() as conn:
        assert conn.execute(sa.select(schema.settings.c.value)).scalar_one() == "v"


def test_sqlite_url_files_are_private_too(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.db"
    with Store.open(f"sqlite:///{path}") as store:
        assert store.dialect == "sqlite"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_nodes_starting_together_migrate_once(store_url: str) -> None:
    # Separate processes, as separate warden nodes would be, all opening one fresh store.
    script = "import sys; from warden.store.db import Store; Store.open(sys.argv[1]).close()"
    nodes = [
        subprocess.Popen([sys.executable, "-c", script, store_url], stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    outcomes = [(node.communicate(timeout=120)[1], node.returncode) for node in nodes]
    assert [code for _, code in outcomes] == [0, 0, 0], outcomes
    with Store.open(store_url) as store, store.read() as conn:
        versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
        assert versions.all() == [HEAD]


def test_threads_opening_one_store_together_are_serialised(store_url: str) -> None:
    opened: list[Store] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            opened.append(Store.open(store_url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for store in opened:
        store.close()
    assert errors == []
    assert len(opened) == 3


@pytest.mark.postgres
def test_plain_postgresql_urls_use_psycopg(pg_url: str) -> None:
    with Store.open(pg_url.replace("postgresql+psycopg://", "postgresql://")) as store:
        assert store.dialect == "postgresql"
        assert store.engine.driver == "psycopg"


def test_a_snapshot_serves_the_reads_inside_from_one_transaction(store: Store) -> None:
    with store.begin() as conn:
        _account(conn)
        _user(conn, "u1", "one")

    def users() -> tuple[sa.Connection, int]:
        with store.read() as conn:
            return conn, len(conn.execute(sa.select(schema.iam_users)).all())

    def add(user_id: str, name: str) -> None:  # another thread, as another request would
        def write() -> None:
            with store.begin() as conn:
                _user(conn, user_id, name)

        writer = threading.Thread(target=write)
        writer.start()
        writer.join()

    sqlite = store.dialect == "sqlite"
    with store.snapshot():
        first, seen = users()
        assert seen == 1
        add("u2", "two")
        second, seen = users()
        # SQLite: the same transaction, so the same state; PostgreSQL: reads of their own.
        assert (second is first, seen) == ((True, 1) if sqlite else (False, 2))
    assert users()[1] == 2
    # A caller's error inside ends the snapshot; the next reads go on as before.
    with pytest.raises(LookupError), store.snapshot():
        users()
        raise LookupError("not found")
    add("u3", "three")
    assert users()[1] == 3


def test_a_snapshot_begins_at_its_first_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite's (on PostgreSQL each read in a snapshot stays a transaction of its own).
    with Store.open(f"sqlite:///{tmp_path / 'warden.db'}") as store:

        def read_settings() -> None:
            with store.read() as conn:
                conn.execute(sa.select(schema.settings)).all()

        read_settings()  # this thread's reader connection is open
        sent: list[str] = []
        real = db._on_driver

        def recorded(conn: sa.Connection, driver: object, sql: str) -> None:
            sent.append(sql)
            real(conn, driver, sql)

        monkeypatch.setattr(db, "_on_driver", recorded)
        with store.snapshot():
            pass
        assert sent == []  # nothing read: no transaction
        with store.snapshot(), store.snapshot():  # a snapshot inside one is the same one
            for _ in range(3):
                read_settings()
        assert sent == ["BEGIN DEFERRED", "COMMIT"]


def test_a_database_failure_inside_a_snapshot_ends_only_its_transaction(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'warden.db'}") as store:
        with store.begin() as conn:
            _account(conn)
        with store.snapshot():
            with pytest.raises(DBAPIError), store.read() as conn:
                # What a lost connection looks like (Prepared invalidates it, then raises).
                conn.invalidate()
                raise sa.exc.OperationalError("SELECT 1", None, sqlite3.OperationalError("gone"))
            # Caught by the caller, as the pipeline does: the next read begins afresh.
            with store.read() as conn:
                assert len(conn.execute(sa.select(schema.accounts)).all()) == 1
        with store.read() as conn:
            assert len(conn.execute(sa.select(schema.accounts)).all()) == 1
        # Inside a snapshot nothing is written: the snapshot's reads would not see it.
        with (
            pytest.raises(RuntimeError, match="inside a snapshot"),
            store.snapshot(),
            store.begin(),
        ):
            pass
