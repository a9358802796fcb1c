"""Shared schema parts: the metadata and its naming, UTC timestamps, column helpers, and the
tables every service uses (accounts, the audit trail, jobs, settings)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, stored as UTC; naive datetimes are refused (ambiguous)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime refused: store timezone-aware UTC times")
        utc = value.astimezone(UTC)
        # SQLite's DATETIME text drops the offset, so it must be UTC already.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class AuditDecision(StrEnum):
    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"
    NOT_EVALUATED = "NotEvaluated"


class JobState(StrEnum):
    READY = "ready"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # permanent failure reported by the worker: never retried
    DEAD = "dead"  # retries exhausted


def one_of(column: str, values: type[StrEnum], name: str) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=name)


def ts(name: str, *, nullable: bool = False, index: bool = False) -> sa.Column[Any]:
    return sa.Column(name, UtcDateTime(), nullable=nullable, index=index)


def account_fk() -> sa.Column[Any]:
    return sa.Column(
        "account_id",
        sa.String(12),
        sa.ForeignKey("accounts.account_id", ondelete="CASCADE"),
        nullable=False,
    )


def json_list(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.JSON(), nullable=False, default=list, server_default="[]")


accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("account_id", sa.String(12), primary_key=True),
    ts("created_at"),
    sa.Column("root_password_hash", sa.String(), nullable=False),
    sa.Column("root_user_id", sa.String(), nullable=False, unique=True),
)


# seq is the primary key (not event_id) because only an integer primary key autoincrements on
# SQLite; event_id stays unique and is what clients see. sqlite_autoincrement forbids reuse of
# seq values after deletions, so seq order is insertion order on both backends.
audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column(
        "seq",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("event_id", sa.String(), nullable=False, unique=True),
    ts("event_time"),
    sa.Column("request_id", sa.String(), nullable=True),
    sa.Column("account_id", sa.String(12), nullable=True),
    sa.Column("region", sa.String(), nullable=False),
    sa.Column("event_source", sa.String(), nullable=False),
    sa.Column("event_name", sa.String(), nullable=False),
    sa.Column("read_only", sa.Boolean(), nullable=False),
    sa.Column("principal_arn", sa.String(), nullable=True),
    sa.Column("principal_type", sa.String(), nullable=True),
    sa.Column("user_name", sa.String(), nullable=True),
    sa.Column("access_key_id", sa.String(), nullable=True),
    sa.Column("source_ip", sa.String(), nullable=True),
    sa.Column("user_agent", sa.String(), nullable=True),
    json_list("resource_arns"),
    json_list("resource_types"),
    sa.Column("decision", sa.String(), nullable=False),
    sa.Column("error_code", sa.String(), nullable=True),
    sa.Column("error_message", sa.Text(), nullable=True),
    sa.Column("request_parameters", sa.JSON(), nullable=True),
    one_of("decision", AuditDecision, "decision"),
    # LookupEvents takes one attribute plus a time range, newest first: one index per attribute
    # leading with it, then time, so each lookup is an index range scan in the right order.
    sa.Index("ix_audit_events_event_time", "event_time", "seq"),
    sa.Index("ix_audit_events_event_name", "event_name", "event_time"),
    sa.Index("ix_audit_events_user_name", "user_name", "event_time"),
    sa.Index("ix_audit_events_access_key_id", "access_key_id", "event_time"),
    sa.Index("ix_audit_events_event_source", "event_source", "event_time"),
    sa.Index("ix_audit_events_read_only", "read_only", "event_time"),
    sqlite_autoincrement=True,
)

# One row per resource an event touched: LookupEvents' ResourceName / ResourceType filters.
audit_resources = sa.Table(
    "audit_resources",
    metadata,
    sa.Column(
        "event_id",
        sa.String(),
        sa.ForeignKey("audit_events.event_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("resource_type", sa.String(), primary_key=True, index=True),
    sa.Column("resource_name", sa.String(), primary_key=True, index=True),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("job_id", sa.String(), primary_key=True),
    sa.Column("kind", sa.String(), nullable=False, index=True),
    sa.Column("dedupe_key", sa.String(), nullable=True, unique=True),
    sa.Column("payload", sa.JSON(), nullable=False),
    sa.Column("state", sa.String(), nullable=False),
    ts("run_at"),
    sa.Column("attempts", sa.Integer(), nullable=False, default=0, server_default="0"),
    sa.Column("max_attempts", sa.Integer(), nullable=False),
    sa.Column("lease_owner", sa.String(), nullable=True),
    ts("lease_expires_at", nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    ts("created_at"),
    ts("updated_at"),
    one_of("state", JobState, "state"),
    sa.CheckConstraint("max_attempts >= 1", name="max_attempts"),
    sa.Index("ix_jobs_state_run_at", "state", "run_at"),
    sa.Index("ix_jobs_state_lease_expires_at", "state", "lease_expires_at"),
)

settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
)
