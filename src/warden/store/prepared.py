"""Statements compiled once and run on the driver's cursor, for the calls every request makes.

SQLAlchemy's per-execution work (cache keys, parameter construction, result objects, events)
costs several times what SQLite itself spends on a small query or a batch insert; the
request path (credential and policy lookups, describe calls, the audit trail) pays it on
every call. A ``Prepared`` compiles its Core statement once per dialect with SQLAlchemy's
own compiler and keeps the bind and result processors of the statement's column types, so
values are converted exactly as SQLAlchemy converts them (``UtcDateTime``, JSON, Boolean).

Invariants: a prepared statement always runs on the DBAPI connection of a SQLAlchemy
``Connection`` inside that connection's transaction (``Store.read``/``Store.begin``), so
transaction boundaries, isolation and ``query_only``/READ ONLY are the store's; values are
always bound as parameters, never written into the SQL text; statements needing
per-execution SQL (expanding ``IN`` lists, post-compile limits) are refused when prepared.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.engine.interfaces import DBAPIModule
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement, Insert, Select
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import TypeEngine

from .db import READING

Processor = Callable[[Any], Any] | None
Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # bind names in the order the driver expects them
    positional: bool
    binds: tuple[Processor, ...]
    columns: tuple[str, ...]
    # The result columns SQLAlchemy converts (name, position, processor); the rest as read.
    converting: tuple[tuple[str, int, Callable[[Any], Any]], ...]
    values_group: str | None = None  # an INSERT's "(?, ?, ...)", repeatable for more rows

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        converted = [
            value if proc is None else proc(value)
            for value, proc in zip((values[n] for n in self.names), self.binds, strict=True)
        ]
        return converted if self.positional else dict(zip(self.names, converted, strict=True))

    def row(self, raw: Sequence[Any]) -> Row:
        out = dict(zip(self.columns, raw, strict=True))
        for name, index, proc in self.converting:
            out[name] = proc(raw[index])
        return out


class Prepared:
    """One statement; ``columns`` names an INSERT's/UPDATE's parameters (all given per row)."""

    def __init__(self, statement: ClauseElement, *, columns: Iterable[str] = ()) -> None:
        self._statement = statement
        self._columns = list(columns)
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = self._compile(dialect)
        return found

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self._statement.compile(dialect=dialect, column_keys=self._columns or None)
        if not isinstance(compiled, SQLCompiler):
            raise TypeError("only SQL statements can be prepared")
        if "POSTCOMPILE" in compiled.string:
            raise ValueError("a prepared statement cannot need per-execution SQL")
        order = compiled.positiontup if dialect.positional else list(compiled.binds)
        names = tuple(n for n in order or () if n)
        selected = (
            list(self._statement.selected_columns) if isinstance(self._statement, Select) else []
        )
        return _Compiled(
            values_group=_values_group(self._statement, compiled.string),
            sql=compiled.string,
            names=names,
            positional=bool(dialect.positional),
            binds=tuple(_bind(compiled.binds[n].type, dialect) for n in names),
            columns=tuple(str(c.key) for c in selected),
            converting=tuple(
                (str(c.key), i, proc)
                for i, c in enumerate(selected)
                if (proc := _result(c.type, dialect)) is not None
            ),
        )

    def rows(self, conn: Connection, **values: Any) -> list[Row]:
        compiled = self._for(conn.dialect)
        cursor = _open_cursor(conn)
        try:
            cursor.execute(compiled.sql, compiled.parameters(values))
            raw_rows = cursor.fetchall()
        except conn.dialect.loaded_dbapi.Error as exc:
            raise _driver_error(conn, compiled.sql, cursor, exc) from exc
        finally:
            _close(cursor)
        return [compiled.row(raw) for raw in raw_rows]

    def first(self, conn: Connection, **values: Any) -> Row | None:
        found = self.rows(conn, **values)
        return found[0] if found else None

    def run(self, conn: Connection, **values: Any) -> int:
        """Execute once; the number of rows affected."""
        compiled = self._for(conn.dialect)
        with _cursor(conn, compiled.sql) as cursor:
            cursor.execute(compiled.sql, compiled.parameters(values))
            return int(cursor.rowcount)

    def run_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Execute once per row. An INSERT on a driver with positional parameters (SQLite)
        becomes multi-row ``VALUES`` statements of up to ``_MAX_PARAMETERS`` (or SQLite's
        own lower limit): one step instead of one per row, and so one release of the GIL
        instead of one per row (the audit writer's hand-offs slowed every request thread)."""
        if not rows:
            return
        compiled = self._for(conn.dialect)
        group = compiled.values_group if compiled.positional else None
        if group is None:
            with _cursor(conn, compiled.sql) as cursor:
                cursor.executemany(compiled.sql, [compiled.parameters(r) for r in rows])
            return
        per_statement = max(1, _parameter_limit(conn) // max(1, len(compiled.names)))
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            sql = compiled.sql + (", " + group) * (len(chunk) - 1)
            values: list[Any] = []
            for row in chunk:
                values.extend(compiled.parameters(row))
            with _cursor(conn, sql) as cursor:
                cursor.execute(sql, values)


_MAX_PARAMETERS = 32_766  # per statement: SQLite's default limit since 3.32
_OLD_SQLITE_LIMIT = 999  # its default before


def _parameter_limit(conn: Connection) -> int:
    """How many parameters one statement may carry on this SQLite connection (capped)."""
    driver = conn.connection.driver_connection
    getlimit = getattr(driver, "getlimit", None)  # Python 3.11's sqlite3
    if getlimit is None:
        return _OLD_SQLITE_LIMIT
    return min(_MAX_PARAMETERS, int(getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)))


def _values_group(statement: ClauseElement, sql: str) -> str | None:
    """The parenthesised parameter group an INSERT … VALUES (…) statement ends with, when
    it is nothing but placeholders (so it can be repeated for more rows); else None."""
    if not isinstance(statement, Insert):
        return None
    _, sep, group = sql.rpartition(" VALUES ")
    group = group.strip()
    inner = group[1:-1].split(", ") if group.startswith("(") and group.endswith(")") else []
    if not sep or not inner or any(part != "?" for part in inner):
        return None
    return group


def _open_cursor(conn: Connection) -> Any:
    """A driver cursor in ``conn``'s transaction."""
    if not conn.in_transaction() or conn.info.get(READING) is False:
        raise RuntimeError("prepared statements run inside Store.read() or Store.begin()")
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


def _close(cursor: Any) -> None:
    with suppress(Exception):
        cursor.close()


def _driver_error(conn: Connection, sql: str, cursor: Any, exc: DBAPIModule.Error) -> Exception:
    """A driver error as SQLAlchemy raises it from ``Connection.execute`` (a lost connection
    is invalidated, never reused)."""
    dbapi_error = conn.dialect.loaded_dbapi.Error
    lost = conn.dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)
    if lost:
        conn.invalidate(exc)
    return DBAPIError.instance(
        sql, None, exc, dbapi_error, connection_invalidated=lost, dialect=conn.dialect
    )


@contextmanager
def _cursor(conn: Connection, sql: str) -> Iterator[Any]:
    """A driver cursor in ``conn``'s transaction; driver errors become SQLAlchemy's."""
    cursor = _open_cursor(conn)
    try:
        yield cursor
    except conn.dialect.loaded_dbapi.Error as exc:
        raise _driver_error(conn, sql, cursor, exc) from exc
    finally:
        _close(cursor)


# The dialect's own variant of a type converts for its driver (SQLite keeps timestamps as text).
def _bind(kind: TypeEngine[Any], dialect: Dialect) -> Processor:
    return kind.dialect_impl(dialect).bind_processor(dialect)


def _result(kind: TypeEngine[Any], dialect: Dialect) -> Processor:
    return kind.dialect_impl(dialect).result_processor(dialect, None)
