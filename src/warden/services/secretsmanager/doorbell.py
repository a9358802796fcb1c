"""Waking idle rotation executors the moment this process enqueues a rotation.

The job table is the source of truth; this only saves polling. ``RingingJobQueue`` is the
job queue RotateSecret and the scheduler enqueue through: it rings ``Doorbell`` after each
``secretsmanager.rotate`` job. The ring may come before the enqueueing transaction commits,
so an executor that finds nothing after a ring looks again after ``FIRST_RETRY`` seconds,
then after twice as long each time, up to its idle timeout (``Backoff``). Jobs enqueued by
another warden node, retries whose backoff ended and expired leases are found by those
idle looks.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from warden.core.clock import Clock
from warden.core.ids import IdFactory
from warden.store.db import Store
from warden.store.jobs import JobQueue

from .rotation import ROTATE_JOB

FIRST_RETRY = 0.002


class Doorbell:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._rings = 0

    @property
    def rings(self) -> int:
        with self._cond:
            return self._rings

    def ring(self) -> None:
        with self._cond:
            self._rings += 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float) -> bool:
        """Until a ring after ``seen`` (True) or ``timeout`` seconds (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._rings != seen, timeout)


class Backoff:
    """How long an executor that found no job waits next: ``FIRST_RETRY`` after a ring,
    doubling up to ``idle``."""

    def __init__(self, idle: float) -> None:
        self.idle = idle
        self.pause = idle

    def found_work(self) -> None:
        self.pause = FIRST_RETRY

    def waited(self, rang: bool) -> None:
        self.pause = FIRST_RETRY if rang else min(self.pause * 2, self.idle)


class RingingJobQueue(JobQueue):
    def __init__(self, store: Store, clock: Clock, ids: IdFactory, doorbell: Doorbell) -> None:
        super().__init__(store, clock, ids)
        self.doorbell = doorbell

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
        job_id = super().enqueue(
            kind,
            payload,
            run_at=run_at,
            dedupe_key=dedupe_key,
            max_attempts=max_attempts,
            conn=conn,
        )
        if kind == ROTATE_JOB:
            self.doorbell.ring()
        return job_id
