"""The initdb'd template every new instance is copied from, and the parameter catalog.

``initdb`` costs about half a second; copying its result costs a tenth of that, so the
engine runs ``initdb`` once per PostgreSQL installation and copies the result for each
instance. The template is prepared in single-user mode (no network, no password): the
``rds_superuser`` group role with the predefined roles Aurora grants it, and a CSV export
of ``pg_settings`` that serves as the version's parameter catalog without a running server.
Its superuser ``warden_admin`` has no password; each copy gets its own before first start.

Invariants: a template is used only once complete (built in a temporary directory, then
renamed; ``READY`` written last); concurrent builders serialise on a lock file.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import secrets
import shutil
from pathlib import Path

from psycopg import sql

from ..base import ADMIN_ROLE, SUPERUSER_GROUP
from ..errors import SetupError
from . import config
from .binaries import PgBinaries
from .config import InstancePaths
from .process import Runner
from .roles import group_membership_statement
from .server import PgServer

RECIPE = "3"  # bump when the template's contents change
CATALOG = "catalog.csv"
READY = "READY"


def _catalog_sql(path: Path) -> str:
    return (
        sql.SQL(
            "COPY (SELECT name, setting, coalesce(unit, '') AS unit, vartype,"
            " coalesce(array_to_json(enumvals)::text, '') AS enumvals,"
            " coalesce(min_val, '') AS min_val, coalesce(max_val, '') AS max_val,"
            " context, short_desc FROM pg_settings ORDER BY name)"
            " TO {} WITH (FORMAT csv, HEADER)"
        )
        .format(sql.Literal(str(path)))
        .as_string()
    )


class Template:
    def __init__(self, workspace: Path, binaries: PgBinaries, runner: Runner, durable: bool):
        key = hashlib.sha256(f"{binaries.bin_dir}|{binaries.version}|{RECIPE}".encode())
        self.workspace = workspace
        self.dir = workspace / f"template-{binaries.version}-{key.hexdigest()[:12]}"
        self.binaries = binaries
        self.runner = runner
        self.durable = durable

    @property
    def data(self) -> Path:
        return self.dir / "data"

    @property
    def catalog(self) -> Path:
        return self.dir / CATALOG

    def ensure(self) -> Path:
        """The template directory, built first if needed."""
        if (self.dir / READY).exists():
            return self.dir
        self.runner.make_dir(self.workspace)
        self.runner.check_reachable(self.workspace)
        lock_path = self.workspace / "template.lock"
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if not (self.dir / READY).exists():
                    self._build()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return self.dir

    def _build(self) -> None:
        staging = self.workspace / f".template-{secrets.token_hex(4)}"
        self.runner.make_dir(staging)
        try:
            paths = InstancePaths(staging)
            self._initdb(paths)
            server = PgServer(self.binaries, self.runner, paths)
            server.single_user(
                [
                    f"CREATE ROLE {SUPERUSER_GROUP} NOLOGIN",
                    group_membership_statement(),
                    _catalog_sql(staging / CATALOG),
                ]
            )
            self.runner.write_file(staging / READY, b"ok\n", 0o644)
            if self.dir.exists():
                shutil.rmtree(self.dir)
            os.replace(staging, self.dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def _initdb(self, paths: InstancePaths) -> None:
        argv = [
            self.binaries.path("initdb"),
            "-D",
            str(paths.data),
            "-U",
            ADMIN_ROLE,
            "--auth=reject",  # replaced by warden's pg_hba.conf before any start
            "-E",
            "UTF8",
            "--locale=C",
            "--data-checksums",
            "--no-instructions",
        ]
        if not self.durable:
            argv.append("--no-sync")
        done = self.runner.run(argv, cwd=paths.root)
        if done.returncode != 0:
            raise SetupError(f"initdb failed: {done.stderr.decode(errors='replace').strip()}")
        w = self.runner.write_file
        w(paths.conf("postgresql.conf"), config.main_conf())
        w(paths.conf(config.DEFAULTS_FILE), config.defaults_conf())
        w(paths.conf(config.PARAMETERS_FILE), config.parameters_conf(()))
        w(paths.conf(config.ENFORCED_FILE), config.template_enforced_conf())
        w(paths.hba, b"# no access until warden writes the instance's rules\n")

    def copy_to(self, data: Path) -> None:
        """Copy the template's data directory to ``data`` (which must not exist)."""
        done = self.runner.run(["cp", "-a", str(self.data), str(data)], cwd=self.dir)
        if done.returncode != 0:
            with contextlib.suppress(FileNotFoundError):
                shutil.rmtree(data)
            raise SetupError(f"copying the template failed: {done.stderr.decode().strip()}")
        if self.durable:
            sync_tree(data)


def sync_tree(root: Path) -> None:
    """fsync every file and directory below ``root`` (a copy is not durable by itself)."""
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fd = os.open(dirpath, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
