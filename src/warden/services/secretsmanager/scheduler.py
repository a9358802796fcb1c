"""The rotation scheduler: starts the rotations whose window has come.

A secret is due when rotation is enabled and its ``next_rotation_at`` (the start of its next
window, see ``schedule``) has passed. Starting it is RotateSecret's own hand-off, in one
transaction under the secret's row lock: a new ``AWSPENDING`` version, a ``rotate`` job, and
``next_rotation_at`` moved to the window after this one (``complete`` recomputes it from the
rotation's end). A window missed while warden was down starts at once.

Dedupe: the version id is derived from the secret and the window's start (UUID v5), and the
job's dedupe key from the version, so one window starts at most one rotation however many
scheduler ticks or warden nodes see it due. If a rotation is still in progress (``AWSPENDING``
on another version) the window records ``RotationFailed`` with AWS's message and is skipped;
if that rotation stopped for good (its retries ran out) the window reattempts it instead.
The executors' number bounds how many rotations run at once; the scheduler only enqueues.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warden.core.errors import AwsError
from warden.store.schema import secretsmanager_secrets as secrets_t

from . import repository as repo
from .core import Deps
from .errors import ROTATION_IN_PROGRESS
from .model import SecretRecord
from .names import parse_secret_id
from .rotation import reattempt, stage_rotation
from .rotation_events import RotationEvent, record
from .schedule import RotationRules, next_window, rules_from_json, window_from

log = logging.getLogger("warden.secretsmanager.rotation")

BATCH = 200
_WINDOW_IDS = uuid.UUID("5b0f3a52-6c43-4a8e-9b8f-1d2f2f6a9e10")  # namespace of window versions


def window_version(secret_arn: str, window_start: datetime) -> str:
    """The version id a scheduled rotation of ``secret_arn`` in one window gets."""
    return str(uuid.uuid5(_WINDOW_IDS, f"{secret_arn}|{window_start.isoformat()}"))


class RotationScheduler:
    """A worker (``tick``): enqueues the rotations that are due, ``BATCH`` at a time."""

    name = "secretsmanager-scheduler"

    def __init__(self, deps: Deps, *, batch: int = BATCH) -> None:
        self._deps = deps
        self._batch = batch

    def tick(self) -> bool:
        now = self._deps.clock.now()
        query = (
            sa.select(secrets_t.c.arn, secrets_t.c.account_id, secrets_t.c.region)
            .where(
                secrets_t.c.rotation_enabled == sa.true(),
                secrets_t.c.next_rotation_at <= now,
                secrets_t.c.deleted_at.is_(None),
            )
            .order_by(secrets_t.c.next_rotation_at)
            .limit(self._batch)
        )
        with self._deps.store.read() as conn:
            due = [tuple(row) for row in conn.execute(query)]
        for arn, account_id, region in due:
            self.start(arn, account_id, region)
        return len(due) == self._batch

    def start(self, arn: str, account_id: str, region: str) -> str | None:
        """Start the due rotation of one secret; the version id it got (None: none started)."""
        now = self._deps.clock.now()
        started: str | None = None
        with self._deps.store.begin() as conn:
            ref = parse_secret_id(arn, region, account_id)
            found = repo.find(conn, account_id, region, ref, now, for_update=True)
            if found is None or found.arn != arn or not _due(found, now):
                return None
            try:
                rules = rules_from_json(found.rotation_rules)
            except (AwsError, ValueError):
                rules = None
            if rules is None:  # nothing to schedule by: stop looking at this secret
                repo.update(conn, arn, next_rotation_at=None)
                return None
            window = window_from(rules, found.next_rotation_at or now)
            version_id = window_version(arn, window.start)
            labels = repo.labels(conn, arn)
            if found.rotation_lambda_arn is None and found.owning_service is None:
                pass  # no function to run: only the schedule moves on
            elif repo.version(conn, arn, version_id) is not None:
                pass  # this window's rotation exists already
            elif labels.rotation_in_progress():
                if reattempt(self._deps.jobs, conn, arn, labels):
                    log.info("scheduled rotation of %s: the unfinished one reattempted", arn)
                else:
                    record(
                        conn,
                        self._deps.ids,
                        now=now,
                        account_id=account_id,
                        region=region,
                        secret_arn=arn,
                        version_id=version_id,
                        event=RotationEvent.FAILED,
                        error_code="InvalidRequestException",
                        message=ROTATION_IN_PROGRESS,
                    )
            else:
                self._begin(conn, found, version_id, now)
                started = version_id
            repo.update(conn, arn, next_rotation_at=_after(rules, window.start, now))
        if started is not None:
            log.info("scheduled rotation of %s started (version %s)", arn, started)
        return started

    def _begin(self, conn: Connection, found: SecretRecord, version_id: str, now: datetime) -> None:
        before = repo.labels(conn, found.arn)
        stage_rotation(
            self._deps.jobs, conn, found, before, version_id, now, found.rotation_lambda_arn
        )


def _due(found: SecretRecord, now: datetime) -> bool:
    return (
        bool(found.rotation_enabled)
        and not found.scheduled_for_deletion
        and found.next_rotation_at is not None
        and found.next_rotation_at <= now
    )


def _after(rules: RotationRules, window_start: datetime, now: datetime) -> datetime:
    """The start of the first window after the one that opened at ``window_start``."""
    return next_window(rules, since=max(now, window_start)).start
