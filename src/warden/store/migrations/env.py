"""Alembic environment for the control-plane store, run programmatically by ``db.upgrade``.

Invariants: migrations always run on the connection the caller hands over in
``config.attributes["connection"]`` (no alembic.ini, no URL here) and in one transaction, so a
failed upgrade leaves the previous schema intact. On PostgreSQL a transaction-scoped advisory
lock serialises nodes that start at the same time against one shared store; on SQLite the
store's ``BEGIN IMMEDIATE`` does the same (with ``transactional_ddl`` forced on, see ``_run``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context
from sqlalchemy.engine import Connection

from warden.store.schema import metadata

# Arbitrary but fixed: the key every warden node locks while migrating ("warden" in ASCII).
_MIGRATION_LOCK_KEY = 0x77617264656E


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # Alembic assumes SQLite cannot roll back DDL and would commit after each revision,
        # letting a second node read the version table half-way. warden's SQLite connections
        # do run DDL inside the BEGIN IMMEDIATE transaction, so the whole upgrade is one.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        context.run_migrations()


def _main() -> None:
    if context.is_offline_mode():
        raise RuntimeError("offline (SQL script) migrations are not supported")
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("run migrations through warden.store.db.upgrade()")
    _run(connection)


_main()
