"""Fault test: kill -9 warden after each step of a managed master password rotation.

A cluster whose master password RDS manages (real PostgreSQL, which keeps running while
warden is down, as designed). RotateMasterUserPassword starts a rotation; warden is started
with ``WARDEN_TEST_PAUSE_AT=<point>`` so the rotation blocks right after that step's effect
is durable, the database is checked there, and warden is killed with SIGKILL and started
again paused at the next step: createSecret, setSecret (the new password is in PostgreSQL),
testSecret, finishSecret (AWSCURRENT moved, completion not yet recorded). A last start
without the hook lets the rotation finish. At every point the current or the pending
password logs in (the single-user window AWS documents), and at the end AWSCURRENT logs in,
AWSPREVIOUS holds the old password, which no longer works.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from rds_support import RdsServer, until

from warden.services.secretsmanager.rotator import PAUSE_ENV, STEPS

pytestmark = pytest.mark.slow


def _restart(server: RdsServer, monkeypatch: pytest.MonkeyPatch, pause_at: str | None) -> None:
    proc = server.warden.proc
    assert proc is not None
    proc.kill()  # SIGKILL: no shutdown of any kind
    proc.wait()
    server.warden.proc = None
    if pause_at is None:
        monkeypatch.delenv(PAUSE_ENV, raising=False)
    else:
        monkeypatch.setenv(PAUSE_ENV, pause_at)
    server.warden.start()


def _paused(server: RdsServer, point: str) -> None:
    def seen() -> bool:
        return f"rotation paused at {point}:" in server.warden.log.read_text(errors="replace")

    until(seen, timeout=60, every=0.05)


def _password(sm: Any, arn: str, stage: str) -> str | None:
    try:
        got = sm.get_secret_value(SecretId=arn, VersionStage=stage)
    except Exception:  # no such stage (yet)
        return None
    return str(json.loads(got["SecretString"])["password"])


def test_kill_at_every_step_of_a_managed_rotation(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PAUSE_ENV, raising=False)
    server = RdsServer(Path(tmp_path_factory.mktemp("managed-crash")))
    try:
        server.rds.create_db_cluster(
            DBClusterIdentifier="m", Engine="aurora-postgresql", MasterUsername="master",
            ManageMasterUserPassword=True, DatabaseName="app",
        )  # fmt: skip
        server.rds.create_db_instance(
            DBInstanceIdentifier="m-w", DBClusterIdentifier="m", Engine="aurora-postgresql",
            DBInstanceClass="db.r6g.large",
        )  # fmt: skip
        server.wait_instance("m-w")
        cluster = server.wait_cluster("m")
        until(lambda: server.cluster("m")["MasterUserSecret"]["SecretStatus"] == "active")
        arn = server.cluster("m")["MasterUserSecret"]["SecretArn"]
        sm: Any = server.warden.client("secretsmanager")
        old = _password(sm, arn, "AWSCURRENT")
        assert old is not None and server.can_connect(cluster, password=old)
        for n, point in enumerate(STEPS):
            _restart(server, monkeypatch, point)
            server.rds = server.warden.client("rds")
            sm = server.warden.client("secretsmanager")
            if n == 0:
                server.rds.modify_db_cluster(
                    DBClusterIdentifier="m", RotateMasterUserPassword=True, ApplyImmediately=True
                )
            _paused(server, point)
            current = _password(sm, arn, "AWSCURRENT")
            pending = _password(sm, arn, "AWSPENDING")
            assert pending is not None and pending != old
            logins = [p for p in (current, pending) if server.can_connect(cluster, password=p)]
            assert logins, f"locked out at {point}"
            if point != "createSecret":  # the new password is in PostgreSQL from setSecret on
                assert server.can_connect(cluster, password=pending)
                assert not server.can_connect(cluster, password=old)
        _restart(server, monkeypatch, None)
        server.rds = server.warden.client("rds")
        sm = server.warden.client("secretsmanager")

        def finished() -> bool:
            stages = sm.describe_secret(SecretId=arn)["VersionIdsToStages"].values()
            return all("AWSPENDING" not in labels for labels in stages)

        until(finished)
        new = _password(sm, arn, "AWSCURRENT")
        assert new is not None and new != old
        assert _password(sm, arn, "AWSPREVIOUS") == old
        assert server.can_connect(cluster, password=new)
        assert not server.can_connect(cluster, password=old)
        time.sleep(2)  # a few reconciler ticks: it keeps the rotated password
        assert server.can_connect(cluster, password=new)
        assert server.cluster("m")["MasterUserSecret"]["SecretStatus"] == "active"
    finally:
        server.close()
