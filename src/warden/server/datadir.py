"""The data directory: where each piece of server state lives, and its settings.

``DIR`` (mode 0700) holds ``warden.json`` (the non-secret settings written at
init), ``keyring.json`` (0600), ``warden.db`` (the SQLite store, 0600),
``tls/`` (CA and server certificate), ``aws/`` (the CLI profile) and ``log/``.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import asdict, dataclass
from pathlib import Path

SETTINGS = "warden.json"


class DataDirError(Exception):
    """The data directory is missing, unsafe, or not initialised."""


@dataclass(frozen=True, slots=True)
class Settings:
    account_id: str
    region: str
    host: str
    port: int
    admin_user: str
    store_url: str  # "" means the SQLite file in the data dir

    def write(self, data_dir: Path) -> None:
        path = data_dir / SETTINGS
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(asdict(self), fh, indent=2)

    @classmethod
    def read(cls, data_dir: Path) -> Settings:
        path = data_dir / SETTINGS
        if not path.exists():
            raise DataDirError(
                f"{data_dir} is not an initialised warden data dir (run warden init)"
            )
        try:
            return cls(**json.loads(path.read_text()))
        except (ValueError, TypeError) as exc:
            raise DataDirError(f"{path} is corrupt: {exc}") from exc


def check_private(data_dir: Path) -> None:
    """Refuse a data dir that group or others can enter (fail closed)."""
    mode = stat.S_IMODE(data_dir.stat().st_mode)
    if mode & 0o077:
        raise DataDirError(f"{data_dir} has mode {mode:04o}; it must be 0700")
