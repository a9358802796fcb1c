"""What every Secrets Manager operation shares: its dependencies, resolving a SecretId, and
storing a new version (seal, insert, move labels, drop expired deprecated versions).

Ordering invariant: KMS is called (``Envelope.seal``/``open``) outside the store's writing
transactions, because the KMS implementation may write to the same store (it creates
``aws/secretsmanager`` on first use) and SQLite allows one writer at a time. A write therefore
reads, seals, then re-reads under the lock and re-checks before it changes anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time

from sqlalchemy.engine import Connection

from warden.core.clock import Clock
from warden.core.ids import IdFactory
from warden.services.context import CallContext
from warden.store.db import Store
from warden.store.jobs import JobQueue

from . import repository as repo
from .envelope import DEFAULT_KEY_LABEL, Envelope, SealedValue, SecretValue
from .errors import (
    MODIFY_VERSION,
    ResourceExistsException,
    managed_by,
    marked_for_deletion,
    secret_not_found,
)
from .labels import Labels, attach, expired_versions
from .model import SecretRecord, VersionRecord
from .names import parse_secret_id


@dataclass(frozen=True)
class Deps:
    store: Store
    clock: Clock
    ids: IdFactory
    envelope: Envelope
    jobs: JobQueue
    partition: str = "aws"


def day_of(moment: datetime) -> datetime:
    """Date resolution, as AWS reports LastAccessedDate: midnight UTC of that day."""
    return datetime.combine(moment.astimezone(UTC).date(), time(0), tzinfo=UTC)


class SecretsBase:
    """Helpers over ``Deps`` for the operation classes."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def resolve(
        self,
        conn: Connection,
        ctx: CallContext,
        secret_id: str,
        *,
        allow_deleted: bool = False,
        for_update: bool = False,
    ) -> SecretRecord:
        ref = parse_secret_id(secret_id, ctx.region, ctx.account_id)
        record = repo.find(conn, ctx.account_id, ctx.region, ref, ctx.now, for_update=for_update)
        return self.served(ctx, record, allow_deleted=allow_deleted)

    @staticmethod
    def served(
        ctx: CallContext, record: SecretRecord | None, *, allow_deleted: bool = False
    ) -> SecretRecord:
        """``record`` as the secret a call may act on: it exists, is the one the call was
        authorized on, and (unless ``allow_deleted``) is not scheduled for deletion."""
        if record is None or not ctx.authorized_for(record.arn):
            raise secret_not_found()
        if record.scheduled_for_deletion and not allow_deleted:
            raise marked_for_deletion()
        return record

    def relock(self, conn: Connection, ctx: CallContext, seen: SecretRecord) -> SecretRecord:
        """Re-read ``seen`` under the row lock; it must still be the same live secret."""
        record = self.resolve(conn, ctx, seen.arn, for_update=True)
        if record.arn != seen.arn:
            raise secret_not_found()
        return record

    def seal(
        self, ctx: CallContext, record: SecretRecord, version_id: str, value: SecretValue
    ) -> SealedValue:
        return self.deps.envelope.seal(
            value,
            account_id=record.account_id,
            region=record.region,
            arn=record.arn,
            version_id=version_id,
            key_id=record.kms_key_id,
            caller=ctx,
        )

    def open(
        self, record: SecretRecord, version: VersionRecord, caller: CallContext | None = None
    ) -> SecretValue:
        """The value of ``version``; with ``caller``, KMS first authorizes its principal."""
        if version.sealed is None:
            raise ValueError("a version without a value cannot be opened")
        return self.deps.envelope.open(
            version.sealed,
            account_id=record.account_id,
            region=record.region,
            arn=record.arn,
            version_id=version.version_id,
            caller=caller,
        )

    def same_value_exists(
        self,
        ctx: CallContext,
        record: SecretRecord,
        version: VersionRecord | None,
        value: SecretValue,
    ) -> bool:
        """Idempotency by ClientRequestToken: True when ``version`` already holds ``value``;
        ResourceExistsException when it holds another value; False when there is nothing
        (or only a rotation's empty placeholder) to compare with. The comparison opens the
        stored value for the caller (KMS authorizes it first): never an oracle for guesses
        by someone who may not decrypt it."""
        if version is None or version.sealed is None:
            return False
        if self.open(record, version, caller=ctx).same_as(value):
            return True
        raise ResourceExistsException(message=MODIFY_VERSION)

    def store_version(
        self,
        conn: Connection,
        record: SecretRecord,
        version_id: str,
        sealed: SealedValue,
        stages: Sequence[str] | None,
        now: datetime,
    ) -> Labels:
        """Insert (or fill the placeholder of) ``version_id`` and move labels onto it."""
        before = repo.labels(conn, record.arn)
        label = DEFAULT_KEY_LABEL if record.kms_key_id is None else record.kms_key_id
        existing = repo.version(conn, record.arn, version_id)
        if existing is None:
            repo.insert_version(conn, record.arn, VersionRecord(version_id, now, sealed, label))
        elif existing.sealed is None:
            repo.set_value(conn, record.arn, version_id, sealed, label)
        else:
            # Another request stored this version since we looked: not ours to overwrite.
            raise ResourceExistsException(message=MODIFY_VERSION)
        after = attach(before, version_id, stages)
        repo.save_labels(conn, record.arn, before, after)
        self.drop_expired(conn, record.arn, after, now)
        repo.update(conn, record.arn, last_changed_at=now)
        return after

    @staticmethod
    def drop_expired(conn: Connection, arn: str, labels: Labels, now: datetime) -> None:
        versions = [(v.version_id, v.created_at) for v in repo.versions(conn, arn)]
        repo.delete_versions(conn, arn, expired_versions(labels, versions, now))


def refuse_managed(record: SecretRecord, action: str) -> None:
    """Secrets owned by another service (OwningService) change only through that service."""
    if record.owning_service is not None:
        raise managed_by(record.owning_service, action)
