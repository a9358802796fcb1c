"""Who may connect: TLS verified with the instance's CA, ``rds.force_ssl`` refusing plain
TCP, and security-group CIDRs as pg_hba.conf lines (a client bound to 127.0.0.2)."""

from __future__ import annotations

import io
import re
import secrets
import stat
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from engine_helpers import (
    Ca,
    MakeSpec,
    Running,
    SourceForwarder,
    connect,
    with_access,
    with_parameters,
)

from warden.core.redacted import Redacted
from warden.engines.base import (
    ADMIN_ROLE,
    DEFAULT_ACCESS,
    AccessRules,
    Endpoint,
    Login,
    MasterUser,
    TlsMode,
)
from warden.engines.postgres import PostgresAccounts, PostgresEngine
from warden.engines.postgres.hba import render

pytestmark = pytest.mark.slow


@pytest.fixture
def restore_config(engine: PostgresEngine, running: Running) -> Iterator[None]:
    yield
    engine.configure(running.spec)


def test_rendered_rules_put_the_admin_first_and_only_on_loopback() -> None:
    text = render(AccessRules.of(["10.0.0.0/8", "192.168.1.7"]), force_ssl=True)
    rules = [line.split() for line in text.splitlines() if not line.startswith("#")]
    # The Unix socket is the admin's alone, in both forms; every other role is rejected there.
    assert rules[:4] == [
        ["local", "all", ADMIN_ROLE, "scram-sha-256"],
        ["local", "replication", ADMIN_ROLE, "scram-sha-256"],
        ["local", "all", "all", "reject"],
        ["local", "replication", "all", "reject"],
    ]
    assert not [r for r in rules[4:] if r[0] == "local"]
    assert rules[4] == ["hostssl", "all", ADMIN_ROLE, "127.0.0.1/32", "scram-sha-256"]
    admin_lines = [r for r in rules[4:] if r[2] == ADMIN_ROLE]
    assert all(r[-1] == "reject" for r in admin_lines if r[3] != "127.0.0.1/32")
    assert rules[-2:] == [
        ["hostssl", "all", "all", "10.0.0.0/8", "scram-sha-256"],
        ["hostssl", "all", "all", "192.168.1.7/32", "scram-sha-256"],
    ]
    assert {r[-1] for r in rules} <= {"scram-sha-256", "reject"}
    plain = render(DEFAULT_ACCESS, force_ssl=False).splitlines()[-1].split()
    assert plain == ["host", "all", "all", "127.0.0.1/32", "scram-sha-256"]


def test_access_rules_refuse_non_networks() -> None:
    with pytest.raises(ValueError):
        AccessRules.of(["10.0.0.0/33"])
    with pytest.raises(ValueError):
        AccessRules.of(["all"])


def test_force_ssl_refuses_plain_connections(
    engine: PostgresEngine, running: Running, restore_config: None, tmp_path: Path
) -> None:
    spec, master = running.spec, running.master
    password = master.password.reveal()
    with connect(spec, master.username, password, sslmode="disable") as conn:
        assert not conn.pgconn.ssl_in_use

    # AWS's rotation templates fall back to plain TCP when TLS fails (here: an unknown CA).
    foreign_ca = tmp_path / "foreign.pem"
    foreign_ca.write_bytes(Ca.make().cert)
    fallback = Endpoint("127.0.0.1", spec.port, tls=TlsMode.PREFER_VERIFIED, ca_file=foreign_ca)
    login = Login(master.username, master.password)
    assert PostgresAccounts().check_login(fallback, login).ok
    strict = replace(fallback, tls=TlsMode.VERIFY_FULL)
    assert "certificate verify failed" in PostgresAccounts().check_login(strict, login).reason

    outcome = engine.configure(with_parameters(spec, **{"rds.force_ssl": "1"}))
    assert outcome.pending_reboot == frozenset()
    assert not PostgresAccounts().check_login(fallback, login).ok
    with pytest.raises(psycopg.OperationalError, match=r"no pg_hba\.conf entry.*no encryption"):
        connect(spec, master.username, password, sslmode="disable")
    with connect(spec, master.username, password) as conn:
        assert conn.pgconn.ssl_in_use


def test_security_group_cidrs_admit_a_source_address(
    engine: PostgresEngine, running: Running, restore_config: None
) -> None:
    spec, master = running.spec, running.master
    password = master.password.reveal()
    forwarder = SourceForwarder(spec.port, source="127.0.0.2")
    try:
        with pytest.raises(
            psycopg.OperationalError, match=re.escape('no pg_hba.conf entry for host "127.0.0.2"')
        ):
            connect(spec, master.username, password, port=forwarder.port)

        engine.configure(with_access(spec, "127.0.0.1/32", "127.0.0.2/32"))
        with connect(spec, master.username, password, port=forwarder.port) as conn:
            row = conn.execute("SELECT host(inet_client_addr())").fetchone()
            assert row == ("127.0.0.2",)
            assert conn.pgconn.ssl_in_use

        # An ingress rule never admits warden's own superuser from elsewhere.
        engine.configure(with_access(spec, "0.0.0.0/0"))
        with pytest.raises(psycopg.OperationalError, match="rejects connection"):
            connect(spec, ADMIN_ROLE, spec.admin_password.reveal(), port=forwarder.port)

        engine.configure(with_access(spec, "127.0.0.1/32"))
        with pytest.raises(psycopg.OperationalError, match=r"no pg_hba\.conf entry"):
            connect(spec, master.username, password, port=forwarder.port)
    finally:
        forwarder.close()


def test_the_unix_socket_is_private_and_the_admins_alone(
    engine: PostgresEngine, running: Running
) -> None:
    spec, master = running.spec, running.master
    run = spec.root / "run"
    info = run.stat()
    assert stat.S_IMODE(info.st_mode) == 0o700
    assert info.st_uid == engine.runner.owner.uid
    assert stat.S_IMODE((run / f".s.PGSQL.{spec.port}").stat().st_mode) == 0o700
    with engine.admin(spec) as conn:
        assert conn.info.host == str(run)  # warden administers over the socket, not TCP
        assert conn.execute("SELECT inet_client_addr() IS NULL").fetchone() == (True,)
    # Even with its password, no other role may use the socket (root here passes the
    # directory's permissions; pg_hba.conf still refuses).
    with pytest.raises(psycopg.OperationalError, match="rejects connection"):
        psycopg.connect(
            host=str(run), port=spec.port, user=master.username,
            password=master.password.reveal(), dbname="postgres", connect_timeout=5,
        )  # fmt: skip


def test_a_root_too_long_for_a_socket_is_administered_over_tls(
    engine: PostgresEngine, make_spec: MakeSpec
) -> None:
    base = make_spec()
    spec = replace(base, root=base.root.parent / ("long-" + "x" * 90) / base.instance_id)
    engine.create(spec, MasterUser("master", Redacted("pw-" + secrets.token_hex(8))), None)
    try:
        assert len(str(spec.root / "run" / f".s.PGSQL.{spec.port}")) > 107
        assert list((spec.root / "run").iterdir()) == []  # no socket: PostgreSQL would not start
        with engine.admin(spec) as conn:
            assert conn.pgconn.ssl_in_use
            assert conn.execute("SELECT host(inet_client_addr())").fetchone() == ("127.0.0.1",)
        out = io.BytesIO()
        engine.snapshot(spec, out)  # pg_basebackup over TLS too
        assert len(out.getvalue()) > 1_000_000
    finally:
        engine.destroy(spec)
