"""Roles inside real PostgreSQL: the master's RDS-like rights and their restoration,
password drift, rotation through ``PostgresAccounts`` (single user and clone), and no
plaintext password anywhere the server writes, even with ``log_statement=all``."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from engine_helpers import Running, connect, with_parameters
from psycopg import errors

from warden.core.redacted import Redacted
from warden.engines.base import ADMIN_ROLE, Endpoint, Login, MasterUser
from warden.engines.errors import LoginFailed, RoleError
from warden.engines.postgres import PostgresAccounts, PostgresEngine

pytestmark = pytest.mark.slow


def _pw() -> str:
    return "pw-" + secrets.token_urlsafe(12)


def _endpoint(running: Running, dbname: str = "appdb") -> Endpoint:
    spec = running.spec
    return Endpoint("127.0.0.1", spec.port, dbname, ca_file=spec.root / "tls" / "ca.pem")


@pytest.fixture
def master(engine: PostgresEngine, running: Running) -> Iterator[MasterUser]:
    """The master with a fresh password for this test; the shared one afterwards."""
    current = MasterUser(running.master.username, Redacted(_pw()))
    engine.set_master_password(running.spec, current)
    yield current
    engine.set_master_password(running.spec, running.master)


def _as_master(running: Running, master: MasterUser) -> psycopg.Connection[tuple[object, ...]]:
    return connect(running.spec, master.username, master.password.reveal(), dbname="appdb")


def test_master_has_rds_rights_but_is_not_superuser(running: Running, master: MasterUser) -> None:
    with _as_master(running, master) as conn:
        row = conn.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls"
            " FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert row == (False, True, True, False, False)
        assert conn.execute("SELECT pg_has_role('rds_superuser', 'MEMBER')").fetchone() == (True,)
        assert conn.execute("SELECT pg_has_role('pg_signal_backend', 'USAGE')").fetchone() == (
            True,
        )
        conn.execute("CREATE ROLE reporting_user LOGIN")
        conn.execute("CREATE DATABASE reporting")
        conn.execute("GRANT CONNECT ON DATABASE reporting TO reporting_user")
        conn.execute("DROP DATABASE reporting")
        conn.execute("DROP ROLE reporting_user")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(
                psycopg.sql.SQL("ALTER ROLE {} PASSWORD 'x'").format(
                    psycopg.sql.Identifier(ADMIN_ROLE)
                )
            )
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("SELECT rolpassword FROM pg_authid")


def test_master_password_reset_restores_rights(
    engine: PostgresEngine, running: Running, master: MasterUser
) -> None:
    spec = running.spec
    with connect(spec, ADMIN_ROLE, spec.admin_password.reveal()) as admin:
        name = psycopg.sql.Identifier(master.username)
        admin.execute(psycopg.sql.SQL("ALTER ROLE {} NOCREATEDB NOCREATEROLE").format(name))
        admin.execute(psycopg.sql.SQL("REVOKE rds_superuser FROM {}").format(name))
    with _as_master(running, master) as conn, pytest.raises(errors.InsufficientPrivilege):
        conn.execute("CREATE ROLE nope")

    new = MasterUser(master.username, Redacted(_pw()))
    engine.set_master_password(spec, new)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        _as_master(running, master)
    with _as_master(running, new) as conn:
        conn.execute("CREATE ROLE restored_role")
        conn.execute("CREATE DATABASE restored_db")
        conn.execute("DROP DATABASE restored_db")
        conn.execute("DROP ROLE restored_role")
        assert conn.execute("SELECT pg_has_role('rds_superuser', 'MEMBER')").fetchone() == (True,)


def test_password_changed_by_a_client_is_noticed(
    engine: PostgresEngine, running: Running, master: MasterUser
) -> None:
    spec = running.spec
    assert engine.password_matches(spec, master.username, master.password)
    assert not engine.password_matches(spec, master.username, Redacted("something-else"))
    with _as_master(running, master) as conn:
        conn.execute(
            psycopg.sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                psycopg.sql.Identifier(master.username), "changed-in-sql"
            )
        )
    assert not engine.password_matches(spec, master.username, master.password)
    assert engine.password_matches(spec, master.username, Redacted("changed-in-sql"))
    assert not engine.password_matches(spec, "no_such_role", master.password)


def test_single_user_rotation(running: Running, master: MasterUser) -> None:
    accounts, endpoint = PostgresAccounts(), _endpoint(running)
    old, new = _pw(), _pw()
    with _as_master(running, master) as conn:
        conn.execute("DROP ROLE IF EXISTS rot_single")
        conn.execute(psycopg.sql.SQL("CREATE ROLE rot_single LOGIN PASSWORD {}").format(old))
    with accounts.log_in(endpoint, Login("rot_single", Redacted(old))) as session:
        session.set_password("rot_single", Redacted(new))
    assert accounts.check_login(endpoint, Login("rot_single", Redacted(new))).ok
    refused = accounts.check_login(endpoint, Login("rot_single", Redacted(old)))
    assert not refused.ok and "password authentication failed" in refused.reason
    ordinary = Login("rot_single", Redacted(new))
    with accounts.log_in(endpoint, ordinary) as session, pytest.raises(RoleError):
        session.set_password(master.username, Redacted(_pw()))  # not another role's
    with pytest.raises(LoginFailed):
        accounts.log_in(endpoint, Login("rot_single", Redacted(old)))


def test_alternating_users_clone(running: Running, master: MasterUser) -> None:
    accounts, endpoint = PostgresAccounts(), _endpoint(running)
    app_pw = _pw()
    with _as_master(running, master) as conn:
        for role in ("app_clone", "app", "readers"):
            conn.execute(
                psycopg.sql.SQL("DROP OWNED BY {} CASCADE").format(psycopg.sql.Identifier(role))
            ) if conn.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)
            ).fetchone() else None
            conn.execute(
                psycopg.sql.SQL("DROP ROLE IF EXISTS {}").format(psycopg.sql.Identifier(role))
            )
        conn.execute("CREATE ROLE readers NOLOGIN")
        conn.execute(
            psycopg.sql.SQL("CREATE ROLE app LOGIN CREATEDB CONNECTION LIMIT 7 PASSWORD {}").format(
                app_pw
            )
        )
        conn.execute("GRANT readers TO app")
        conn.execute("CREATE TABLE IF NOT EXISTS orders (id int)")
        conn.execute("GRANT SELECT ON orders TO app")

    master_login = Login(master.username, master.password)
    clone_pw = _pw()
    with accounts.log_in(endpoint, master_login) as session:
        session.ensure_clone("app", "app_clone", Redacted(clone_pw))
    clone = Login("app_clone", Redacted(clone_pw))
    assert accounts.check_login(endpoint, clone).ok
    assert accounts.check_login(endpoint, Login("app", Redacted(app_pw))).ok
    with connect(running.spec, "app_clone", clone_pw, dbname="appdb") as conn:
        conn.execute("SELECT count(*) FROM orders").fetchone()
        row = conn.execute(
            "SELECT rolcreatedb, rolconnlimit, pg_has_role('readers', 'MEMBER'),"
            " pg_has_role('app', 'MEMBER') FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert row == (True, 7, True, True)

    again = _pw()  # the clone exists: only its password changes
    with accounts.log_in(endpoint, master_login) as session:
        session.ensure_clone("app", "app_clone", Redacted(again))
    assert accounts.check_login(endpoint, Login("app_clone", Redacted(again))).ok
    assert not accounts.check_login(endpoint, clone).ok
    with accounts.log_in(endpoint, master_login) as session, pytest.raises(RoleError):
        session.ensure_clone("missing", "missing_clone", Redacted(again))


def test_unreachable_endpoint_is_a_failed_check(running: Running) -> None:
    endpoint = Endpoint("127.0.0.1", 1, ca_file=running.spec.root / "tls" / "ca.pem")
    check = PostgresAccounts().check_login(endpoint, Login("x", Redacted("y")))
    assert not check.ok and check.reason


def test_no_plaintext_password_reaches_the_server(
    engine: PostgresEngine, running: Running, master: MasterUser
) -> None:
    """With every statement logged, the passwords warden sets appear nowhere in the
    instance directory (logs, WAL, catalogs): the server only ever saw verifiers."""
    spec = running.spec
    logged = with_parameters(spec, log_statement="all")
    engine.configure(logged)
    try:
        accounts, endpoint = PostgresAccounts(), _endpoint(running)
        secrets_used = [f"Leak-{secrets.token_hex(8)}" for _ in range(3)]
        engine.set_master_password(logged, MasterUser(master.username, Redacted(secrets_used[0])))
        acting = Login(master.username, Redacted(secrets_used[0]))
        with accounts.log_in(endpoint, acting) as session, pytest.raises(RoleError):
            session.ensure_clone(master.username, "leak_x", Redacted("x" * 9))
        with _as_master(running, MasterUser(master.username, acting.password)) as conn:
            conn.execute("DROP ROLE IF EXISTS leak_app")
            conn.execute("DROP ROLE IF EXISTS leak_base")
            conn.execute("CREATE ROLE leak_base NOLOGIN")
        with accounts.log_in(endpoint, acting) as session:
            session.ensure_clone("leak_base", "leak_app", Redacted(secrets_used[1]))
        app = Login("leak_app", Redacted(secrets_used[1]))
        with accounts.log_in(endpoint, app) as session:
            session.set_password("leak_app", Redacted(secrets_used[2]))
        assert accounts.check_login(endpoint, Login("leak_app", Redacted(secrets_used[2]))).ok
        with connect(spec, ADMIN_ROLE, spec.admin_password.reveal()) as admin:
            admin.execute("CHECKPOINT")
            admin.execute("SELECT pg_switch_wal()")
    finally:
        engine.configure(spec)
    needles = [s.encode() for s in (*secrets_used, spec.admin_password.reveal())]
    statements = 0
    for path in Path(spec.root).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            statements += data.count(b"ALTER ROLE")
            assert not any(n in data for n in needles), path
    assert statements > 0  # the statements were logged: the scan looked at them


def test_warden_sessions_ignore_the_search_path_and_timeouts_users_set(
    engine: PostgresEngine, running: Running
) -> None:
    # The master user owns its database and may set defaults on it; a function of its own
    # named like a catalog one must never run inside warden's superuser session.
    master = running.master
    with connect(running.spec, master.username, master.password.reveal()) as conn:
        conn.execute("CREATE SCHEMA trap")
        conn.execute(
            "CREATE FUNCTION trap.pg_reload_conf() RETURNS boolean LANGUAGE sql AS 'SELECT false'"
        )
        for setting in ("search_path = trap, pg_catalog", "default_transaction_read_only = on",
                        "statement_timeout = 1"):  # fmt: skip
            conn.execute(f"ALTER DATABASE postgres SET {setting}")
    try:
        with engine.admin(running.spec) as admin:
            assert admin.execute("SHOW search_path").fetchone() == ("pg_catalog,pg_temp",)
            assert admin.execute("SELECT pg_reload_conf()").fetchone() == (True,)
            assert admin.execute("SHOW default_transaction_read_only").fetchone() == ("off",)
            admin.execute("SELECT pg_sleep(0.05)")  # no 1 ms statement timeout either
        engine.set_master_password(running.spec, MasterUser(master.username, Redacted("new-Pw-1x")))
    finally:  # the server is shared with other tests: leave its defaults as they were
        with engine.admin(running.spec) as admin:
            admin.execute("ALTER DATABASE postgres RESET ALL")
            admin.execute("DROP SCHEMA trap CASCADE")
        engine.set_master_password(running.spec, running.master)
