"""The durable job queue: background work recorded in the store and claimed under leases.

Invariants:
- A job is enqueued in the same transaction as the desired state it serves (pass ``conn``), so
  either both commit or neither does. ``dedupe_key`` is unique forever: enqueueing the same key
  again returns the existing job, whatever its state.
- A claim takes the oldest due ``ready`` job, or a ``running`` job whose lease expired (its
  worker died), atomically: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE`` on
  SQLite. Each claim increments ``attempts``; the pair (lease_owner, attempts) fences the claim,
  so a worker whose lease was taken over can no longer heartbeat, complete or fail the job,
  even when it is the same owner claiming again.
- A job never runs more than ``max_attempts`` times: a failure or an expired lease on the last
  attempt makes it ``dead``. Only ``revive`` (an explicit request to try again) gives a dead
  or failed job more attempts.
- Time comes only from the injected Clock, never from the database server.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping

from warden.core.clock import Clock
from warden.core.ids import IdFactory
from warden.store.db import Store
from warden.store.schema import JobState, jobs

MAX_ERROR_CHARS = 4000
_MAX_DEAD_PER_CLAIM = 100  # bounds one claim's work when many expired jobs are exhausted


@dataclass(frozen=True)
class Job:
    job_id: str
    kind: str
    payload: dict[str, Any]
    state: JobState
    attempts: int
    max_attempts: int
    run_at: datetime
    lease_owner: str | None
    lease_expires_at: datetime | None
    last_error: str | None
    dedupe_key: str | None
    created_at: datetime
    updated_at: datetime


class JobQueue:
    """Enqueue, claim, heartbeat, complete and fail jobs; safe across threads and nodes."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        ids: IdFactory,
        *,
        backoff_base: timedelta = timedelta(seconds=5),
        backoff_cap: timedelta = timedelta(minutes=15),
    ) -> None:
        self._store = store
        self._clock = clock
        self._ids = ids
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap

    def enqueue(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        run_at: datetime | None = None,
        dedupe_key: str | None = None,
        max_attempts: int = 10,
        conn: Connection | None = None,
    ) -> str:
        """Record a job and return its id (the existing job's id if ``dedupe_key`` is taken)."""
        if not kind:
            raise ValueError("a job needs a kind")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        now = self._clock.now()
        values = {
            "job_id": self._ids.request_id(),
            "kind": kind,
            "dedupe_key": dedupe_key,
            "payload": dict(payload),
            "state": JobState.READY.value,
            "run_at": now if run_at is None else run_at,
            "attempts": 0,
            "max_attempts": max_attempts,
            "created_at": now,
            "updated_at": now,
        }
        if conn is not None:
            return self._insert(conn, values)
        with self._store.begin() as own:
            return self._insert(own, values)

    def claim(self, owner: str, kinds: Collection[str], *, lease: timedelta) -> Job | None:
        """Lease the next due job of one of ``kinds`` to ``owner``, or None if there is none."""
        if not owner:
            raise ValueError("a claim needs an owner")
        if lease <= timedelta(0):
            raise ValueError("a lease must be positive")
        if not kinds:
            return None
        now = self._clock.now()
        with self._store.begin() as conn:
            for _ in range(_MAX_DEAD_PER_CLAIM):
                row = conn.execute(self._next_due(kinds, now)).mappings().first()
                if row is None:
                    return None
                if row["attempts"] >= row["max_attempts"]:
                    # Only an expired lease gets here: its worker died on the last attempt.
                    self._bury(conn, row["job_id"], now)
                    continue
                # The row is locked (or the database is), so the fence is belt and braces.
                claimed = (
                    conn.execute(
                        sa.update(jobs)
                        .where(
                            jobs.c.job_id == row["job_id"],
                            jobs.c.state == row["state"],
                            jobs.c.attempts == row["attempts"],
                        )
                        .values(
                            state=JobState.RUNNING.value,
                            attempts=jobs.c.attempts + 1,
                            lease_owner=owner,
                            lease_expires_at=now + lease,
                            updated_at=now,
                        )
                        .returning(*jobs.c)
                    )
                    .mappings()
                    .first()
                )
                if claimed is not None:
                    return _job(claimed)
        return None

    def heartbeat(self, job: Job, *, lease: timedelta) -> bool:
        """Extend the lease to now + ``lease``; False if the lease was lost to another claim."""
        if lease <= timedelta(0):
            raise ValueError("a lease must be positive")
        now = self._clock.now()
        return self._update_leased(job, lease_expires_at=now + lease, updated_at=now)

    def complete(self, job: Job) -> bool:
        """Mark the job done; False (and nothing changes) if the lease was lost."""
        return self._update_leased(
            job,
            state=JobState.DONE.value,
            lease_owner=None,
            lease_expires_at=None,
            updated_at=self._clock.now(),
        )

    def fail(
        self,
        job: Job,
        error: str,
        *,
        retry_in: timedelta | None = None,
        permanent: bool = False,
    ) -> bool:
        """Record a failed attempt: retry after ``retry_in`` (default: exponential backoff),
        or ``dead`` after ``max_attempts``, or ``failed`` at once if ``permanent``.

        ``error`` is stored and shown to operators: it must not contain secrets.
        Returns False (and nothing changes) if the lease was lost.
        """
        now = self._clock.now()
        values: dict[str, Any] = {
            "lease_owner": None,
            "lease_expires_at": None,
            "last_error": error[:MAX_ERROR_CHARS],
            "updated_at": now,
        }
        if permanent:
            values["state"] = JobState.FAILED.value
        elif job.attempts >= job.max_attempts:
            values["state"] = JobState.DEAD.value
        else:
            delay = self.backoff(job.attempts) if retry_in is None else retry_in
            values["state"] = JobState.READY.value
            values["run_at"] = now + max(delay, timedelta(0))
        return self._update_leased(job, **values)

    def revive(self, conn: Connection, dedupe_key: str, *, attempts: int) -> bool:
        """Inside the caller's transaction: give the ``dead`` or ``failed`` job
        ``dedupe_key`` ``attempts`` more attempts, due now (someone asked for it to be tried
        again). Its count goes on from where it stopped, so the (owner, attempts) fence of
        a worker that lost it stays unique. False if there is no such job or it is not
        finished with failure."""
        if attempts < 1:
            raise ValueError("a revived job needs at least one attempt")
        now = self._clock.now()
        result = conn.execute(
            sa.update(jobs)
            .where(
                jobs.c.dedupe_key == dedupe_key,
                jobs.c.state.in_([JobState.DEAD.value, JobState.FAILED.value]),
            )
            .values(
                state=JobState.READY.value,
                max_attempts=jobs.c.attempts + attempts,
                run_at=now,
                lease_owner=None,
                lease_expires_at=None,
                updated_at=now,
            )
        )
        return result.rowcount == 1

    def get(self, job_id: str) -> Job | None:
        with self._store.read() as conn:
            row = conn.execute(sa.select(jobs).where(jobs.c.job_id == job_id)).mappings().first()
        return None if row is None else _job(row)

    def backoff(self, attempts: int) -> timedelta:
        """The default wait before retry number ``attempts`` + 1: doubling, capped."""
        exponent = min(max(attempts - 1, 0), 30)
        return min(self._backoff_base * (1 << exponent), self._backoff_cap)

    def _insert(self, conn: Connection, values: dict[str, Any]) -> str:
        if values["dedupe_key"] is None:
            conn.execute(sa.insert(jobs).values(values))
            return str(values["job_id"])
        dialect_insert = postgresql.insert if self._store.dialect == "postgresql" else sqlite.insert
        stmt = (
            dialect_insert(jobs)
            .values(values)
            .on_conflict_do_nothing(index_elements=[jobs.c.dedupe_key])
            .returning(jobs.c.job_id)
        )
        inserted = conn.execute(stmt).scalar_one_or_none()
        if inserted is not None:
            return str(inserted)
        existing = conn.execute(
            sa.select(jobs.c.job_id).where(jobs.c.dedupe_key == values["dedupe_key"])
        ).scalar_one()
        return str(existing)

    def _next_due(self, kinds: Collection[str], now: datetime) -> sa.Select[Any]:
        due = sa.and_(jobs.c.state == JobState.READY.value, jobs.c.run_at <= now)
        lease_expired = sa.and_(
            jobs.c.state == JobState.RUNNING.value, jobs.c.lease_expires_at <= now
        )
        stmt = (
            sa.select(jobs)
            .where(jobs.c.kind.in_(list(kinds)), sa.or_(due, lease_expired))
            .order_by(jobs.c.run_at, jobs.c.created_at, jobs.c.job_id)
            .limit(1)
        )
        if self._store.dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        return stmt

    def _bury(self, conn: Connection, job_id: str, now: datetime) -> None:
        conn.execute(
            sa.update(jobs)
            .where(jobs.c.job_id == job_id)
            .values(
                state=JobState.DEAD.value,
                lease_owner=None,
                lease_expires_at=None,
                last_error="lease expired on the last attempt (worker lost)",
                updated_at=now,
            )
        )

    def _update_leased(self, job: Job, **values: Any) -> bool:
        with self._store.begin() as conn:
            result = conn.execute(
                sa.update(jobs)
                .where(
                    jobs.c.job_id == job.job_id,
                    jobs.c.state == JobState.RUNNING.value,
                    jobs.c.lease_owner == job.lease_owner,
                    jobs.c.attempts == job.attempts,
                )
                .values(**values)
            )
            return result.rowcount == 1


def _job(row: RowMapping) -> Job:
    return Job(
        job_id=row["job_id"],
        kind=row["kind"],
        payload=dict(row["payload"]),
        state=JobState(row["state"]),
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
        run_at=row["run_at"],
        lease_owner=row["lease_owner"],
        lease_expires_at=row["lease_expires_at"],
        last_error=row["last_error"],
        dedupe_key=row["dedupe_key"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
