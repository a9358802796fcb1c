"""Store fixtures: every test runs once on SQLite (a temp file) and once on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from warden.core.clock import FixedClock
from warden.core.ids import RandomIds
from warden.store.db import Store
from warden.store.jobs import JobQueue


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warden.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store.open(store_url) as opened:
        yield opened


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2030, 1, 1, tzinfo=UTC))


@pytest.fixture
def queue(store: Store, clock: FixedClock) -> JobQueue:
    return JobQueue(store, clock, RandomIds())
