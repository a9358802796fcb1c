from __future__ import annotations

import os
from pathlib import Path

import pytest

from warden.store.keyring import INTERNAL, KeyRing, KeyRingError, UnsealError


def test_seal_binds_associated_data(tmp_path: Path) -> None:
    ring = KeyRing.create(tmp_path)
    sealed = ring.seal(b"secret", aad=b"row-1")
    assert b"secret" not in sealed
    assert ring.unseal(sealed, aad=b"row-1") == b"secret"
    with pytest.raises(UnsealError):
        ring.unseal(sealed, aad=b"row-2")
    flipped = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(UnsealError):
        ring.unseal(flipped, aad=b"row-1")
    with pytest.raises(UnsealError):
        ring.unseal(b"junk", aad=b"row-1")


def test_reopen_and_permissions(tmp_path: Path) -> None:
    ring = KeyRing.create(tmp_path)
    path = tmp_path / "keyring.json"
    assert os.stat(path).st_mode & 0o777 == 0o600
    sealed = ring.seal(b"v", aad=b"a")
    assert KeyRing.open(tmp_path).unseal(sealed, aad=b"a") == b"v"
    os.chmod(path, 0o640)
    with pytest.raises(KeyRingError, match="refusing"):
        KeyRing.open(tmp_path)
    os.chmod(path, 0o600)
    path.write_text("{not json")
    with pytest.raises(KeyRingError, match="corrupt"):
        KeyRing.open(tmp_path)


def test_create_refuses_existing(tmp_path: Path) -> None:
    KeyRing.create(tmp_path)
    with pytest.raises(KeyRingError):
        KeyRing.create(tmp_path)
    assert len(KeyRing.open(tmp_path).key(INTERNAL)) == 32
