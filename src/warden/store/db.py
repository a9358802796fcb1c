"""The control-plane store: one SQLAlchemy engine over SQLite (default) or PostgreSQL.

Invariants:
- Opening a store brings its schema to the newest Alembic revision before anything else runs.
- SQLite runs in WAL mode with ``synchronous=FULL``, foreign keys on and a busy timeout, set on
  every new connection. The sqlite3 driver's own transaction handling is switched off and
  warden emits ``BEGIN IMMEDIATE`` for every writing transaction, so writers take the write
  lock up front and queue on the busy timeout instead of failing half-way with SQLITE_BUSY
  when a read lock cannot be upgraded; within one process they first queue on a lock,
  which hands over at once where SQLite's busy handler sleeps. ``read()`` transactions
  are ``BEGIN DEFERRED`` and ``query_only``, so readers never block writers and cannot
  write by mistake.
- On PostgreSQL writers run at READ COMMITTED: read-modify-write code must lock what it reads
  (``with_for_update()``; a no-op on SQLite, where the whole database is locked) or use a single
  atomic ``UPDATE``. ``read()`` transactions are READ ONLY and REPEATABLE READ: one snapshot.
- The SQLite file (and its -wal/-shm) is mode 0600: it holds password hashes and ciphertexts.
- Connections are pooled and safe to use from a thread pool, one connection per thread at a time.
  On SQLite each thread keeps one read-only connection of its own for ``read()`` (a separate
  engine, so readers never take a writer's place in the pool): opening a pooled connection and
  its transaction costs more than a small query. A nested ``read()`` on the same thread gets
  a fresh connection; connections of threads that ended are closed when a new thread asks.
  Inside a ``snapshot()`` the thread's reads share one transaction instead (a ``fresh`` read,
  for a cache that must not fill from an older view, still gets one of its own).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

log = logging.getLogger("warden.store")

DB_FILE_NAME = "warden.db"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_S = 30.0
_READ_ONLY = "warden_read_only"
# Set in a reader connection's info while one of its reads is open (its SQLAlchemy
# transaction lasts its whole life, so in_transaction() cannot tell).
READING = "warden_reading"
Dialect = Literal["sqlite", "postgresql"]
_MIGRATION_LOCK = threading.Lock()


class Store:
    """The engine plus the transaction discipline every caller goes through."""

    def __init__(self, engine: Engine, dialect: Dialect) -> None:
        self.engine = engine
        self.dialect: Dialect = dialect
        self._readers = _Readers(engine) if dialect == "sqlite" else None
        self._writer = threading.RLock() if dialect == "sqlite" else None
        self._after_commit: dict[Connection, list[Callable[[], None]]] = {}  # open begin()s

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect to ``url`` (``sqlite:///PATH`` or ``postgresql[+psycopg]://…``) and migrate."""
        return cls._open(make_url(url))

    @classmethod
    def sqlite_in(cls, data_dir: Path) -> Store:
        """The default store: ``DIR/warden.db``."""
        return cls._open(URL.create("sqlite+pysqlite", database=str(data_dir / DB_FILE_NAME)))

    @classmethod
    def _open(cls, url: URL) -> Store:
        engine, dialect = _create_engine(url)
        try:
            if dialect == "sqlite" and not url.query.get("uri"):
                _make_private(Path(str(url.database)))
            upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, dialect)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One writing transaction: committed on normal exit, rolled back on an exception.
        Refused on a thread running an asyncio event loop: waiting there for SQLite's write
        lock would stall every request the server is serving."""
        if _on_event_loop():
            raise RuntimeError("a writing transaction must not run on the event loop")
        if self._readers is not None and self._readers.sharing():
            # Its write would be invisible to the snapshot's later reads.
            raise RuntimeError("a writing transaction must not run inside a snapshot")
        hooks: list[Callable[[], None]] = []
        with self._writing() as conn:
            self._after_commit[conn] = hooks
            try:
                yield conn
            finally:
                del self._after_commit[conn]
        for hook in hooks:  # committed, and the write lock released
            try:
                hook()
            except Exception:  # the transaction stands: report the hook, run the rest
                log.exception("a hook after a committed transaction failed")

    def after_commit(self, conn: Connection, hook: Callable[[], None]) -> None:
        """Run ``hook`` once the ``begin()`` transaction ``conn`` belongs to has committed
        (never if it rolls back). A hook that raises is logged: the data is already durable,
        so the caller still sees its transaction succeed."""
        hooks = self._after_commit.get(conn)
        if hooks is None:
            raise RuntimeError("after_commit needs the connection of an open begin()")
        hooks.append(hook)

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        if self._writer is None:
            with self.engine.begin() as conn:
                yield conn
            return
        # SQLite: this process's writers queue on a lock of their own, which hands over the
        # moment it is released, rather than in SQLite's busy handler, which sleeps 1, 2, 5,
        # 10, 15, 20, 25… ms between looks at the file lock (a waiter behind a 1 ms commit
        # could sleep 100 ms). Reentrant, so a nested begin() behaves as before: SQLite's
        # busy timeout decides. Other processes still meet on SQLite's lock.
        if not self._writer.acquire(timeout=BUSY_TIMEOUT_S):
            raise sa.exc.OperationalError(
                "BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")
            )
        try:
            with self.engine.begin() as conn:
                yield conn
        finally:
            self._writer.release()

    @contextmanager
    def read(self, *, fresh: bool = False) -> Iterator[Connection]:
        """One read-only transaction: a consistent snapshot; any write in it fails. Inside a
        ``snapshot()`` it is the snapshot's, unless ``fresh``: a read that fills a cache its
        invalidation guards (IAM's policy sets) must see the store as of now, not as of the
        snapshot's first read."""
        if self._readers is not None:
            with self._readers.transaction(fresh=fresh) as conn:
                yield conn
            return
        with self.engine.connect() as conn:
            if self.dialect == "postgresql":
                # READ COMMITTED would let each statement see a newer state: a read is one
                # snapshot on either store (a read-only transaction never fails to serialize).
                conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            else:
                conn.execution_options(**{_READ_ONLY: True})
            with conn.begin():
                yield conn

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """The reads this thread makes inside share one read transaction, so they see one
        state of the store and pay for one BEGIN and COMMIT (a plain read call on the
        server's event loop reads a secret, its versions and its KMS key: one snapshot);
        the first read begins it, so a call that reads nothing pays nothing. A ``begin()``
        inside is refused (the snapshot's later reads would not see its write). A read that
        fails in the database ends the snapshot's transaction (a later read begins another);
        the final COMMIT of a snapshot whose reads all succeeded cannot fail the call (its
        answer is made; the failure is logged). On PostgreSQL each read stays a transaction
        of its own."""
        if self._readers is None:
            yield
            return
        with self._readers.shared():
            yield

    def close(self) -> None:
        if self._readers is not None:
            self._readers.close()
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the Alembic migrations up to ``revision`` (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # alembic's `context`/`op` proxies are process-global, so one migration at a time per
    # process; env.py serialises processes (nodes) with a database lock.
    with _MIGRATION_LOCK, engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def _make_private(path: Path) -> None:
    # Created 0600 before SQLite opens it (SQLite gives its -wal/-shm files the same mode);
    # an existing wider file is tightened rather than refused: the store is ours to fix.
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def _create_engine(url: URL) -> tuple[Engine, Dialect]:
    backend = url.get_backend_name()
    pool: dict[str, Any] = {"pool_size": 8, "max_overflow": 24, "pool_timeout": 60}
    if backend == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        return sa.create_engine(url, pool_pre_ping=True, **pool), "postgresql"
    if backend == "sqlite":
        if url.database in (None, "", ":memory:") or "mode=memory" in str(url):
            raise ValueError("the store needs a SQLite file; in-memory databases are not shared")
        engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S}, **pool)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine, "sqlite"
    raise ValueError(f"unsupported store URL scheme {url.drivername!r}: use sqlite or postgresql")


def _sqlite_on_connect(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
    # Take transaction control away from the sqlite3 driver: it would not BEGIN before SELECTs
    # or DDL (breaking snapshot reads and transactional migrations); _sqlite_on_begin does it.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise RuntimeError(f"SQLite refused WAL journal mode (got {mode!r})")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


@dataclass
class _Share:
    """A snapshot's transaction: opened on ``stack`` by its first read."""

    stack: ExitStack = field(default_factory=ExitStack)
    conn: Connection | None = None

    def end(self, exc: BaseException | None) -> None:
        """End the open transaction (COMMIT, or as ``exc`` ends it); ready for another."""
        stack, self.stack, self.conn = self.stack, ExitStack(), None
        if exc is None:
            stack.close()
        else:
            stack.__exit__(type(exc), exc, exc.__traceback__)


class _Readers:
    """One read-only SQLite connection per thread, from an unpooled engine of its own.

    Each ``read()`` is a real SQLite transaction, begun and ended on the driver
    (``BEGIN DEFERRED`` … ``COMMIT``), while the SQLAlchemy connection stays in one logical
    transaction for its whole life, begun once when it opens: SQLAlchemy's begin/commit
    machinery (events, transaction objects) cost seven times SQLite's own BEGIN and COMMIT,
    on every read of every request. SQLAlchemy statements and ``Prepared`` ones alike run
    inside the driver's transaction; ``Prepared`` refuses a reader connection outside a
    read (``READING``). A read the caller's own error ended is rolled back; one the
    database failed closes its connection (the next read opens a fresh one). Inside a
    snapshot (``shared``) the reads are one transaction: a caller's error ends it only when
    it leaves the snapshot; a database failure ends it at once."""

    def __init__(self, engine: Engine) -> None:
        self._engine = sa.create_engine(
            engine.url, poolclass=NullPool, connect_args={"timeout": BUSY_TIMEOUT_S}
        )
        event.listen(self._engine, "connect", _sqlite_on_connect)
        event.listen(self._engine, "begin", _sqlite_on_begin)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: dict[int, tuple[threading.Thread, Connection]] = {}
        self._closed = False

    @contextmanager
    def shared(self) -> Iterator[None]:
        """Reads on this thread inside join one transaction (``Store.snapshot``), begun by
        the first of them (a call that reads nothing begins none) and ended here."""
        local = self._local
        if getattr(local, "reading", False) or self.sharing():
            yield  # inside a read or a snapshot already: its reads stay as they are
            return
        share = local.share = _Share()
        try:
            yield
        except BaseException as exc:
            local.share = None
            share.end(exc)
            raise
        local.share = None
        try:
            share.end(None)
        except sa.exc.SQLAlchemyError:  # the reads were made; the connection is gone with it
            log.exception("ending a read snapshot failed")

    def sharing(self) -> bool:
        """Whether this thread is inside a ``snapshot()``."""
        return getattr(self._local, "share", None) is not None

    @contextmanager
    def transaction(self, *, fresh: bool = False) -> Iterator[Connection]:
        local = self._local
        share: _Share | None = getattr(local, "share", None)
        if share is not None and not fresh:  # in a snapshot: its transaction, ending with it
            if share.conn is None:
                local.share = None  # the transaction below is a plain one, kept open ...
                try:
                    share.conn = share.stack.enter_context(self.transaction())
                finally:
                    local.share = share  # ... until the snapshot ends it
            opened = share.conn
            try:
                yield opened
            except sa.exc.SQLAlchemyError as exc:
                if share.conn is opened:  # the database failed: drop it, as a read does
                    share.end(exc)
                raise
            return
        if getattr(local, "reading", False):  # nested: a connection just for this one
            with self._engine.connect() as other:
                other.execution_options(**{_READ_ONLY: True})
                with other.begin():
                    yield other
            return
        conn: Connection | None = getattr(local, "conn", None)
        if conn is None or conn.closed or conn.invalidated:
            conn = local.conn = self._connect()
            local.driver = conn.connection.driver_connection
        driver = local.driver
        local.reading = True
        try:
            _on_driver(conn, driver, "BEGIN DEFERRED")
            conn.info[READING] = True
            try:
                yield conn
            except sa.exc.SQLAlchemyError:
                self._drop(conn)  # the database's own failure: a fresh connection next time
                raise
            except BaseException:
                # The caller's error (a service refusing the call, say): end the snapshot and
                # keep the connection, unless even that fails.
                try:
                    _on_driver(conn, driver, "ROLLBACK")
                except sa.exc.DBAPIError:
                    self._drop(conn)
                raise
            _on_driver(conn, driver, "COMMIT")
        except sa.exc.DBAPIError:
            self._drop(conn)
            raise
        finally:
            if not conn.closed:  # a dropped connection is gone with its flag
                conn.info[READING] = False
            local.reading = False

    def _drop(self, conn: Connection) -> None:
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None
            self._forget(conn)  # closing it ends whatever transaction it still had

    def _connect(self) -> Connection:
        conn = self._engine.connect()
        conn.execution_options(**{_READ_ONLY: True})
        conn.begin()  # the logical transaction of the connection's life (query_only set) ...
        _driver_execute(conn, "COMMIT")  # ... holding no SQLite transaction between reads
        me = threading.current_thread()
        with self._lock:
            if self._closed:
                conn.close()
                raise RuntimeError("the store is closed")
            for ident, (thread, old) in list(self._open.items()):
                if not thread.is_alive():
                    del self._open[ident]
                    old.close()
            self._open[me.ident or 0] = (me, conn)
        return conn

    def _forget(self, conn: Connection) -> None:
        with self._lock:
            for ident, (_, known) in list(self._open.items()):
                if known is conn:
                    del self._open[ident]
        with suppress(sa.exc.SQLAlchemyError):  # a broken connection still goes
            conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns = [conn for _, conn in self._open.values()]
            self._open.clear()
        for conn in conns:
            conn.close()
        self._engine.dispose()


def _sqlite_on_begin(conn: Connection) -> None:
    # query_only is connection state, so a transaction sets it when the pooled connection's
    # last one differed: readers on, writers off (remembered in the connection's info).
    # Both go straight to the driver: statements without parameters or results gain nothing
    # from SQLAlchemy's execution machinery, which costs more than SQLite does here.
    read_only = bool(conn.get_execution_options().get(_READ_ONLY))
    if conn.info.get(_READ_ONLY) is not read_only:
        _driver_execute(conn, f"PRAGMA query_only = {'ON' if read_only else 'OFF'}")
        conn.info[_READ_ONLY] = read_only
    _driver_execute(conn, "BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")


def _driver_execute(conn: Connection, sql: str) -> None:
    _on_driver(conn, conn.connection.driver_connection, sql)


def _on_driver(conn: Connection, driver: Any, sql: str) -> None:
    # SQLAlchemy does not wrap what a begin listener (or a statement sent to the driver)
    # raises: errors (a busy database) are turned into its exceptions here, as
    # exec_driver_sql would.
    try:
        driver.execute(sql)
    except sqlite3.Error as exc:
        error = conn.dialect.loaded_dbapi.Error
        raise sa.exc.DBAPIError.instance(sql, None, exc, error, dialect=conn.dialect) from exc
