"""Roles inside PostgreSQL: the master user, passwords, clones for alternating rotation.

The master user gets what Aurora PostgreSQL documents: ``LOGIN NOSUPERUSER INHERIT
CREATEDB CREATEROLE NOREPLICATION VALID UNTIL 'infinity'`` and membership in
``rds_superuser`` (member of pg_monitor, pg_signal_backend, pg_checkpoint, … with admin
option; not of pg_read_all_data, which would expose ``pg_authid``); it owns the
``postgres`` database and the one named at creation. Setting the master password
through the API restores exactly these rights, as RDS documents.

Invariants: SQL is composed with ``psycopg.sql`` only; a password reaches the server only
as a SCRAM verifier literal (``scram.make_verifier``), never as text; role names warden
reserves (``warden_admin``, ``rds_superuser``, ``pg_*``) are refused as targets.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from warden.core.redacted import Redacted

from ..base import ADMIN_ROLE, SUPERUSER_GROUP, Endpoint, Login, LoginCheck, MasterUser
from ..errors import RoleError
from .connection import Connection, check_login, open_connection
from .scram import Verifier, VerifierFormatError, make_verifier

MAX_NAME_BYTES = 63
RESERVED = frozenset({ADMIN_ROLE, SUPERUSER_GROUP, "rdsadmin", "public", "none"})

# What Aurora PostgreSQL's rds_superuser is a member of (those that exist in this
# version). Deliberately not pg_read_all_data/pg_write_all_data: they cover the system
# catalogs too, so the master could read pg_authid, every role's verifier included
# warden_admin's.
GROUP_MEMBERSHIPS = (
    "pg_monitor",
    "pg_signal_backend",
    "pg_checkpoint",
    "pg_create_subscription",
    "pg_use_reserved_connections",
)
MASTER_ATTRIBUTES = sql.SQL(
    "LOGIN NOSUPERUSER INHERIT CREATEDB CREATEROLE NOREPLICATION NOBYPASSRLS"
    " CONNECTION LIMIT -1 VALID UNTIL 'infinity'"
)


def check_name(name: str, what: str = "role") -> None:
    if not name or len(name.encode()) > MAX_NAME_BYTES:
        raise RoleError(f"{what} name must be 1 to {MAX_NAME_BYTES} bytes")
    if name.lower() in RESERVED or name.lower().startswith("pg_"):
        raise RoleError(f"{what} name {name!r} is reserved")


def verifier_literal(password: Redacted[str]) -> sql.Literal:
    return sql.Literal(str(make_verifier(password.reveal())))


def group_membership_statement() -> str:
    """One-line SQL (also run in single-user mode) granting rds_superuser its roles."""
    wanted = sql.SQL(", ").join(sql.Literal(r) for r in GROUP_MEMBERSHIPS)
    grant = sql.Literal(
        f"GRANT %I TO {sql.Identifier(SUPERUSER_GROUP).as_string()} WITH ADMIN OPTION"
    )
    return (
        sql.SQL(
            "DO $$ DECLARE r text; BEGIN FOR r IN SELECT rolname FROM pg_roles"
            " WHERE rolname IN ({}) LOOP EXECUTE format({}, r); END LOOP; END $$"
        )
        .format(wanted, grant)
        .as_string()
    )


def _restore(conn: Connection, username: str) -> None:
    role = sql.Identifier(username)
    conn.execute(sql.SQL("ALTER ROLE {} WITH ").format(role) + MASTER_ATTRIBUTES)
    conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(SUPERUSER_GROUP), role))
    conn.execute(group_membership_statement())


def create_master(conn: Connection, master: MasterUser, database: str | None) -> None:
    """As warden_admin: the master role, its rights, and its database."""
    check_name(master.username, "master user")
    role = sql.Identifier(master.username)
    with conn.transaction():
        conn.execute(
            sql.SQL("CREATE ROLE {} WITH ").format(role)
            + MASTER_ATTRIBUTES
            + sql.SQL(" PASSWORD {}").format(verifier_literal(master.password))
        )
        _restore(conn, master.username)
        conn.execute(sql.SQL("ALTER DATABASE postgres OWNER TO {}").format(role))
    if database and database != "postgres":
        check_name(database, "database")
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), role))


def set_master_password(conn: Connection, master: MasterUser) -> None:
    """As warden_admin: new password and the master's rights back, atomically."""
    check_name(master.username, "master user")
    role = sql.Identifier(master.username)
    with conn.transaction():
        found = conn.execute(
            "SELECT 1 FROM pg_roles WHERE rolname = %s", (master.username,)
        ).fetchone()
        if found is None:  # dropped by a SQL client: RDS recreates access the same way
            conn.execute(sql.SQL("CREATE ROLE {}").format(role))
        conn.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(role, verifier_literal(master.password))
        )
        _restore(conn, master.username)


def stored_verifier(conn: Connection, role: str) -> str | None:
    """As warden_admin: the role's ``rolpassword`` (None: no such role or no password)."""
    row = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role,)).fetchone()
    return None if row is None or row[0] is None else str(row[0])


def password_matches(conn: Connection, role: str, password: Redacted[str]) -> bool:
    stored = stored_verifier(conn, role)
    if stored is None:
        return False
    try:
        return Verifier.parse(stored).matches(password.reveal())
    except VerifierFormatError:
        return False  # an md5 hash or plaintext set by a client: not what warden set


def _role_error(exc: psycopg.Error) -> RoleError:
    return RoleError(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)


def set_password(conn: Connection, role: str, password: Redacted[str]) -> None:
    check_name(role)
    try:
        conn.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(role), verifier_literal(password)
            )
        )
    except psycopg.Error as exc:
        raise _role_error(exc) from exc


def _attributes(conn: Connection, source: str) -> sql.Composable:
    row = conn.execute(
        "SELECT rolinherit, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls,"
        " rolconnlimit FROM pg_roles WHERE rolname = %s",
        (source,),
    ).fetchone()
    if row is None:
        raise RoleError(f"role {source!r} does not exist")
    inherit, createrole, createdb, replication, bypassrls, connlimit = row
    words = ["LOGIN", "INHERIT" if inherit else "NOINHERIT"]
    words += [w for w, on in (("CREATEROLE", createrole), ("CREATEDB", createdb)) if on]
    words += [w for w, on in (("REPLICATION", replication), ("BYPASSRLS", bypassrls)) if on]
    return sql.SQL(" ".join(words) + " CONNECTION LIMIT {}").format(sql.Literal(int(connlimit)))


def _memberships(conn: Connection, source: str) -> list[tuple[str, bool, bool, bool]]:
    modern = conn.info.server_version >= 160000
    options = "bool_or(m.inherit_option), bool_or(m.set_option)" if modern else "true, true"
    rows = conn.execute(
        f"SELECT r.rolname, bool_or(m.admin_option), {options}"  # noqa: S608 - constant text
        " FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid"
        " JOIN pg_roles s ON s.oid = m.member WHERE s.rolname = %s GROUP BY r.rolname"
        " ORDER BY r.rolname",
        (source,),
    ).fetchall()
    return [(str(name), bool(a), bool(i), bool(s)) for name, a, i, s in rows]


def _grant(conn: Connection, role: str, member: str, opts: tuple[bool, bool, bool]) -> None:
    admin, inherit, set_ = opts
    stmt = sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(member))
    if conn.info.server_version >= 160000:
        stmt += sql.SQL(
            f" WITH ADMIN {str(admin).upper()}, INHERIT {str(inherit).upper()},"
            f" SET {str(set_).upper()}"
        )
    elif admin:
        stmt += sql.SQL(" WITH ADMIN OPTION")
    conn.execute(stmt)


def ensure_clone(conn: Connection, source: str, clone: str, password: Redacted[str]) -> None:
    """Create ``clone`` like ``source`` (attributes, memberships, and membership in
    ``source`` itself for its object privileges), or just set its password if it exists."""
    check_name(source)
    check_name(clone)
    acting = conn.execute("SELECT current_user").fetchone()
    if acting is not None and acting[0] == source:
        raise RoleError(f"role {source!r} cannot clone itself: act as another admin role")
    try:
        with conn.transaction():
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (clone,))
            if exists.fetchone() is not None:
                set_password(conn, clone, password)
                return
            conn.execute(
                sql.SQL("CREATE ROLE {} WITH ").format(sql.Identifier(clone))
                + _attributes(conn, source)
                + sql.SQL(" PASSWORD {}").format(verifier_literal(password))
            )
            for role, admin, inherit, set_ in _memberships(conn, source):
                _grant(conn, role, clone, (admin, inherit, set_))
            _grant(conn, source, clone, (False, True, True))
    except psycopg.Error as exc:
        raise _role_error(exc) from exc


class PostgresSession:
    """``base.AccountSession`` over one connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def set_password(self, role: str, password: Redacted[str]) -> None:
        set_password(self._conn, role, password)

    def ensure_clone(self, source: str, clone: str, password: Redacted[str]) -> None:
        ensure_clone(self._conn, source, clone, password)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> PostgresSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PostgresAccounts:
    """``base.Accounts`` over real connections (rotation of any reachable PostgreSQL)."""

    def check_login(self, endpoint: Endpoint, login: Login) -> LoginCheck:
        return check_login(endpoint, login)

    def log_in(self, endpoint: Endpoint, acting: Login) -> PostgresSession:
        return PostgresSession(open_connection(endpoint, acting))
