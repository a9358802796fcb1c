"""The rotation executor: runs the ``secretsmanager.rotate`` jobs RotateSecret and the
scheduler enqueue (see ``rotation`` for the hand-off contract).

A job runs createSecret → setSecret → testSecret → finishSecret (mode ``rotate``) or only the
configuration test (mode ``test``, ``RotateImmediately=false``). Before every step the secret is
re-read and the rotation stops (the job completes, ``RotationAbandoned`` is recorded) when it no
longer stands: the secret is gone or scheduled for deletion, rotation was cancelled, or
``AWSPENDING`` moved off the job's version. Every step is idempotent, so a job that resumes
after a crash (its lease expired, or this node restarted: ``release_orphans``) converges:

- createSecret fills the empty ``AWSPENDING`` version once; a later attempt reuses that value;
- setSecret accepts a server that already has the pending password;
- finishSecret moves ``AWSCURRENT`` (``AWSPREVIOUS`` follows), then ``complete`` removes
  ``AWSPENDING`` and stamps the dates; a resumed job that finds ``AWSCURRENT`` already moved
  only completes.

A failed step records ``RotationFailed`` (with the cause, never a secret) and fails the
attempt: the job queue retries the whole rotation with exponential backoff until
``ROTATE_ATTEMPTS``. ``AWSCURRENT`` only ever moves in finishSecret, after the pending
credentials logged in, so a failed rotation never touches it.

Test-only hook: with ``pause_at`` (the server reads it from ``WARDEN_TEST_PAUSE_AT``, a
comma-separated list of ``createSecret``, ``setSecret``, ``testSecret`` and ``finishSecret``)
the executor logs ``rotation paused at <point>`` and blocks forever right after that step's
effect is durable; ``finishSecret`` pauses between the label move and ``complete``. Fault
tests kill -9 the server there. Off by default (empty).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from warden.core.errors import AwsError
from warden.store.jobs import Job

from . import dbsecret
from .core import Deps
from .dbsecret import DbSecret
from .doorbell import Doorbell
from .functions import (
    EarlyLogin,
    PostgresFunctions,
    StepFailed,
    Strategy,
    formatted,
    strategy_for,
)
from .labels import CURRENT, PENDING, PREVIOUS
from .rotation import ROTATE_JOB
from .rotation_events import RotationEvent
from .rotation_state import RotationState, Scope, Snapshot, Standing, previous_of, standing

log = logging.getLogger("warden.secretsmanager.rotation")

PAUSE_ENV = "WARDEN_TEST_PAUSE_AT"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
LEASE = timedelta(minutes=2)  # longer than any one step (each connection times out in 5 s)


class _Stop(Exception):
    """The rotation no longer stands (or the lease was lost): stop without failing."""

    def __init__(self, why: Standing | None) -> None:
        super().__init__(why.value if why else "lease lost")
        self.why = why


class Pauses:
    """The test-only pause points (empty: never pauses)."""

    def __init__(self, spec: str = "") -> None:
        names = {p.strip() for p in spec.split(",") if p.strip()}
        unknown = names - set(STEPS)
        if unknown:
            raise ValueError(f"{PAUSE_ENV}: unknown pause points {sorted(unknown)}")
        self.points = frozenset(names)

    def reached(self, point: str, scope: Scope) -> None:
        if point not in self.points:
            return
        log.warning(
            "rotation paused at %s: %s version %s", point, scope.secret_arn, scope.version_id
        )
        while True:  # until the process is killed: this is the fault tests' kill window
            time.sleep(3600)


class RotationRun:
    """One attempt of one job."""

    def __init__(
        self,
        state: RotationState,
        functions: PostgresFunctions,
        pauses: Pauses,
        job: Job,
        heartbeat: Callable[[], bool],
    ) -> None:
        p = job.payload
        self.state = state
        self.functions = functions
        self.pauses = pauses
        self.job = job
        self.heartbeat = heartbeat
        self.scope = Scope(p["secret_arn"], p["account_id"], p["region"], p["version_id"])
        self.function: str | None = p.get("function")
        self.test_mode = p.get("mode") == "test"
        self._parsed: dict[str, DbSecret] = {}
        self._early: EarlyLogin | None = None

    def run(self) -> None:
        """Raises ``StepFailed`` (record and retry) or ``_Stop`` (complete quietly)."""
        if self.test_mode:
            self._test_only()
            return
        snapshot = self._standing()
        strategy = strategy_for(
            self.function, account_id=self.scope.account_id, region=self.scope.region
        )
        self._early = self._log_in_early(strategy, snapshot)
        try:
            steps = (self._create_secret, self._set_secret, self._test_secret, self._finish_secret)
            for n, (name, step) in enumerate(zip(STEPS, steps, strict=True)):
                if n > 0:  # the first step runs on the snapshot just taken
                    snapshot = self._standing()
                if snapshot is None:
                    break  # finishSecret's label move is done: only completion is left
                if not self.heartbeat():
                    raise _Stop(None)
                step(strategy, snapshot)
                self.pauses.reached(name, self.scope)
        finally:
            if self._early is not None:
                self._early.close()
        self.state.complete(self.scope)

    def _log_in_early(self, strategy: Strategy, snapshot: Snapshot | None) -> EarlyLogin | None:
        """A fresh single-user rotation's setSecret login, begun now to overlap createSecret
        (the other functions log in as another user, or not at all)."""
        if snapshot is None or strategy is not Strategy.SINGLE_USER:
            return None
        pending = snapshot.versions.get(self.scope.version_id)
        if pending is not None and pending.sealed is not None:
            return None  # resumed: setSecret may need another candidate login
        try:
            current = self._parse(snapshot, CURRENT)
        except (StepFailed, AwsError):
            return None  # createSecret reports it, in its place
        return self.functions.log_in_early(current)

    def _standing(self) -> Snapshot | None:
        """A fresh snapshot while the rotation runs; None once finished; else ``_Stop``."""
        snapshot = self.state.snapshot(self.scope)
        now = standing(snapshot, self.scope.version_id, mode_test=self.test_mode)
        if now is Standing.FINISHED:
            return None
        if now is not Standing.RUNNING or snapshot is None:
            raise _Stop(now)
        return snapshot

    def _parse(self, snapshot: Snapshot, label: str) -> DbSecret:
        version = snapshot.holding(label)
        if version is None or version.sealed is None:
            raise StepFailed(f"The secret has no {label} value", code="InvalidSecret")
        parsed = self._parsed.get(version.version_id)
        if parsed is None:  # a version's value never changes once stored: open it once
            value = self.state.value(snapshot, version)
            parsed = formatted(lambda: dbsecret.parse(value, require_host=not self._managed))
            self._parsed[version.version_id] = parsed
        return parsed

    @property
    def _managed(self) -> bool:
        return self.function is None

    def _master(self, secret: DbSecret) -> DbSecret | None:
        if not secret.masterarn:
            return None
        value = self.state.current_of(self.scope, secret.masterarn)
        if value is None:
            raise StepFailed(
                "The secret named by masterarn does not exist in this account and Region",
                code="ResourceNotFoundException",
            )
        return formatted(lambda: dbsecret.parse(value))

    def _create_secret(self, strategy: Strategy, snapshot: Snapshot) -> None:
        pending = snapshot.versions.get(self.scope.version_id)
        if pending is not None and pending.sealed is not None:
            return  # created before a crash or retry: never a second password
        current = self._parse(snapshot, CURRENT)
        self.state.fill_pending(self.scope, snapshot, self.functions.new_pending(strategy, current))

    def _set_secret(self, strategy: Strategy, snapshot: Snapshot) -> None:
        current = self._parse(snapshot, CURRENT)
        pending = self._parse(snapshot, PENDING)
        previous = None
        if previous_of(snapshot) is not None:
            try:
                previous = self._parse(snapshot, PREVIOUS)
            except StepFailed:
                previous = None  # an older value of another shape: not a candidate
        master = self._master(current) if strategy is Strategy.MULTI_USER else None
        self.functions.set_secret(
            strategy,
            secret_arn=self.scope.secret_arn,
            owner=snapshot.record.owning_service,
            pending=pending,
            current=current,
            previous=previous,
            master=master,
            early=self._early,
        )

    def _test_secret(self, strategy: Strategy, snapshot: Snapshot) -> None:
        self.functions.test_secret(
            strategy,
            secret_arn=self.scope.secret_arn,
            owner=snapshot.record.owning_service,
            pending=self._parse(snapshot, PENDING),
        )

    def _finish_secret(self, strategy: Strategy, snapshot: Snapshot) -> None:
        if not self.state.move_current(self.scope):
            raise _Stop(standing(self.state.snapshot(self.scope), self.scope.version_id))

    def _test_only(self) -> None:
        snapshot = self._standing()
        if snapshot is None:
            return
        if self.job.attempts == 1:
            self.state.event(self.scope, RotationEvent.TEST_STARTED)
        try:
            strategy = strategy_for(
                self.function, account_id=self.scope.account_id, region=self.scope.region
            )
            current = self._parse(snapshot, CURRENT)
            master = self._master(current) if strategy is Strategy.MULTI_USER else None
            self.functions.test_configuration(
                strategy,
                secret_arn=self.scope.secret_arn,
                owner=snapshot.record.owning_service,
                current=current,
                master=master,
            )
        except StepFailed as exc:
            # A configuration test is not retried: report it and leave no rotation behind.
            self.state.clear_placeholder(self.scope)
            exc.permanent = True
            raise
        self.state.clear_placeholder(self.scope)
        self.state.event(self.scope, RotationEvent.TEST_SUCCEEDED)


class Startup:
    """Once per process, before the first claim: jobs this node leased before it restarted
    are released at once instead of waiting for their leases to expire."""

    def __init__(self, release: Callable[[], int]) -> None:
        self._release = release
        self._lock = threading.Lock()
        self._done = False

    def once(self) -> None:
        with self._lock:
            if not self._done:
                released = self._release()
                if released:
                    log.info("resuming %d rotation(s) interrupted by a restart", released)
                self._done = True


class RotationExecutor:
    """A worker (``tick``): claims one rotation job and runs it. Several run side by side;
    their number bounds how many rotations run at once. ``tick`` waits for work itself (on
    the doorbell, at most ``idle`` seconds), so it is scheduled without an idle pause."""

    def __init__(
        self,
        deps: Deps,
        functions: PostgresFunctions,
        *,
        owner: str,
        startup: Startup,
        pauses: Pauses,
        doorbell: Doorbell,
        has_work: Callable[[], bool],
        idle: float,
    ) -> None:
        self.name = f"secretsmanager-rotator-{owner.rsplit('/', 1)[-1]}"
        self._deps = deps
        self._state = RotationState(deps)
        self._functions = functions
        self._owner = owner
        self._startup = startup
        self._pauses = pauses
        self._doorbell = doorbell
        self._has_work = has_work
        self._idle = idle

    def tick(self) -> bool:
        seen = self._doorbell.rings
        try:
            if self.run_once():
                return True
        except Exception:  # the store is unavailable: wait, then try again
            log.exception("rotation executor %s could not claim a job", self.name)
        self._doorbell.wait(seen, self._idle)
        return False

    def run_once(self) -> bool:
        """Claim one due rotation job and run it; False when there was none."""
        self._startup.once()
        if not self._has_work():
            return False
        jobs = self._deps.jobs
        job = jobs.claim(self._owner, [ROTATE_JOB], lease=LEASE)
        if job is None:
            return False
        if self._has_work():
            # One ring wakes one executor; jobs that never rang (retries now due, expired
            # leases, other nodes' jobs) may have taken this one's place: pass it on.
            self._doorbell.ring()
        run = RotationRun(self._state, self._functions, self._pauses, job, self._keeper(job))
        try:
            run.run()
        except _Stop as stop:
            self._stopped(job, run.scope, stop)
        except StepFailed as exc:
            self._failed(job, run, exc.code, str(exc), permanent=exc.permanent)
        except AwsError as exc:  # KMS refused to seal or open a value
            self._failed(job, run, exc.code, exc.message, permanent=False)
        except Exception:  # a bug: logged with its traceback, retried like any failure
            log.exception("rotation of %s failed unexpectedly", run.scope.secret_arn)
            self._failed(job, run, "InternalFailure", "An internal error occurred", permanent=False)
        else:
            jobs.complete(job)
            log.info("rotation of %s (%s) succeeded", run.scope.secret_arn, run.job.payload["mode"])
        return True

    def _keeper(self, job: Job) -> Callable[[], bool]:
        """The lease check before each step: renewed once a quarter of it has passed (each
        renewal is a write), False once another claim has taken the job."""
        clock, jobs = self._deps.clock, self._deps.jobs
        renewed = clock.monotonic()

        def keep() -> bool:
            nonlocal renewed
            if clock.monotonic() - renewed < LEASE.total_seconds() / 4:
                return True
            renewed = clock.monotonic()
            return jobs.heartbeat(job, lease=LEASE)

        return keep

    def _stopped(self, job: Job, scope: Scope, stop: _Stop) -> None:
        if stop.why is None:
            return  # another worker holds the job now
        if stop.why is not Standing.GONE:
            self._state.event(scope, RotationEvent.ABANDONED, message=f"rotation {stop.why.value}")
        self._deps.jobs.complete(job)
        log.info("rotation of %s stopped: %s", scope.secret_arn, stop.why.value)

    def _failed(
        self, job: Job, run: RotationRun, code: str, message: str, *, permanent: bool
    ) -> None:
        event = RotationEvent.TEST_FAILED if run.test_mode else RotationEvent.FAILED
        self._state.event(run.scope, event, error_code=code, message=message)
        self._deps.jobs.fail(job, f"{code}: {message}", permanent=permanent)
        log.warning(
            "rotation of %s failed (attempt %d): %s: %s",
            run.scope.secret_arn,
            job.attempts,
            code,
            message,
        )
