"""RotateSecret and CancelRotateSecret: rotation configuration, and the hand-off to the worker.

This module records *that* a rotation must happen; it never runs one. The contract with the
rotation worker (a later component that claims jobs from ``store.jobs.JobQueue``):

1. RotateSecret, in one transaction: stores the configuration (``RotationLambdaARN``,
   ``RotationRules``, ``RotationEnabled=true``, the next window's start in
   ``next_rotation_at``), inserts an empty version whose id is the request's
   ``ClientRequestToken`` and moves ``AWSPENDING`` onto it (the write-ahead record of the
   rotation), and enqueues a job of kind ``ROTATE_JOB`` with ``dedupe_key =
   "secretsmanager.rotate:<secret arn>:<version id>"`` and ``payload =
   {"secret_arn", "account_id", "region", "version_id", "mode", "function"}``. ``mode`` is
   ``"rotate"`` (run createSecret, setSecret, testSecret, finishSecret) or ``"test"``
   (``RotateImmediately=false``: run the test only, then take ``AWSPENDING`` off the
   placeholder). ``function`` is the rotation function ARN, or None for managed rotation
   (the secret's ``OwningService`` rotates it).
2. The worker must re-read the secret before every step and stop (completing the job) when
   the rotation no longer stands: the secret is gone or scheduled for deletion,
   ``RotationEnabled`` is false (CancelRotateSecret), or ``AWSPENDING`` is no longer on the
   job's version (a manual PutSecretValue/UpdateSecret abandoned it). createSecret fills the
   placeholder through the same path as PutSecretValue with ``VersionStages=["AWSPENDING"]``;
   finishSecret moves ``AWSCURRENT`` with ``labels.move`` (``AWSPREVIOUS`` follows) and then
   sets ``last_rotated_at`` and the next window (``schedule.next_window``).
3. While ``AWSPENDING`` sits on a version other than ``AWSCURRENT`` a new RotateSecret is
   refused ("A previous rotation isn't complete. That rotation will be reattempted."); a
   failed rotation leaves ``AWSCURRENT`` untouched, so clients keep working while the worker
   retries. When its retries ran out (the job ``dead`` or ``failed``), that refusal, a
   scheduled window and the owning service's rotate-now give it a fresh set of attempts
   (``reattempt``).

CancelRotateSecret turns rotation off and leaves the labels as they are, as AWS does: remove
``AWSPENDING`` from a half-done version with UpdateSecretVersionStage before rotating again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from warden.services.context import CallContext
from warden.store.jobs import JobQueue

from . import inputs
from . import repository as repo
from .core import SecretsBase, refuse_managed
from .errors import (
    MODIFY_VERSION,
    NO_ROTATION_LAMBDA,
    ROTATION_IN_PROGRESS,
    InvalidRequestException,
    ResourceExistsException,
)
from .labels import PENDING, Labels, begin_rotation
from .model import SecretRecord, VersionRecord
from .schedule import RotationRules, next_window, parse_rules, rules_from_json

ROTATE_JOB = "secretsmanager.rotate"
ROTATE_ATTEMPTS = 8
MANAGED_LAMBDA = (
    "This secret is rotated by the service that manages it: omit RotationLambdaARN and "
    "specify only RotationRules."
)


def rotation_dedupe_key(secret_arn: str, version_id: str) -> str:
    return f"{ROTATE_JOB}:{secret_arn}:{version_id}"


class Rotation(SecretsBase):
    def rotate_secret(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        token = inputs.required_token(params, rotate=True)
        function = inputs.bounded(params, "RotationLambdaARN", 2048) or None
        raw_rules = params.get("RotationRules")
        rules = parse_rules(raw_rules) if raw_rules is not None else None
        immediately = inputs.flag(params, "RotateImmediately", True)
        with self.deps.store.begin() as conn:
            record = self.resolve(conn, ctx, params["SecretId"], for_update=True)
            if record.owning_service is not None and function is not None:
                raise InvalidRequestException(message=MANAGED_LAMBDA)
            function = function or record.rotation_lambda_arn
            if function is None and record.owning_service is None:
                raise InvalidRequestException(message=NO_ROTATION_LAMBDA)
            before = repo.labels(conn, record.arn)
            if repo.version(conn, record.arn, token) is not None:
                if before.holder(PENDING) == token:  # a retry of this very call
                    return {"ARN": record.arn, "Name": record.name, "VersionId": token}
                raise ResourceExistsException(message=MODIFY_VERSION)
            unfinished = before.rotation_in_progress()
            if unfinished:
                reattempt(self.deps.jobs, conn, record.arn, before)
            else:
                mode = "rotate" if immediately else "test"
                stage_rotation(self.deps.jobs, conn, record, before, token, ctx.now, function, mode)
                effective = rules or rules_from_json(record.rotation_rules)
                repo.update(
                    conn,
                    record.arn,
                    rotation_enabled=True,
                    rotation_lambda_arn=function,
                    rotation_rules=_stored(effective),
                    external_rotation=_external(params) or record.external_rotation,
                    next_rotation_at=_next_start(effective, ctx),
                    last_changed_at=ctx.now,
                )
        if unfinished:  # raised after the commit, so that the reattempt stands
            raise InvalidRequestException(message=ROTATION_IN_PROGRESS)
        return {"ARN": record.arn, "Name": record.name, "VersionId": token}

    def cancel_rotate_secret(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        with self.deps.store.begin() as conn:
            record = self.resolve(conn, ctx, params["SecretId"], for_update=True)
            refuse_managed(record, "cancel rotation of")
            if record.rotation_lambda_arn is None:
                raise InvalidRequestException(message=NO_ROTATION_LAMBDA)
            labels = repo.labels(conn, record.arn)
            repo.update(
                conn,
                record.arn,
                rotation_enabled=False,
                next_rotation_at=None,
                last_changed_at=ctx.now,
            )
        out: dict[str, Any] = {"ARN": record.arn, "Name": record.name}
        pending = labels.holder(PENDING)
        if labels.rotation_in_progress() and pending is not None:
            out["VersionId"] = pending
        return out


def stage_rotation(
    jobs: JobQueue,
    conn: Connection,
    record: SecretRecord,
    before: Labels,
    version_id: str,
    now: datetime,
    function: str | None,
    mode: str = "rotate",
) -> None:
    """The hand-off (see the module docstring), inside the caller's transaction: an empty
    version ``version_id`` holding AWSPENDING, and its rotation job. ``InvalidRequest``
    while another rotation is in progress."""
    after = begin_rotation(before, version_id)
    repo.insert_version(conn, record.arn, VersionRecord(version_id, now, None))
    repo.save_labels(conn, record.arn, before, after)
    jobs.enqueue(
        ROTATE_JOB,
        {
            "secret_arn": record.arn,
            "account_id": record.account_id,
            "region": record.region,
            "version_id": version_id,
            "mode": mode,
            "function": function,
        },
        dedupe_key=rotation_dedupe_key(record.arn, version_id),
        max_attempts=ROTATE_ATTEMPTS,
        conn=conn,
    )


def reattempt(jobs: JobQueue, conn: Connection, secret_arn: str, labels: Labels) -> bool:
    """Inside the caller's transaction: a rotation that stopped for good (its job ``dead``
    or ``failed``, ``AWSPENDING`` still on its version) gets a fresh set of attempts, as
    AWS's "That rotation will be reattempted" promises. It resumes from ``AWSPENDING``
    (each step is idempotent), so ``AWSCURRENT`` is never touched until it succeeds.
    False when the rotation is still running or there is none to resume."""
    pending = labels.holder(PENDING)
    if pending is None or not labels.rotation_in_progress():
        return False
    return jobs.revive(conn, rotation_dedupe_key(secret_arn, pending), attempts=ROTATE_ATTEMPTS)


def _stored(rules: RotationRules | None) -> dict[str, Any] | None:
    return None if rules is None else rules.to_json()


def _next_start(rules: RotationRules | None, ctx: CallContext) -> Any:
    return None if rules is None else next_window(rules, since=ctx.now).start


def _external(params: Mapping[str, Any]) -> dict[str, Any] | None:
    metadata = params.get("ExternalSecretRotationMetadata")
    role = params.get("ExternalSecretRotationRoleArn")
    if metadata is None and role is None:
        return None
    out: dict[str, Any] = {}
    if metadata is not None:
        out["Metadata"] = [dict(item) for item in metadata]
    if role is not None:
        out["RoleArn"] = role
    return out
