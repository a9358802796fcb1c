"""Secrets another warden service owns (``OwningService``): ``ports.ServiceSecrets``, which
RDS uses for the master passwords it manages (``rds!cluster-…``).

The owning service creates, rotates and deletes its secrets here. Users see them like any
secret, may read them and change their rotation schedule, but every call that would change
their value, labels, key or existence is refused (``core.refuse_managed``). Rotation is
managed (no Lambda function): the executor asks the owner's ``ports.ManagedRotation`` to
apply each new password, through the same write-ahead ``AWSPENDING`` protocol as any
rotation.

Invariants: ``ensure`` is idempotent by name, so an owner repeating it after a crash never
gets a second secret, and the first version's id derives from the name; KMS is called
outside the writing transactions (see ``core``); no value appears in an error.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
import sqlalchemy.exc
from sqlalchemy.engine import Connection

from warden.core.errors import AwsError
from warden.services.ports import (
    RotationInProgress,
    ServiceSecret,
    ServiceSecretError,
    ServiceSecretState,
)
from warden.store.schema import JobState, jobs
from warden.store.schema import secretsmanager_secrets as secrets_t

from . import repository as repo
from .core import SecretsBase
from .envelope import SecretValue
from .errors import ROTATION_IN_PROGRESS
from .labels import PENDING
from .model import SecretRecord
from .names import check_name, parse_secret_id, secret_arn, suffix_from
from .rotation import reattempt, rotation_dedupe_key, stage_rotation
from .schedule import next_window, parse_rules, rules_from_json

OWNER_TAG = "aws:secretsmanager:owningService"
_FIRST_VERSIONS = uuid.UUID("0f6f0a1e-3b8e-4c55-8f2e-6a3c1d9e7b42")  # namespace of first ids
_STUCK = (JobState.DEAD.value, JobState.FAILED.value)


def first_version(name: str) -> str:
    """The version id of a service secret's first value (the same for a repeated create)."""
    return str(uuid.uuid5(_FIRST_VERSIONS, name))


class OwnedSecrets(SecretsBase):
    """``ports.ServiceSecrets`` over the Secrets Manager store."""

    def ensure(self, secret: ServiceSecret) -> str:
        try:
            check_name(secret.name, managed=True)
        except AwsError as exc:
            raise ServiceSecretError(exc.message) from None
        existing = self._named(secret)
        if existing is not None:
            return existing
        record = self._new_record(secret)
        version_id = first_version(secret.name)
        value = SecretValue.of_string(secret.value.reveal())
        try:
            sealed = self.deps.envelope.seal(
                value,
                account_id=record.account_id,
                region=record.region,
                arn=record.arn,
                version_id=version_id,
                key_id=record.kms_key_id,
            )
        except AwsError as exc:  # the key is missing, disabled or refused
            raise ServiceSecretError(exc.message) from None
        now = self.deps.clock.now()
        try:
            with self.deps.store.begin() as conn:
                repo.purge_expired_name(conn, record.account_id, record.region, record.name, now)
                repo.insert(conn, record)
                self.store_version(conn, record, version_id, sealed, None, now)
        except sqlalchemy.exc.IntegrityError:
            found = self._named(secret)  # the owner created it meanwhile (another node)
            if found is None:
                raise ServiceSecretError(f"The secret {secret.name} could not be created") from None
            return found
        return record.arn

    def _named(self, secret: ServiceSecret) -> str | None:
        """The ARN of the owner's live secret of that name; an error if someone else's."""
        with self.deps.store.read() as conn:
            found = repo.name_taken(conn, secret.account_id, secret.region, secret.name)
        now = self.deps.clock.now()
        if found is None or (found.deletion_at is not None and found.deletion_at <= now):
            return None
        if found.owning_service != secret.owning_service or found.scheduled_for_deletion:
            raise ServiceSecretError(f"A secret named {secret.name} already exists")
        return found.arn

    def _new_record(self, secret: ServiceSecret) -> SecretRecord:
        now = self.deps.clock.now()
        rules = parse_rules({"AutomaticallyAfterDays": secret.rotation_days})
        suffix = suffix_from(self.deps.ids.token_bytes(16))
        return SecretRecord(
            arn=secret_arn(
                self.deps.partition, secret.region, secret.account_id, secret.name, suffix
            ),
            account_id=secret.account_id,
            region=secret.region,
            name=secret.name,
            created_at=now,
            last_changed_at=now,
            description=secret.description,
            kms_key_id=secret.kms_key_id,
            owning_service=secret.owning_service,
            tags=(*secret.tags, (OWNER_TAG, secret.owning_service)),
            rotation_enabled=True,
            rotation_rules=rules.to_json(),
            next_rotation_at=next_window(rules, since=now).start,
        )

    def rotate(self, account_id: str, region: str, arn: str) -> None:
        now = self.deps.clock.now()
        version_id = self.deps.ids.request_id()
        with self.deps.store.begin() as conn:
            record = self._owned(conn, account_id, region, arn, for_update=True)
            if record is None:
                raise ServiceSecretError("Secrets Manager can't find the specified secret.")
            before = repo.labels(conn, arn)
            if not before.rotation_in_progress():
                stage_rotation(self.deps.jobs, conn, record, before, version_id, now, None)
            elif not reattempt(self.deps.jobs, conn, arn, before):
                # Still running: left to finish. One whose retries ran out was started
                # again instead ("impaired" lasts until the next rotation, as in AWS).
                raise RotationInProgress(ROTATION_IN_PROGRESS)
            rules = rules_from_json(record.rotation_rules)
            repo.update(
                conn,
                arn,
                rotation_enabled=True,
                next_rotation_at=None if rules is None else next_window(rules, since=now).start,
                last_changed_at=now,
            )

    def state(self, account_id: str, region: str, arn: str) -> ServiceSecretState:
        with self.deps.store.read() as conn:
            record = self._owned(conn, account_id, region, arn)
            if record is None or record.scheduled_for_deletion:
                return ServiceSecretState.ABSENT
            labels = repo.labels(conn, arn)
            pending = labels.holder(PENDING)
            if pending is None or not labels.rotation_in_progress():
                return ServiceSecretState.ACTIVE
            job = conn.execute(
                sa.select(jobs.c.state).where(
                    jobs.c.dedupe_key == rotation_dedupe_key(arn, pending)
                )
            ).scalar_one_or_none()
        return ServiceSecretState.IMPAIRED if job in _STUCK else ServiceSecretState.ROTATING

    def delete(self, account_id: str, region: str, arn: str) -> None:
        with self.deps.store.begin() as conn:
            record = self._owned(conn, account_id, region, arn, for_update=True)
            if record is not None:
                repo.delete(conn, record.arn)

    def owned(self, owning_service: str) -> tuple[tuple[str, str, str, str], ...]:
        now = self.deps.clock.now()
        query = sa.select(
            secrets_t.c.account_id, secrets_t.c.region, secrets_t.c.name, secrets_t.c.arn
        ).where(
            secrets_t.c.owning_service == owning_service,
            sa.or_(secrets_t.c.deletion_at.is_(None), secrets_t.c.deletion_at > now),
        )
        with self.deps.store.read() as conn:
            return tuple((a, r, n, s) for a, r, n, s in conn.execute(query))

    def _owned(
        self, conn: Connection, account_id: str, region: str, arn: str, *, for_update: bool = False
    ) -> SecretRecord | None:
        """The secret ``arn`` if it exists and a service owns it."""
        ref = parse_secret_id(arn, region, account_id)
        found = repo.find(
            conn, account_id, region, ref, self.deps.clock.now(), for_update=for_update
        )
        if found is None or found.arn != arn or found.owning_service is None:
            return None
        return found
