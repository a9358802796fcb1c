"""What the rotation executor reads and writes in the store, one short transaction each.

``AWSPENDING`` on the job's version is the write-ahead record of a rotation: while it is
there (and ``AWSCURRENT`` is elsewhere) the rotation stands. ``standing`` re-derives, from a
fresh ``Snapshot``, whether it still does before every step: the secret may be gone or
scheduled for deletion, rotation may be cancelled (``RotationEnabled`` false), or a manual
write may have moved ``AWSPENDING`` away (the rotation is abandoned).

Every write re-reads the secret under its row lock and re-checks before it changes anything,
and is idempotent, so a step re-run after a crash converges:

- ``fill_pending`` stores the pending value only into the still-empty placeholder (never a
  second value: a crash after it cannot produce another password);
- ``move_current`` moves ``AWSCURRENT`` to the pending version (``AWSPREVIOUS`` follows);
- ``complete`` then removes ``AWSPENDING``, stamps ``LastRotatedDate`` and the next window,
  and records ``RotationSucceeded``, once: only while ``AWSPENDING`` is still there.

KMS calls (sealing, opening) happen outside the writing transactions (see ``core``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from . import repository as repo
from .core import SecretsBase
from .envelope import SecretValue
from .labels import CURRENT, PENDING, PREVIOUS, Labels, move
from .model import SecretRecord, VersionRecord
from .names import parse_secret_id
from .rotation_events import RotationEvent, record
from .schedule import next_window, rules_from_json


class Standing(enum.Enum):
    RUNNING = "running"  # AWSPENDING on the job's version, AWSCURRENT elsewhere
    FINISHED = "finished"  # AWSCURRENT already on the job's version (finishSecret done)
    GONE = "gone"  # the secret no longer exists
    DELETED = "deleted"  # scheduled for deletion
    CANCELLED = "cancelled"  # CancelRotateSecret turned rotation off
    ABANDONED = "abandoned"  # AWSPENDING moved off the job's version


@dataclass(frozen=True, slots=True)
class Scope:
    """Which rotation: the job's payload."""

    secret_arn: str
    account_id: str
    region: str
    version_id: str


@dataclass(frozen=True)
class Snapshot:
    record: SecretRecord
    labels: Labels
    versions: Mapping[str, VersionRecord]

    def holding(self, label: str) -> VersionRecord | None:
        holder = self.labels.holder(label)
        return None if holder is None else self.versions.get(holder)


def standing(snapshot: Snapshot | None, version_id: str, *, mode_test: bool = False) -> Standing:
    if snapshot is None:
        return Standing.GONE
    if snapshot.record.scheduled_for_deletion:
        return Standing.DELETED
    labels = snapshot.labels
    if labels.holder(CURRENT) == version_id:
        return Standing.FINISHED
    if labels.holder(PENDING) != version_id:
        return Standing.ABANDONED
    if not snapshot.record.rotation_enabled and not mode_test:
        return Standing.CANCELLED
    return Standing.RUNNING


class RotationState(SecretsBase):
    def snapshot(self, scope: Scope) -> Snapshot | None:
        with self.deps.store.read() as conn:
            record = self._find(conn, scope, for_update=False)
            if record is None:
                return None
            labels = repo.labels(conn, record.arn)
            # Only the versions a rotation looks at (a secret may keep up to 100).
            wanted = {labels.holder(label) for label in (CURRENT, PENDING, PREVIOUS)}
            wanted.add(scope.version_id)
            found = repo.versions_in(conn, record.arn, [i for i in wanted if i is not None])
            versions = {v.version_id: v for v in found}
        return Snapshot(record, labels, versions)

    def value(self, snapshot: Snapshot, version: VersionRecord) -> SecretValue:
        return self.open(snapshot.record, version)

    def current_of(self, scope: Scope, secret_id: str) -> SecretValue | None:
        """AWSCURRENT of another live secret of the same account and Region (``masterarn``)."""
        with self.deps.store.read() as conn:
            ref = parse_secret_id(secret_id, scope.region, scope.account_id)
            now = self.deps.clock.now()
            found = repo.find(conn, scope.account_id, scope.region, ref, now)
            if found is None or found.scheduled_for_deletion:
                return None
            holder = repo.labels(conn, found.arn).holder(CURRENT)
            version = None if holder is None else repo.version(conn, found.arn, holder)
        if version is None or version.sealed is None:
            return None
        return self.open(found, version)

    def fill_pending(self, scope: Scope, snapshot: Snapshot, value: SecretValue) -> bool:
        """createSecret's write: the value of the empty pending version, with the
        RotationStarted event (so both happen exactly once). False when the rotation no
        longer stands or the version already has a value (kept as it is)."""
        record = snapshot.record
        sealed = self.deps.envelope.seal(
            value,
            account_id=record.account_id,
            region=record.region,
            arn=record.arn,
            version_id=scope.version_id,
            key_id=record.kms_key_id,
        )
        now = self.deps.clock.now()
        with self.deps.store.begin() as conn:
            locked = self._locked(conn, scope)
            if locked is None or locked.kms_key_id != record.kms_key_id:
                return False  # re-keyed meanwhile: the next attempt seals under the new key
            labels = repo.labels(conn, locked.arn)
            version = repo.version(conn, locked.arn, scope.version_id)
            if labels.holder(PENDING) != scope.version_id or version is None or version.sealed:
                return False
            self.store_version(conn, locked, scope.version_id, sealed, [PENDING], now)
            self._event(conn, scope, RotationEvent.STARTED, now)
        return True

    def move_current(self, scope: Scope) -> bool:
        """finishSecret's label move; True when AWSCURRENT is (now or already) on the version."""
        now = self.deps.clock.now()
        with self.deps.store.begin() as conn:
            locked = self._locked(conn, scope)
            if locked is None:
                return False
            before = repo.labels(conn, locked.arn)
            holder = before.holder(CURRENT)
            if holder == scope.version_id:
                return True
            version = repo.version(conn, locked.arn, scope.version_id)
            if before.holder(PENDING) != scope.version_id or version is None or not version.sealed:
                return False
            known = [scope.version_id] + ([holder] if holder is not None else [])
            after = move(
                before, CURRENT, move_to=scope.version_id, remove_from=holder, versions=known
            )
            repo.save_labels(conn, locked.arn, before, after)
            repo.update(conn, locked.arn, last_changed_at=now)
        return True

    def complete(self, scope: Scope) -> bool:
        """The rotation's end: AWSPENDING off, LastRotatedDate and the next window set, and
        RotationSucceeded recorded. Runs once; False when there was nothing left to do."""
        now = self.deps.clock.now()
        with self.deps.store.begin() as conn:
            locked = self._locked(conn, scope)
            if locked is None:
                return False
            before = repo.labels(conn, locked.arn)
            if before.holder(CURRENT) != scope.version_id or before.holder(PENDING) != (
                scope.version_id
            ):
                return False
            after = _without_pending(conn, locked.arn, before, scope.version_id)
            self.drop_expired(conn, locked.arn, after, now)  # the old AWSPREVIOUS may go
            changes: dict[str, object] = {"last_rotated_at": now}
            rules = rules_from_json(locked.rotation_rules)
            if locked.rotation_enabled and rules is not None:
                changes["next_rotation_at"] = next_window(rules, since=now).start
            repo.update(conn, locked.arn, **changes)
            self._event(conn, scope, RotationEvent.SUCCEEDED, now)
        return True

    def clear_placeholder(self, scope: Scope) -> None:
        """RotateImmediately=false is over: AWSPENDING off the placeholder, which goes."""
        with self.deps.store.begin() as conn:
            locked = self._locked(conn, scope)
            if locked is None:
                return
            before = repo.labels(conn, locked.arn)
            if before.holder(PENDING) != scope.version_id:
                return
            after = _without_pending(conn, locked.arn, before, scope.version_id)
            version = repo.version(conn, locked.arn, scope.version_id)
            if version is not None and version.sealed is None and not after.on(scope.version_id):
                repo.delete_versions(conn, locked.arn, [scope.version_id])

    def event(
        self,
        scope: Scope,
        event: RotationEvent,
        *,
        error_code: str | None = None,
        message: str | None = None,
    ) -> None:
        with self.deps.store.begin() as conn:
            self._event(conn, scope, event, self.deps.clock.now(), error_code, message)

    def _event(
        self,
        conn: Connection,
        scope: Scope,
        event: RotationEvent,
        now: datetime,
        error_code: str | None = None,
        message: str | None = None,
    ) -> None:
        record(
            conn,
            self.deps.ids,
            now=now,
            account_id=scope.account_id,
            region=scope.region,
            secret_arn=scope.secret_arn,
            version_id=scope.version_id,
            event=event,
            error_code=error_code,
            message=message,
        )

    def _find(self, conn: Connection, scope: Scope, *, for_update: bool) -> SecretRecord | None:
        ref = parse_secret_id(scope.secret_arn, scope.region, scope.account_id)
        found = repo.find(
            conn, scope.account_id, scope.region, ref, self.deps.clock.now(), for_update=for_update
        )
        return found if found is not None and found.arn == scope.secret_arn else None

    def _locked(self, conn: Connection, scope: Scope) -> SecretRecord | None:
        """The live secret under its row lock (None: gone or scheduled for deletion)."""
        found = self._find(conn, scope, for_update=True)
        return None if found is None or found.scheduled_for_deletion else found


def _without_pending(conn: Connection, arn: str, before: Labels, version_id: str) -> Labels:
    after = move(before, PENDING, move_to=None, remove_from=version_id, versions=[version_id])
    repo.save_labels(conn, arn, before, after)
    return after


def previous_of(snapshot: Snapshot) -> VersionRecord | None:
    return snapshot.holding(PREVIOUS)
