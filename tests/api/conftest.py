from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import Warden, free_port


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
