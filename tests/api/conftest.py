from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import Warden, free_port

# These tests use the profile `warden init` writes, exactly as a user would. The machine's
# AWS_CA_BUNDLE (and any other AWS_* setting) would override it, so none is inherited.
for _name in [n for n in os.environ if n.startswith("AWS_")]:
    del os.environ[_name]


@pytest.fixture(scope="session")
def warden(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warden]:
    """One initialised, running server shared by the API tests."""
    w = Warden(tmp_path_factory.mktemp("warden") / "data", free_port())
    result = w.init("--account-id", "123456789012")
    assert result.returncode == 0, result.stderr
    w.start()
    yield w
    w.stop()


@pytest.fixture
def fresh_dir(tmp_path: Path) -> Warden:
    """An un-initialised data dir on its own port, for tests of init and the process."""
    return Warden(tmp_path / "data", free_port())
