"""Started as root, warden becomes the unprivileged service user before serving: the data
directory is handed to it (still 0700) and the server and every PostgreSQL process run as
it (DESIGN §2).

Dropping privileges needs a Python installation the service user can read; this
machine's venv interpreter lives under /root, so the test runs warden with the system
Python of the same version and the venv's packages (the fallback for an unreadable
installation is what the other API tests exercise).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import ROOT, Warden, clean_env, free_port
from rds_support import PASSWORD, kill_processes_in, until

SYSTEM_PYTHON = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="only root drops privileges"),
    pytest.mark.skipif(not SYSTEM_PYTHON.exists(), reason=f"needs {SYSTEM_PYTHON}"),
]


def _uid_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        line = next(ln for ln in fh if ln.startswith("Uid:"))
    return int(line.split()[1])


@pytest.fixture
def base() -> Iterator[Path]:
    made = Path(tempfile.mkdtemp(prefix="warden-drop-"))
    os.chmod(made, 0o711)
    try:
        yield made
    finally:
        kill_processes_in(made)
        shutil.rmtree(made, ignore_errors=True)


def test_root_becomes_the_service_user(base: Path) -> None:
    env = clean_env()
    env["PYTHONPATH"] = f"{ROOT / 'src'}:{sysconfig.get_paths()['purelib']}"
    warden_cmd = [str(SYSTEM_PYTHON), "-m", "warden.cli"]
    w = Warden(base / "data", free_port())
    init = subprocess.run(
        [*warden_cmd, "init", "--data-dir", str(w.data_dir), "--port", str(w.port)],
        capture_output=True, text=True, env=env, check=False, timeout=120,
    )  # fmt: skip
    assert init.returncode == 0, init.stderr
    assert "staying root" not in init.stderr
    service = pwd.getpwnam("warden")
    assert os.stat(w.data_dir).st_mode & 0o777 == 0o700
    owners = {p.stat().st_uid for p in [w.data_dir, *w.data_dir.rglob("*")]}
    assert owners == {service.pw_uid}
    with open(w.log, "ab") as log:
        w.proc = subprocess.Popen(
            [*warden_cmd, "server", "--data-dir", str(w.data_dir)],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    rds: Any = None
    try:
        w.wait_healthy()
        assert _uid_of(w.proc.pid) == service.pw_uid
        rds = w.client("rds")
        rds.create_db_instance(
            DBInstanceIdentifier="dropped", Engine="postgres", DBInstanceClass="db.t3.micro",
            MasterUsername="master", MasterUserPassword=PASSWORD,
        )  # fmt: skip
        rds.get_waiter("db_instance_available").wait(
            DBInstanceIdentifier="dropped", WaiterConfig={"Delay": 1, "MaxAttempts": 90}
        )
        resource_id = rds.describe_db_instances()["DBInstances"][0]["DbiResourceId"]
        pid_file = w.data_dir / "rds" / "volumes" / resource_id / "data" / "postmaster.pid"
        assert _uid_of(int(pid_file.read_text().split()[0])) == service.pw_uid
        rds.delete_db_instance(DBInstanceIdentifier="dropped", SkipFinalSnapshot=True)
        until(lambda: not rds.describe_db_instances()["DBInstances"], timeout=60)
    finally:
        if rds is not None:
            rds.close()
        w.stop()
