"""Rotation's background workers as the server schedules them: one scheduler and
``EXECUTORS`` executors (the bound on rotations running at once), plus the two queries they
share over the job table.

- ``has_due_job`` is a read-only peek (no SQLite write lock); only a peek that finds work
  leads to a claim. An idle executor peeks when the doorbell wakes it (each committed
  rotation job of this process wakes one: see ``doorbell``), after each job it ran, and
  every ``IDLE`` seconds.
- ``release_orphans`` runs once per process before the first claim. Executors lease jobs as
  ``<node>/<boot>/<n>``: ``node`` names this warden installation (host and data directory),
  ``boot`` this process. A ``running`` rotation leased by the same node under another boot
  was interrupted by a crash or kill of this very node, so its lease is expired at once
  and the job resumes now rather than when the lease would have run out. Jobs leased by
  other nodes (a shared PostgreSQL store) are left to their leases.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from warden.engines.base import Accounts
from warden.services.ports import ManagedRotation
from warden.store.schema import JobState, jobs

from .core import Deps
from .dbsecret import Trust
from .doorbell import Doorbell, RingingJobQueue
from .functions import PostgresFunctions
from .rotation import ROTATE_JOB
from .rotator import Pauses, RotationExecutor, Startup
from .scheduler import RotationScheduler

EXECUTORS = 4
IDLE = 1.0  # seconds an idle executor waits for the doorbell before it peeks anyway
SCHEDULER_POLL = 2.0


@dataclass(frozen=True)
class RotationConfig:
    accounts: Accounts
    trust: Trust
    node: str  # stable name of this installation, e.g. "host:/var/lib/warden"
    pause_at: str = ""  # test-only (WARDEN_TEST_PAUSE_AT); empty in production
    managed: dict[str, ManagedRotation] = field(default_factory=dict)
    executors: int = EXECUTORS


@dataclass(frozen=True)
class Periodic:
    """A worker and how long it idles between ticks that found nothing to do."""

    worker: RotationExecutor | RotationScheduler
    idle_seconds: float


def build_workers(deps: Deps, config: RotationConfig) -> list[Periodic]:
    functions = PostgresFunctions(config.accounts, config.trust, dict(config.managed))
    boot = secrets.token_hex(6)
    prefix = f"{config.node}/"
    startup = Startup(lambda: release_orphans(deps, prefix, f"{prefix}{boot}/"))
    pauses = Pauses(config.pause_at)
    # Rung when RotateSecret or the scheduler enqueue through deps.jobs (see doorbell).
    jobs = deps.jobs
    doorbell = jobs.doorbell if isinstance(jobs, RingingJobQueue) else Doorbell()
    out = [Periodic(RotationScheduler(deps), SCHEDULER_POLL)]
    for n in range(max(1, config.executors)):
        executor = RotationExecutor(
            deps,
            functions,
            owner=f"{prefix}{boot}/{n}",
            startup=startup,
            pauses=pauses,
            doorbell=doorbell,
            has_work=lambda: has_due_job(deps),
            idle=IDLE,
        )
        out.append(Periodic(executor, 0.0))  # the executor waits in its own tick
    return out


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    ready = sa.and_(jobs.c.state == JobState.READY.value, jobs.c.run_at <= now)
    expired = sa.and_(jobs.c.state == JobState.RUNNING.value, jobs.c.lease_expires_at <= now)
    return sa.and_(jobs.c.kind == ROTATE_JOB, sa.or_(ready, expired))


def has_due_job(deps: Deps) -> bool:
    query = sa.select(jobs.c.job_id).where(_claimable(deps.clock.now())).limit(1)
    with deps.store.read() as conn:
        return conn.execute(query).first() is not None


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def release_orphans(deps: Deps, node_prefix: str, own_prefix: str) -> int:
    """Expire the leases this node's earlier processes held on rotation jobs; how many."""
    now = deps.clock.now()
    with deps.store.begin() as conn:
        result = conn.execute(
            sa.update(jobs)
            .where(
                jobs.c.kind == ROTATE_JOB,
                jobs.c.state == JobState.RUNNING.value,
                jobs.c.lease_owner.like(_like_prefix(node_prefix), escape="\\"),
                sa.not_(jobs.c.lease_owner.like(_like_prefix(own_prefix), escape="\\")),
                jobs.c.lease_expires_at > now,
            )
            .values(lease_expires_at=now, updated_at=now)
        )
        return int(result.rowcount)
