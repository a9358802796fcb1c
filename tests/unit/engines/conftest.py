"""Engine fixtures: one engine (one template) per session, one shared running instance.

The engine's template is initdb'd once; every instance is a copy (about a tenth of
initdb's cost). Tests that change the shared instance (configuration, the master's
password) put it back when they end. Instances run as the service user when the tests
run as root, so the session's directory is handed to that user. Every spec made here is
destroyed at the end of the session even when a test failed half-way.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_helpers import Ca, MakeSpec, Running, free_port

from warden.core.redacted import Redacted
from warden.engines.base import InstanceSpec, MasterUser
from warden.engines.postgres import PostgresEngine
from warden.engines.postgres.process import ensure_account


@pytest.fixture(scope="session")
def engine_root() -> Iterator[Path]:
    account = ensure_account()
    root = Path(tempfile.mkdtemp(prefix="warden-engine-"))
    os.chown(root, account.uid, account.gid)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def engine(engine_root: Path) -> PostgresEngine:
    return PostgresEngine(engine_root / "workspace", durable=False)


@pytest.fixture(scope="session")
def ca() -> Ca:
    return Ca.make()


@pytest.fixture(scope="session")
def make_spec(engine: PostgresEngine, engine_root: Path, ca: Ca) -> Iterator[MakeSpec]:
    made: list[InstanceSpec] = []

    def make(name: str | None = None) -> InstanceSpec:
        name = name or f"db-{secrets.token_hex(3)}"
        spec = InstanceSpec(
            instance_id=name,
            root=engine_root / "instances" / name,
            port=free_port(),
            admin_password=Redacted(secrets.token_urlsafe(24)),
            tls=ca.issue(name),
        )
        made.append(spec)
        return spec

    try:
        yield make
    finally:
        for spec in made:
            engine.destroy(spec)


@pytest.fixture(scope="session")
def running(engine: PostgresEngine, make_spec: MakeSpec) -> Iterator[Running]:
    spec = make_spec()
    master = MasterUser("master", Redacted("initial-" + secrets.token_hex(8)))
    engine.create(spec, master, "appdb")
    try:
        yield Running(spec, master)
    finally:
        engine.destroy(spec)
