"""Rotation execution and scheduling over a real store, with a fixed clock.

The database side is ``engines.fake.FakeAccounts`` (the engine package's in-memory
``Accounts``: SCRAM verifiers, logins, clones); KMS is the ``AesDataKeys`` test double of
``test_secretsmanager_service``. Everything else is the production code: the executor, the
scheduler, the job queue, labels and events. The real PostgreSQL runs in
``tests/api/test_secretsmanager_rotation.py``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from test_secretsmanager_service import ACCOUNT, REGION, T0, Harness

from warden.core.ids import RandomIds
from warden.core.redacted import Redacted
from warden.engines.base import Endpoint, Login
from warden.engines.fake import FakeAccounts, FakeSession
from warden.services.secretsmanager import errors
from warden.services.secretsmanager.dbsecret import Trust
from warden.services.secretsmanager.doorbell import Doorbell, RingingJobQueue
from warden.services.secretsmanager.handlers import deps_for
from warden.services.secretsmanager.rotation import ROTATE_ATTEMPTS, ROTATE_JOB
from warden.services.secretsmanager.rotation_state import RotationState
from warden.services.secretsmanager.rotation_workers import RotationConfig, build_workers
from warden.services.secretsmanager.rotator import RotationExecutor
from warden.services.secretsmanager.scheduler import RotationScheduler
from warden.store.db import Store
from warden.store.schema import JobState, accounts, audit_events, jobs

FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:SecretsManagerRDSPostgreSQLRotation"
SINGLE, MULTI = FN + "SingleUser", FN + "MultiUser"
DB = Endpoint(host="db.example", port=5432)
NODE = "host:/data"


class Rig(Harness):
    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.db = FakeAccounts()
        self.db.add_role(DB, "master", "master-pw", admin=True)
        self.db.add_role(DB, "app", "app-pw-0")
        self.deps = deps_for(store, self.clock, RandomIds(), self.keys, self.jobs)
        self.workers = build_workers(self.deps, self.config())

    def call(self, operation: str, **params: Any) -> Any:
        if operation in {"CreateSecret", "PutSecretValue", "RotateSecret"}:
            params.setdefault("ClientRequestToken", str(uuid.uuid4()))  # as the SDKs do
        return super().call(operation, **params)

    def config(self) -> RotationConfig:
        return RotationConfig(accounts=self.db, trust=Trust(), node=NODE, executors=1)

    @property
    def executor(self) -> RotationExecutor:
        worker = self.workers[1].worker
        assert isinstance(worker, RotationExecutor)
        return worker

    @property
    def scheduler(self) -> RotationScheduler:
        worker = self.workers[0].worker
        assert isinstance(worker, RotationScheduler)
        return worker

    def drain(self) -> int:
        ran = 0
        while self.executor.run_once():
            ran += 1
        return ran

    def value(self, name: str, stage: str = "AWSCURRENT") -> dict[str, Any]:
        got = self.call("GetSecretValue", SecretId=name, VersionStage=stage)
        return dict(json.loads(got["SecretString"]))

    def logs_in(self, doc: dict[str, Any]) -> bool:
        return self.db.check_login(DB, Login(doc["username"], Redacted(doc["password"]))).ok

    def events(self) -> list[tuple[str, str | None]]:
        query = sa.select(audit_events.c.event_name, audit_events.c.error_code).order_by(
            audit_events.c.seq
        )
        with self.store.read() as conn:
            return [(r[0], r[1]) for r in conn.execute(query)]

    def job_states(self) -> list[str]:
        with self.store.read() as conn:
            return [
                r[0] for r in conn.execute(sa.select(jobs.c.state).where(jobs.c.kind == ROTATE_JOB))
            ]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    store = Store.sqlite_in(tmp_path)
    with store.begin() as conn:
        conn.execute(
            accounts.insert().values(
                account_id=ACCOUNT, created_at=T0, root_password_hash="x", root_user_id=ACCOUNT
            )
        )
    yield Rig(store)
    store.close()


def _secret(rig: Rig, name: str, username: str, password: str, **extra: Any) -> str:
    doc = {"engine": "postgres", "host": DB.host, "port": DB.port, "username": username}
    doc |= {"password": password, "dbname": "postgres", **extra}
    return str(rig.call("CreateSecret", Name=name, SecretString=json.dumps(doc))["ARN"])


def test_single_user_rotation_changes_the_password_and_moves_the_labels(rig: Rig) -> None:
    _secret(rig, "single", "app", "app-pw-0")
    started = rig.call("RotateSecret", SecretId="single", RotationLambdaARN=SINGLE)
    assert rig.drain() == 1
    new = rig.value("single")
    assert new["username"] == "app" and new["password"] != "app-pw-0"
    assert len(new["password"]) == 32 and not set(new["password"]) & set(":/@\"'\\")
    assert rig.logs_in(new)
    assert not rig.logs_in(rig.value("single", "AWSPREVIOUS"))
    assert rig.value("single", "AWSPREVIOUS")["password"] == "app-pw-0"
    described = rig.call("DescribeSecret", SecretId="single")
    assert described["VersionIdsToStages"][started["VersionId"]] == ["AWSCURRENT"]
    assert described["LastRotatedDate"] == T0
    assert [e for e, _ in rig.events()] == ["RotationStarted", "RotationSucceeded"]
    assert rig.job_states() == [JobState.DONE.value]


def test_alternating_users_keep_the_previous_user_working(rig: Rig) -> None:
    master = _secret(rig, "master", "master", "master-pw")
    _secret(rig, "multi", "app", "app-pw-0", masterarn=master)
    rig.call("RotateSecret", SecretId="multi", RotationLambdaARN=MULTI)
    rig.drain()
    first = rig.value("multi")
    assert first["username"] == "app_clone" and rig.logs_in(first)
    assert rig.logs_in(rig.value("multi", "AWSPREVIOUS"))  # app still logs in
    rig.call("RotateSecret", SecretId="multi")
    rig.drain()
    second = rig.value("multi")
    assert second["username"] == "app" and second["password"] != "app-pw-0"
    assert rig.logs_in(second) and rig.logs_in(rig.value("multi", "AWSPREVIOUS"))


def test_a_failed_step_is_retried_with_the_same_pending_password(rig: Rig) -> None:
    _secret(rig, "flaky", "app", "app-pw-0")
    roles = rig.db.servers[(DB.host, DB.port)]
    saved = roles.pop("app")  # the server refuses every password of the user for now
    pending_id = rig.call("RotateSecret", SecretId="flaky", RotationLambdaARN=SINGLE)["VersionId"]
    rig.drain()
    assert rig.events()[-1] == ("RotationFailed", "LoginFailed")
    pending = rig.value("flaky", "AWSPENDING")
    assert rig.value("flaky")["password"] == "app-pw-0"  # AWSCURRENT untouched
    roles["app"] = saved
    assert rig.drain() == 0  # backing off
    rig.clock.advance(timedelta(minutes=1))
    assert rig.drain() == 1
    assert rig.value("flaky") == pending  # the password createSecret made the first time
    described = rig.call("DescribeSecret", SecretId="flaky")
    assert described["VersionIdsToStages"][pending_id] == ["AWSCURRENT"]


def test_unknown_function_and_wrong_master_are_recorded_failures(rig: Rig) -> None:
    other = FN.replace("PostgreSQLRotation", "MySQLRotation") + "SingleUser"
    _secret(rig, "nolambda", "app", "app-pw-0")
    rig.call("RotateSecret", SecretId="nolambda", RotationLambdaARN=other)
    rig.drain()
    assert rig.events()[-1] == ("RotationFailed", "AccessDeniedException")
    assert rig.job_states() == [JobState.FAILED.value]  # cannot be invoked: not retried
    master = _secret(rig, "badmaster", "master", "not-the-password")
    _secret(rig, "multi2", "app", "app-pw-0", masterarn=master)
    rig.call("RotateSecret", SecretId="multi2", RotationLambdaARN=MULTI)
    rig.drain()
    assert rig.events()[-1] == ("RotationFailed", "LoginFailed")
    assert rig.value("multi2")["password"] == "app-pw-0"


def test_manual_write_and_cancel_stop_the_rotation(rig: Rig) -> None:
    _secret(rig, "manual", "app", "app-pw-0")
    rig.call("RotateSecret", SecretId="manual", RotationLambdaARN=SINGLE)
    rig.call("PutSecretValue", SecretId="manual", SecretString='{"manual": true}')
    rig.drain()
    assert rig.events()[-1] == ("RotationAbandoned", None)
    assert rig.value("manual") == {"manual": True}
    assert rig.logs_in({"username": "app", "password": "app-pw-0"})


def test_rotate_immediately_false_runs_only_the_test(rig: Rig) -> None:
    _secret(rig, "later", "app", "app-pw-0")
    rig.call(
        "RotateSecret",
        SecretId="later",
        RotationLambdaARN=SINGLE,
        RotateImmediately=False,
        RotationRules={"AutomaticallyAfterDays": 1},
    )
    rig.drain()
    assert [e for e, _ in rig.events()] == ["TestRotationStarted", "TestRotationSucceeded"]
    described = rig.call("DescribeSecret", SecretId="later")
    assert list(described["VersionIdsToStages"].values()) == [["AWSCURRENT"]]
    assert rig.value("later")["password"] == "app-pw-0"


def test_the_scheduler_starts_each_window_once(rig: Rig) -> None:
    _secret(rig, "sched", "app", "app-pw-0")
    rig.call(
        "RotateSecret",
        SecretId="sched",
        RotationLambdaARN=SINGLE,
        RotateImmediately=False,
        RotationRules={"AutomaticallyAfterDays": 2},
    )
    rig.drain()
    assert rig.scheduler.tick() is False and rig.drain() == 0  # not due yet
    rig.clock.advance(timedelta(days=2))
    rig.scheduler.tick()
    rig.scheduler.tick()
    assert rig.drain() == 1
    assert rig.value("sched")["password"] != "app-pw-0"
    assert rig.logs_in(rig.value("sched"))
    described = rig.call("DescribeSecret", SecretId="sched")
    assert described["LastRotatedDate"] == rig.clock.now()
    assert described["NextRotationDate"] > rig.clock.now() + timedelta(days=1)
    rig.scheduler.tick()
    assert rig.drain() == 0
    names = [e for e, _ in rig.events()]
    assert names.count("RotationSucceeded") == 1


def test_a_restarted_node_resumes_its_interrupted_rotation_at_once(rig: Rig) -> None:
    _secret(rig, "orphan", "app", "app-pw-0")
    rig.call("RotateSecret", SecretId="orphan", RotationLambdaARN=SINGLE)
    claimed = rig.jobs.claim(f"{NODE}/deadbeef/0", [ROTATE_JOB], lease=timedelta(hours=1))
    assert claimed is not None  # a process of this node took it, then died
    other = rig.jobs.claim("elsewhere/cafe/0", [ROTATE_JOB], lease=timedelta(hours=1))
    assert other is None
    assert rig.drain() == 1  # the new process released the orphan before claiming
    assert rig.logs_in(rig.value("orphan"))


def _until_dead(rig: Rig) -> None:
    """Run the rotation's every retry (the backoff waited out) until its job is dead."""
    for _ in range(ROTATE_ATTEMPTS + 1):
        rig.drain()
        rig.clock.advance(timedelta(hours=1))
    assert rig.job_states()[-1] == JobState.DEAD.value


def test_a_rotation_whose_retries_ran_out_is_reattempted_when_asked_again(rig: Rig) -> None:
    _secret(rig, "stuck", "app", "app-pw-0")
    roles = rig.db.servers[(DB.host, DB.port)]
    saved = roles.pop("app")  # every login of the user is refused, for a long while
    first = rig.call("RotateSecret", SecretId="stuck", RotationLambdaARN=SINGLE)["VersionId"]
    _until_dead(rig)
    pending = rig.value("stuck", "AWSPENDING")
    assert rig.value("stuck")["password"] == "app-pw-0"  # AWSCURRENT untouched throughout
    roles["app"] = saved
    assert rig.drain() == 0  # dead: nothing retries it by itself
    with pytest.raises(errors.InvalidRequestException, match="will be reattempted"):
        rig.call("RotateSecret", SecretId="stuck")
    assert rig.job_states() == [JobState.READY.value]  # ... and so it is
    assert rig.drain() == 1
    assert rig.value("stuck") == pending  # the rotation that was stuck, not a new one
    described = rig.call("DescribeSecret", SecretId="stuck")
    assert described["VersionIdsToStages"][first] == ["AWSCURRENT"]
    assert rig.logs_in(rig.value("stuck"))
    assert not rig.logs_in({"username": "app", "password": "app-pw-0"})


def test_a_running_rotation_is_left_alone_and_a_stuck_one_reattempted_by_its_window(
    rig: Rig,
) -> None:
    _secret(rig, "window", "app", "app-pw-0")
    roles = rig.db.servers[(DB.host, DB.port)]
    saved = roles.pop("app")
    rig.call(
        "RotateSecret",
        SecretId="window",
        RotationLambdaARN=SINGLE,
        RotationRules={"AutomaticallyAfterDays": 1},
    )
    rig.drain()  # first attempt failed; the job waits for its retry
    with pytest.raises(errors.InvalidRequestException, match="will be reattempted"):
        rig.call("RotateSecret", SecretId="window")
    assert rig.job_states() == [JobState.READY.value]
    with rig.store.read() as conn:
        attempts = conn.execute(sa.select(jobs.c.attempts)).scalar_one()
    assert attempts == 1  # a running rotation keeps its count: no extra attempts given
    _until_dead(rig)
    roles["app"] = saved
    rig.clock.advance(timedelta(days=1))
    rig.scheduler.tick()  # the next window finds it stuck and reattempts it
    assert rig.job_states() == [JobState.READY.value]
    assert rig.drain() == 1
    assert rig.logs_in(rig.value("window"))
    assert ("RotationFailed", "InvalidRequestException") not in rig.events()


def test_the_doorbell_rings_once_the_rotation_job_has_committed(rig: Rig) -> None:
    bell = Doorbell()
    queue = RingingJobQueue(rig.store, rig.clock, RandomIds(), bell)
    with rig.store.begin() as conn:
        queue.enqueue(ROTATE_JOB, {"n": 1}, conn=conn)
        assert bell.rings == 0  # an executor woken now could not see the job yet
    assert bell.rings == 1
    with pytest.raises(RuntimeError), rig.store.begin() as conn:
        queue.enqueue(ROTATE_JOB, {"n": 2}, conn=conn)
        raise RuntimeError("rolled back")
    assert bell.rings == 1
    queue.enqueue(ROTATE_JOB, {"n": 3})  # its own transaction
    queue.enqueue("another.kind", {"n": 4})
    assert bell.rings == 2


def test_a_revived_rotation_rings_once_committed(rig: Rig) -> None:
    bell = Doorbell()
    queue = RingingJobQueue(rig.store, rig.clock, RandomIds(), bell)
    queue.enqueue(ROTATE_JOB, {"n": 1}, dedupe_key="k", max_attempts=1)
    job = queue.claim("w", [ROTATE_JOB], lease=timedelta(minutes=1))
    assert job is not None
    queue.fail(job, "refused", permanent=True)
    rings = bell.rings
    with rig.store.begin() as conn:
        assert queue.revive(conn, "k", attempts=1)
        assert bell.rings == rings
    assert bell.rings == rings + 1
    with rig.store.begin() as conn:
        assert not queue.revive(conn, "k", attempts=1)  # ready already: nothing to wake for
    assert bell.rings == rings + 1


def test_an_executor_passes_the_ring_on_while_work_is_left(rig: Rig) -> None:
    # Two rotations enqueued without a ring (the rig's queue does not ring): each claim
    # that leaves work behind wakes another executor; the last one does not.
    for name in ("a", "b"):
        arn = _secret(rig, name, "app", "app-pw-0")
        rig.call("RotateSecret", SecretId=arn, RotationLambdaARN=SINGLE)
    bell = rig.executor._doorbell
    rings = bell.rings
    assert rig.executor.run_once()
    assert bell.rings == rings + 1
    assert rig.executor.run_once()
    assert bell.rings == rings + 1
    assert not rig.executor.run_once()


def _until_blocked(bell: Doorbell, waiters: int) -> None:
    """Until ``waiters`` threads block in ``bell.wait`` (no public API tells: CPython's
    Condition queue), for 30 s at most."""
    waiting = bell._cond._waiters  # type: ignore[attr-defined]
    deadline = time.monotonic() + 30.0
    while len(waiting) < waiters and time.monotonic() < deadline:
        time.sleep(0.001)
    assert len(waiting) == waiters


def test_a_ring_wakes_one_waiting_executor() -> None:
    bell = Doorbell()
    woken: list[str] = []
    waiting = bell._cond._waiters  # type: ignore[attr-defined]  # CPython's Condition queue

    def wait(name: str) -> None:
        if bell.wait(0, timeout=30.0):
            woken.append(name)

    threads = [threading.Thread(target=wait, args=(n,), daemon=True) for n in ("a", "b")]
    for t in threads:
        t.start()
    _until_blocked(bell, 2)
    bell.ring()
    assert len(waiting) == 1  # notify() took one waiter off the queue, under the lock
    bell.ring()
    for t in threads:
        t.join(timeout=30.0)
    assert sorted(woken) == ["a", "b"]


def test_a_closed_doorbell_ends_every_wait() -> None:
    bell = Doorbell()
    results: list[bool] = []
    waiter = threading.Thread(target=lambda: results.append(bell.wait(0, 3600)), daemon=True)
    waiter.start()
    _until_blocked(bell, 1)  # blocked in wait(): close() itself must end it
    bell.close()
    waiter.join(timeout=30)
    assert not waiter.is_alive() and results == [False]
    assert bell.wait(bell.rings, 3600) is False  # later waits end at once


def _all_closed(db: FakeAccounts) -> bool:
    """Whether every session is closed, allowing an early login still under way to finish."""
    for _ in range(500):
        if not db.sessions:
            return True
        time.sleep(0.01)
    return False


class _Trace:
    """Who logged in (the thread's name) and, at each password change, whether createSecret's
    write of AWSPENDING had returned. ``during_fill`` runs inside that write, before it."""

    def __init__(self, rig: Rig, monkeypatch: pytest.MonkeyPatch, during_fill: Any = None) -> None:
        self.logins: list[str] = []
        self.logging_in = threading.Event()
        self.changes: list[bool] = []
        stored = threading.Event()
        real_log_in, real_fill = rig.db.log_in, RotationState.fill_pending
        real_set = FakeSession.set_password

        def log_in(endpoint: Endpoint, acting: Login) -> Any:
            self.logins.append(threading.current_thread().name)
            self.logging_in.set()
            return real_log_in(endpoint, acting)

        def fill_pending(state: RotationState, *args: Any) -> Any:
            if during_fill is not None:
                during_fill()
            out = real_fill(state, *args)
            stored.set()
            return out

        def set_password(session: FakeSession, role: str, password: Redacted[str]) -> None:
            self.changes.append(stored.is_set())
            real_set(session, role, password)

        monkeypatch.setattr(rig.db, "log_in", log_in)
        monkeypatch.setattr(RotationState, "fill_pending", fill_pending)
        monkeypatch.setattr(FakeSession, "set_password", set_password)

    @property
    def early(self) -> int:
        return sum(1 for name in self.logins if name == "sm-login-ahead")


def test_set_secret_logs_in_while_create_secret_stores_the_pending_value(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The single-user function's setSecret login is under way before createSecret's write
    of AWSPENDING returns: the two overlap. The password changes only after that write."""
    _secret(rig, "ahead", "app", "app-pw-0")
    overlapped: list[bool] = []
    # Without the early login this wait would run out: nothing would log in yet.
    trace = _Trace(rig, monkeypatch, lambda: overlapped.append(trace.logging_in.wait(10)))
    rig.call("RotateSecret", SecretId="ahead", RotationLambdaARN=SINGLE)
    assert rig.drain() == 1
    assert overlapped == [True]
    assert trace.early == 1 and trace.changes == [True]
    new = rig.value("ahead")
    assert new["password"] != "app-pw-0" and rig.logs_in(new)
    assert _all_closed(rig.db)


def test_an_early_login_the_rotation_never_uses_is_closed(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    _secret(rig, "dropped", "app", "app-pw-0")
    trace = _Trace(
        rig,
        monkeypatch,
        # A manual write while createSecret runs: the rotation stops before setSecret.
        lambda: rig.call("PutSecretValue", SecretId="dropped", SecretString='{"manual": true}'),
    )
    rig.call("RotateSecret", SecretId="dropped", RotationLambdaARN=SINGLE)
    rig.drain()
    assert rig.events()[-1] == ("RotationAbandoned", None)
    assert trace.early == 1 and trace.changes == []
    assert rig.logs_in({"username": "app", "password": "app-pw-0"})  # never changed
    assert _all_closed(rig.db)


def test_a_refused_early_login_is_a_failed_set_secret(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    _secret(rig, "moved", "app", "app-pw-0")
    trace = _Trace(rig, monkeypatch)
    rig.db.add_role(DB, "app", "changed-elsewhere")  # the current value no longer logs in
    rig.call("RotateSecret", SecretId="moved", RotationLambdaARN=SINGLE)
    rig.drain()
    assert rig.events()[-1] == ("RotationFailed", "LoginFailed")
    assert trace.early == 1 and trace.changes == []
    assert rig.value("moved")["password"] == "app-pw-0"  # AWSCURRENT untouched
    assert rig.logs_in({"username": "app", "password": "changed-elsewhere"})
    assert _all_closed(rig.db)


def test_resumed_and_alternating_rotations_log_in_when_they_set(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No early login where setSecret may need another login than the current user's: a
    resumed rotation (AWSPENDING already holds a value) or the alternating-users function."""
    _secret(rig, "resumed", "app", "app-pw-0")
    roles = rig.db.servers[(DB.host, DB.port)]
    saved = roles.pop("app")  # the first attempt fails at setSecret
    rig.call("RotateSecret", SecretId="resumed", RotationLambdaARN=SINGLE)
    rig.drain()
    roles["app"] = saved
    trace = _Trace(rig, monkeypatch)
    rig.clock.advance(timedelta(minutes=1))
    assert rig.drain() == 1
    assert rig.logs_in(rig.value("resumed"))
    master = _secret(rig, "master", "master", "master-pw")
    _secret(rig, "multi", "app", "app-pw-0", masterarn=master)
    rig.call("RotateSecret", SecretId="multi", RotationLambdaARN=MULTI)
    assert rig.drain() == 1
    assert rig.logs_in(rig.value("multi"))
    assert trace.logins and trace.early == 0
    assert _all_closed(rig.db)
