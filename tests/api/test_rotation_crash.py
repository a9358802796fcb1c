"""Fault tests: kill -9 warden after each rotation step and in the middle of finishSecret.

One warden (its own data dir) rotates two secrets of a real PostgreSQL at once, one with the
single-user function and one with alternating users. The server is started with
``WARDEN_TEST_PAUSE_AT=<point>``, so each rotation blocks right after that point's effect is
durable; the test checks the database there, kills the server with SIGKILL, and starts it
again paused at the next point: createSecret, setSecret, testSecret, then finishSecret
(after AWSCURRENT moved, before the rotation is recorded complete). A last start without the
hook lets both rotations finish.

Meanwhile a prober fetches AWSCURRENT of the alternating-users secret (the last value it got
while warden is down) and logs in with it, again and again: 0 failures is the "never locked
out" property. A single user has one password, so between setSecret and finishSecret its
AWSCURRENT is the old one (AWS documents this window); for it the test asserts that the
current or the pending credentials always log in, and that the rotation converges. Then the
data dir and the server log are scanned for every password seen.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from harness import Warden, free_port
from rotation_db import Database, scan_for, start_database

from warden.services.secretsmanager.rotator import PAUSE_ENV, STEPS

FN = "arn:aws:lambda:us-east-1:123456789012:function:SecretsManagerRDSPostgreSQLRotation"


@dataclass
class Prober:
    """Logs in with the latest AWSCURRENT it could fetch, until stopped."""

    warden: Warden
    db: Database
    arn: str
    attempts: int = 0
    failures: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        sm: Any = self.warden.client("secretsmanager")
        latest: dict[str, Any] | None = None
        while not self._stop.is_set():
            try:
                got = sm.get_secret_value(SecretId=self.arn)
                latest = json.loads(got["SecretString"])
            except Exception:  # warden is down (killed, restarting): keep the last value
                sm = self.warden.client("secretsmanager")
            if latest is not None:
                self.seen.add(latest["password"])
                self.attempts += 1
                if not self.db.logs_in(latest["username"], latest["password"]):
                    self.failures.append(latest["username"])
            self._stop.wait(0.05)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


@pytest.fixture
def crashing(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Warden]:
    w = Warden(tmp_path_factory.mktemp("crash") / "data", free_port())
    result = w.init("--account-id", "123456789012")
    assert result.returncode == 0, result.stderr
    monkeypatch.delenv(PAUSE_ENV, raising=False)
    yield w
    if w.proc is not None:
        w.proc.kill()
        w.proc.wait()
        w.proc = None


def _kill(w: Warden) -> None:
    assert w.proc is not None
    w.proc.kill()  # SIGKILL: no shutdown of any kind
    w.proc.wait()
    w.proc = None


def _paused(w: Warden, point: str, count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if w.log.read_text(errors="replace").count(f"rotation paused at {point}:") >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"no {count} pauses at {point}: {w.log.read_text()[-3000:]}")


def _get(sm: Any, arn: str, stage: str) -> dict[str, Any]:
    return dict(json.loads(sm.get_secret_value(SecretId=arn, VersionStage=stage)["SecretString"]))


def test_kill_at_every_step_and_no_lockout(
    crashing: Warden, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = crashing
    monkeypatch.setenv(PAUSE_ENV, STEPS[0])
    w.start()
    db = start_database(Path(w.data_dir) / "tls")
    prober: Prober | None = None
    seen = {db.master.password.reveal()}
    try:
        sm: Any = w.client("secretsmanager")
        ids: dict[str, str] = {}
        secrets: dict[str, str] = {}
        for kind in ("single", "multi"):
            user, password = f"{kind}_{uuid.uuid4().hex[:6]}", "initial-" + uuid.uuid4().hex
            db.create_user(user, password)
            seen.add(password)
            extra: dict[str, Any] = {"ssl": True}
            if kind == "multi":
                master = db.secret(db.master.username, db.master.password.reveal())
                made = sm.create_secret(Name=f"crash/m-{user}", SecretString=json.dumps(master))
                extra["masterarn"] = made["ARN"]
            doc = json.dumps(db.secret(user, password, **extra))
            secrets[kind] = sm.create_secret(Name=f"crash/{user}", SecretString=doc)["ARN"]
        prober = Prober(w, db, secrets["multi"])
        prober.start()
        for kind, arn in secrets.items():
            function = FN + ("SingleUser" if kind == "single" else "MultiUser")
            ids[kind] = sm.rotate_secret(SecretId=arn, RotationLambdaARN=function)["VersionId"]
        first_pending: dict[str, dict[str, Any]] = {}
        for n, point in enumerate(STEPS):
            _paused(w, point, 2)
            for kind, arn in secrets.items():
                current, pending = _get(sm, arn, "AWSCURRENT"), _get(sm, arn, "AWSPENDING")
                seen |= {current["password"], pending["password"]}
                first_pending.setdefault(kind, pending)
                assert pending == first_pending[kind], "createSecret ran twice"
                cur_ok = db.logs_in(current["username"], current["password"])
                pend_ok = db.logs_in(pending["username"], pending["password"])
                if kind == "multi":
                    assert cur_ok, f"AWSCURRENT locked out at {point}"
                assert cur_ok or pend_ok, f"{kind}: neither credential logs in at {point}"
            _kill(w)
            time.sleep(0.3)  # the prober keeps probing while warden is down
            if n + 1 < len(STEPS):
                monkeypatch.setenv(PAUSE_ENV, STEPS[n + 1])
            else:
                monkeypatch.delenv(PAUSE_ENV)
            w.start()
        for kind, arn in secrets.items():
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                described = sm.describe_secret(SecretId=arn)
                if described["VersionIdsToStages"].get(ids[kind]) == ["AWSCURRENT"]:
                    break
                time.sleep(0.05)
            assert described["VersionIdsToStages"][ids[kind]] == ["AWSCURRENT"]
            assert "LastRotatedDate" in described
            current, previous = _get(sm, arn, "AWSCURRENT"), _get(sm, arn, "AWSPREVIOUS")
            assert current == first_pending[kind]
            assert db.logs_in(current["username"], current["password"])
            if kind == "single":
                assert not db.logs_in(previous["username"], previous["password"])
            else:
                assert db.logs_in(previous["username"], previous["password"])
        prober.stop()
        assert prober.attempts > 20
        assert prober.failures == []  # 0 lockouts
        _kill(w)
        needles = sorted(seen | prober.seen)
        assert scan_for(needles, [Path(w.data_dir), w.log]) == []
    finally:
        if prober is not None:
            prober.stop()
        db.close()
