"""Rotation outcomes as events in the audit trail, the way AWS records them in CloudTrail.

Secrets Manager logs each rotation's outcome as a service event (``RotationStarted``,
``RotationSucceeded``, ``RotationFailed``, ``RotationAbandoned`` and the ``TestRotation…``
events of ``RotateImmediately=false``). warden writes them into the same ``audit_events``
table its API calls go to, so ``cloudtrail lookup-events`` finds them by event name or by the
secret's ARN (resource type ``AWS::SecretsManager::Secret``), and into the caller's
transaction, so an outcome is recorded exactly when the state change it reports commits (a
crash loses both or neither).

An event's ``errorCode``/``errorMessage`` carry a failure's cause; they come from
``StepFailed`` and engine messages, which never contain a secret.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warden.core.ids import IdFactory
from warden.store.schema import AuditDecision, audit_events, audit_resources

SERVICE = "secretsmanager.amazonaws.com"
RESOURCE_TYPE = "AWS::SecretsManager::Secret"
PRINCIPAL_TYPE = "AWSService"
MAX_MESSAGE = 1000


class RotationEvent(enum.StrEnum):
    STARTED = "RotationStarted"
    SUCCEEDED = "RotationSucceeded"
    FAILED = "RotationFailed"
    ABANDONED = "RotationAbandoned"
    TEST_STARTED = "TestRotationStarted"
    TEST_SUCCEEDED = "TestRotationSucceeded"
    TEST_FAILED = "TestRotationFailed"


def record(
    conn: Connection,
    ids: IdFactory,
    *,
    now: datetime,
    account_id: str,
    region: str,
    secret_arn: str,
    version_id: str,
    event: RotationEvent,
    error_code: str | None = None,
    message: str | None = None,
) -> None:
    event_id = ids.event_id(now)
    conn.execute(
        sa.insert(audit_events).values(
            event_id=event_id,
            event_time=now,
            request_id=None,
            account_id=account_id,
            region=region,
            event_source=SERVICE,
            event_name=event.value,
            read_only=False,
            principal_arn=None,
            principal_type=PRINCIPAL_TYPE,
            user_name=None,
            access_key_id=None,
            source_ip=SERVICE,
            user_agent=SERVICE,
            resource_arns=[secret_arn],
            resource_types=[RESOURCE_TYPE],
            decision=AuditDecision.NOT_EVALUATED.value,
            error_code=error_code,
            error_message=None if message is None else message[:MAX_MESSAGE],
            request_parameters={"secretId": secret_arn, "clientRequestToken": version_id},
        )
    )
    conn.execute(
        sa.insert(audit_resources).values(
            event_id=event_id, resource_name=secret_arn, resource_type=RESOURCE_TYPE
        )
    )
