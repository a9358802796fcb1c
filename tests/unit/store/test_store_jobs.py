"""The durable job queue, on both backends, under a fixed clock."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from warden.core.clock import FixedClock
from warden.core.ids import RandomIds
from warden.store import schema
from warden.store.db import Store
from warden.store.jobs import JobQueue
from warden.store.schema import JobState

LEASE = timedelta(seconds=30)


def test_enqueue_claim_complete(queue: JobQueue) -> None:
    job_id = queue.enqueue("rotate", {"secret": "s1"})
    job = queue.claim("node-a", ["rotate"], lease=LEASE)
    assert job is not None
    assert (job.job_id, job.payload, job.state, job.attempts) == (
        job_id,
        {"secret": "s1"},
        JobState.RUNNING,
        1,
    )
    assert queue.claim("node-b", ["rotate"], lease=LEASE) is None  # leased, not expired
    assert queue.complete(job)
    done = queue.get(job_id)
    assert done is not None
    assert done.state is JobState.DONE
    assert done.lease_owner is None
    assert queue.claim("node-b", ["rotate"], lease=LEASE) is None


def test_claim_takes_only_the_asked_kinds_oldest_first(queue: JobQueue, clock: FixedClock) -> None:
    queue.enqueue("snapshot", {})
    first = queue.enqueue("rotate", {"n": 1})
    clock.advance(timedelta(seconds=1))
    second = queue.enqueue("rotate", {"n": 2})
    assert queue.claim("w", [], lease=LEASE) is None
    claimed = [queue.claim("w", ["rotate"], lease=LEASE) for _ in range(3)]
    assert [j.job_id if j else None for j in claimed] == [first, second, None]


def test_dedupe_key_makes_enqueue_idempotent(queue: JobQueue, store: Store) -> None:
    first = queue.enqueue("rotate", {"v": 1}, dedupe_key="rotate:s1:v2")
    again = queue.enqueue("rotate", {"v": 2}, dedupe_key="rotate:s1:v2")
    other = queue.enqueue("rotate", {"v": 3}, dedupe_key="rotate:s1:v3")
    assert again == first
    assert other != first
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.jobs)).scalar() == 2
    job = queue.get(first)
    assert job is not None
    assert job.payload == {"v": 1}


def test_future_job_waits_for_the_clock(queue: JobQueue, clock: FixedClock) -> None:
    job_id = queue.enqueue("backup", {}, run_at=clock.now() + timedelta(minutes=5))
    assert queue.claim("w", ["backup"], lease=LEASE) is None
    clock.advance(timedelta(minutes=4, seconds=59))
    assert queue.claim("w", ["backup"], lease=LEASE) is None
    clock.advance(timedelta(seconds=1))
    job = queue.claim("w", ["backup"], lease=LEASE)
    assert job is not None
    assert job.job_id == job_id


def test_expired_lease_is_reclaimed_and_the_stale_owner_is_fenced(
    queue: JobQueue, clock: FixedClock
) -> None:
    queue.enqueue("reconcile", {})
    stale = queue.claim("node-a", ["reconcile"], lease=LEASE)
    assert stale is not None
    clock.advance(timedelta(seconds=20))
    assert queue.heartbeat(stale, lease=LEASE)  # now leased until t+50s
    clock.advance(timedelta(seconds=29))
    assert queue.claim("node-b", ["reconcile"], lease=LEASE) is None
    clock.advance(timedelta(seconds=2))
    fresh = queue.claim("node-b", ["reconcile"], lease=LEASE)
    assert fresh is not None
    assert (fresh.job_id, fresh.attempts, fresh.lease_owner) == (stale.job_id, 2, "node-b")
    assert not queue.heartbeat(stale, lease=LEASE)
    assert not queue.complete(stale)
    assert not queue.fail(stale, "late failure", retry_in=timedelta(0))
    assert queue.complete(fresh)


def test_same_owner_reclaiming_does_not_revive_its_old_claim(
    queue: JobQueue, clock: FixedClock
) -> None:
    queue.enqueue("reconcile", {})
    old = queue.claim("node-a", ["reconcile"], lease=LEASE)
    assert old is not None
    clock.advance(LEASE)
    new = queue.claim("node-a", ["reconcile"], lease=LEASE)
    assert new is not None
    assert not queue.complete(old)
    assert queue.complete(new)


def test_failures_back_off_then_the_job_dies(queue: JobQueue, clock: FixedClock) -> None:
    job_id = queue.enqueue("rotate", {}, max_attempts=3)
    waits = []
    for _ in range(2):
        job = queue.claim("w", ["rotate"], lease=LEASE)
        assert job is not None
        assert queue.fail(job, "database unreachable")
        failed = queue.get(job_id)
        assert failed is not None
        assert failed.state is JobState.READY
        assert failed.last_error == "database unreachable"
        waits.append(failed.run_at - clock.now())
        assert queue.claim("w", ["rotate"], lease=LEASE) is None  # not due yet
        clock.advance(failed.run_at - clock.now())
    assert waits == [queue.backoff(1), queue.backoff(2)]
    assert waits[1] > waits[0] > timedelta(0)
    last = queue.claim("w", ["rotate"], lease=LEASE)
    assert last is not None
    assert last.attempts == 3
    assert queue.fail(last, "still unreachable", retry_in=timedelta(0))
    dead = queue.get(job_id)
    assert dead is not None
    assert dead.state is JobState.DEAD
    assert queue.claim("w", ["rotate"], lease=LEASE) is None


def test_explicit_retry_delay_and_permanent_failure(queue: JobQueue, clock: FixedClock) -> None:
    job_id = queue.enqueue("rotate", {})
    job = queue.claim("w", ["rotate"], lease=LEASE)
    assert job is not None
    queue.fail(job, "try later", retry_in=timedelta(seconds=7))
    retried = queue.get(job_id)
    assert retried is not None
    assert retried.run_at == clock.now() + timedelta(seconds=7)
    clock.advance(timedelta(seconds=7))
    job = queue.claim("w", ["rotate"], lease=LEASE)
    assert job is not None
    queue.fail(job, "secret deleted", permanent=True)
    final = queue.get(job_id)
    assert final is not None
    assert final.state is JobState.FAILED
    clock.advance(timedelta(days=1))
    assert queue.claim("w", ["rotate"], lease=LEASE) is None


def test_worker_lost_on_the_last_attempt_makes_the_job_dead(
    queue: JobQueue, clock: FixedClock
) -> None:
    dying = queue.enqueue("rotate", {}, max_attempts=1)
    clock.advance(timedelta(seconds=1))
    healthy = queue.enqueue("rotate", {})
    assert queue.claim("w", ["rotate"], lease=LEASE) is not None
    clock.advance(LEASE)
    next_job = queue.claim("w", ["rotate"], lease=LEASE)
    assert next_job is not None
    assert next_job.job_id == healthy
    buried = queue.get(dying)
    assert buried is not None
    assert buried.state is JobState.DEAD


def test_revive_gives_a_dead_or_failed_job_more_attempts_and_nothing_else(
    queue: JobQueue, store: Store, clock: FixedClock
) -> None:
    dead = queue.enqueue("rotate", {}, dedupe_key="k-dead", max_attempts=1)
    clock.advance(timedelta(seconds=1))
    failed = queue.enqueue("rotate", {}, dedupe_key="k-failed")
    for job_id in (dead, failed):
        job = queue.claim("w", ["rotate"], lease=LEASE)
        assert job is not None and job.job_id == job_id
        queue.fail(job, "refused", permanent=job_id == failed)
    waiting = queue.enqueue("rotate", {}, dedupe_key="k-ready")
    assert [queue.get(j).state for j in (dead, failed)] == [JobState.DEAD, JobState.FAILED]  # type: ignore[union-attr]
    clock.advance(timedelta(hours=1))
    with store.begin() as conn:
        revived = [
            queue.revive(conn, k, attempts=2) for k in ("k-dead", "k-failed", "k-ready", "k-none")
        ]
    assert revived == [True, True, False, False]
    for job_id in (dead, failed):
        again = queue.get(job_id)
        assert again is not None
        # The count goes on (fencing stays unique), with two more attempts to go.
        assert (again.state, again.attempts, again.run_at) == (JobState.READY, 1, clock.now())
        assert again.max_attempts == 3
        assert again.last_error == "refused"  # kept for the operator
    ready = queue.get(waiting)
    assert ready is not None and ready.attempts == 0 and ready.run_at < clock.now()
    claimed = [queue.claim("w", ["rotate"], lease=LEASE) for _ in range(3)]
    assert {j.job_id for j in claimed if j} == {dead, failed, waiting}


def test_enqueue_joins_the_callers_transaction(queue: JobQueue, store: Store) -> None:
    with pytest.raises(RuntimeError), store.begin() as conn:
        conn.execute(sa.insert(schema.settings).values(key="desired", value="x"))
        queue.enqueue("converge", {}, conn=conn)
        raise RuntimeError("handler failed after recording desired state")
    assert queue.claim("w", ["converge"], lease=LEASE) is None
    with store.begin() as conn:
        conn.execute(sa.insert(schema.settings).values(key="desired", value="x"))
        job_id = queue.enqueue("converge", {}, conn=conn)
    job = queue.claim("w", ["converge"], lease=LEASE)
    assert job is not None
    assert job.job_id == job_id


def test_invalid_arguments_are_refused(queue: JobQueue, clock: FixedClock) -> None:
    with pytest.raises(ValueError):
        queue.enqueue("", {})
    with pytest.raises(ValueError):
        queue.enqueue("k", {}, max_attempts=0)
    with pytest.raises(ValueError):
        queue.claim("w", ["k"], lease=timedelta(0))
    with pytest.raises(sa.exc.StatementError, match="naive"):
        queue.enqueue("k", {}, run_at=clock.now().replace(tzinfo=None))


def test_concurrent_claimers_take_each_job_exactly_once(store: Store, clock: FixedClock) -> None:
    queue = JobQueue(store, clock, RandomIds())
    with store.begin() as conn:
        expected = {queue.enqueue("work", {"i": i}, conn=conn) for i in range(200)}
    claimed: list[list[str]] = [[] for _ in range(4)]
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            while (job := queue.claim(f"worker-{n}", ["work"], lease=LEASE)) is not None:
                claimed[n].append(job.job_id)
                if not queue.complete(job):
                    raise AssertionError(f"lost lease on {job.job_id}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    everything = [job_id for per_worker in claimed for job_id in per_worker]
    assert len(everything) == len(set(everything)) == 200
    assert set(everything) == expected
    with store.read() as conn:
        states = conn.execute(sa.select(schema.jobs.c.state).distinct()).scalars().all()
    assert states == ["done"]
