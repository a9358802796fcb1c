"""The in-memory engine keeps the real engine's contract for control-plane tests."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from engine_helpers import Ca

from warden.core.redacted import Redacted
from warden.engines.base import (
    Accounts,
    Endpoint,
    Engine,
    InstanceSpec,
    InstanceState,
    LogCursor,
    Login,
    MasterUser,
    ParameterValues,
)
from warden.engines.errors import EngineError, InvalidParameters, LoginFailed, PortInUse, RoleError
from warden.engines.fake import FakeAccounts, FakeEngine
from warden.engines.postgres.scram import make_verifier


def _spec(tmp_path: Path, name: str, port: int = 5432) -> InstanceSpec:
    return InstanceSpec(name, tmp_path / name, port, Redacted("admin-pw"), Ca.make().issue(name))


def test_fake_engine_contract(tmp_path: Path) -> None:
    engine: Engine = FakeEngine()
    fake = engine if isinstance(engine, FakeEngine) else pytest.fail("not a fake")
    spec = _spec(tmp_path, "a")
    master = MasterUser("m", Redacted("pw-1"))
    assert engine.status(spec).state is InstanceState.ABSENT
    assert engine.create(spec, master, "db").state is InstanceState.RUNNING
    with pytest.raises(PortInUse):
        engine.create(_spec(tmp_path, "b"), master, None)

    fake.crash(spec)
    assert engine.status(spec).state is InstanceState.CRASHED
    assert engine.start(spec).state is InstanceState.RUNNING

    assert engine.password_matches(spec, "m", Redacted("pw-1"))
    fake.set_role_verifier(spec, "m", str(make_verifier("changed")))
    assert not engine.password_matches(spec, "m", Redacted("pw-1"))
    engine.set_master_password(spec, MasterUser("m", Redacted("pw-2")))
    assert engine.password_matches(spec, "m", Redacted("pw-2"))

    with pytest.raises(InvalidParameters):
        engine.check_parameters({"shared_preload_libraries": "evil"})
    static = replace(spec, parameters=ParameterValues.of({"max_connections": "150"}))
    assert engine.configure(static).pending_reboot == {"max_connections"}

    assert not fake.login(spec, "m", "wrong", "10.0.0.9")
    assert fake.login(spec, "m", "pw-2", "10.0.0.9")
    batch = engine.auth_events(spec, LogCursor())
    assert [e.remote_host for e in batch.events] == ["10.0.0.9", "10.0.0.9"]
    assert engine.auth_events(spec, batch.cursor).events == ()
    assert engine.prune_logs(spec, datetime.now(UTC) + timedelta(days=1)) == 1  # newest kept
    assert fake.login(spec, "m", "pw-2", "10.0.0.7")
    assert [e.remote_host for e in engine.auth_events(spec, batch.cursor).events] == ["10.0.0.7"]

    out = io.BytesIO()
    engine.snapshot(spec, out)
    copy = _spec(tmp_path, "c", port=5433)
    assert engine.restore(copy, io.BytesIO(out.getvalue())).state is InstanceState.STOPPED
    engine.start(copy)
    assert engine.password_matches(copy, "m", Redacted("pw-2"))
    engine.destroy(spec)
    assert engine.status(spec).state is InstanceState.ABSENT


def test_fake_accounts_rotation() -> None:
    accounts: Accounts = FakeAccounts()
    fake = accounts if isinstance(accounts, FakeAccounts) else pytest.fail("not a fake")
    endpoint = Endpoint("db.example", 5432)
    fake.add_role(endpoint, "master", "m-pw", admin=True)
    fake.add_role(endpoint, "app", "old")
    with accounts.log_in(endpoint, Login("app", Redacted("old"))) as session:
        session.set_password("app", Redacted("new"))
    assert accounts.check_login(endpoint, Login("app", Redacted("new"))).ok
    assert not accounts.check_login(endpoint, Login("app", Redacted("old"))).ok
    with accounts.log_in(endpoint, Login("app", Redacted("new"))) as s, pytest.raises(RoleError):
        s.set_password("master", Redacted("x"))
    with pytest.raises(LoginFailed):
        accounts.log_in(endpoint, Login("app", Redacted("bad")))
    with accounts.log_in(endpoint, Login("master", Redacted("m-pw"))) as session:
        session.ensure_clone("app", "app_clone", Redacted("c"))
    assert accounts.check_login(endpoint, Login("app_clone", Redacted("c"))).ok
    assert not fake.sessions  # every session closed on leaving its block
    with pytest.raises(EngineError):
        session.set_password("app_clone", Redacted("closed"))
