"""Waking an idle rotation executor the moment this process enqueues a rotation.

The job table is the source of truth; this only saves polling. ``RingingJobQueue`` is the
job queue RotateSecret and the scheduler enqueue through: once the transaction holding a
``secretsmanager.rotate`` job has committed, it rings ``Doorbell``, which wakes one waiting
executor per ring (each job is claimed by one executor: waking them all would have the
others' claims queue for the write lock ahead of the winner's first step). An executor
busy when the bell rang looks for work when it finishes. Jobs enqueued by another warden
node, retries whose backoff ended and expired leases are found by the idle looks.
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


class Doorbell:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._rings = 0
        self._closed = False

    @property
    def rings(self) -> int:
        with self._cond:
            return self._rings

    def ring(self) -> None:
        with self._cond:
            self._rings += 1
            self._cond.notify()

    def wait(self, seen: int, timeout: float) -> bool:
        """Until a ring after ``seen`` (True) or ``timeout`` seconds (False); at once (False)
        once closed."""
        with self._cond:
            woken = self._cond.wait_for(lambda: self._rings != seen or self._closed, timeout)
            return bool(woken) and not self._closed

    def close(self) -> None:
        """The server is stopping: every wait ends now, and later ones at once."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()


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
            if conn is None:
                self.doorbell.ring()  # committed already
            else:
                self._store.after_commit(conn, self.doorbell.ring)
        return job_id

    def revive(self, conn: Connection, dedupe_key: str, *, attempts: int) -> bool:
        revived = super().revive(conn, dedupe_key, attempts=attempts)
        if revived:  # only rotations are revived (rotation.reattempt)
            self._store.after_commit(conn, self.doorbell.ring)
        return revived
