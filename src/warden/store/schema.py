"""The control-plane schema: every table warden persists, as SQLAlchemy Core metadata.

Invariants:
- This module is the current schema; every change to it ships with an Alembic migration in
  ``migrations/versions`` and a test proves the migrated database and this metadata agree.
- Timestamps are timezone-aware and stored in UTC (``UtcDateTime``): PostgreSQL keeps
  ``timestamptz``, SQLite keeps fixed-width UTC text that sorts chronologically.
- Secrets are stored only as ciphertext (``LargeBinary``); session tokens only as a SHA-256 digest.
- IAM names are unique per account regardless of case: ``name_lower`` carries that constraint.
- Every constraint and index has a deterministic name (``NAMING``), the same on both backends.
"""

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


class PrincipalType(StrEnum):
    USER = "user"
    GROUP = "group"
    ROLE = "role"


class AccessKeyStatus(StrEnum):
    ACTIVE = "Active"
    INACTIVE = "Inactive"


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


def _one_of(column: str, values: type[StrEnum], name: str) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=name)


def _ts(name: str, *, nullable: bool = False, index: bool = False) -> sa.Column[Any]:
    return sa.Column(name, UtcDateTime(), nullable=nullable, index=index)


def _account_fk() -> sa.Column[Any]:
    return sa.Column(
        "account_id",
        sa.String(12),
        sa.ForeignKey("accounts.account_id", ondelete="CASCADE"),
        nullable=False,
    )


def _json_list(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.JSON(), nullable=False, default=list, server_default="[]")


accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("account_id", sa.String(12), primary_key=True),
    _ts("created_at"),
    sa.Column("root_password_hash", sa.String(), nullable=False),
    sa.Column("root_user_id", sa.String(), nullable=False, unique=True),
)

iam_users = sa.Table(
    "iam_users",
    metadata,
    sa.Column("user_id", sa.String(), primary_key=True),
    _account_fk(),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("name_lower", sa.String(), nullable=False),
    sa.Column("path", sa.String(), nullable=False),
    sa.Column("arn", sa.String(), nullable=False, unique=True),
    _ts("created_at"),
    sa.Column("permissions_boundary_arn", sa.String(), nullable=True),
    _json_list("tags"),
    _ts("password_last_used", nullable=True),
    sa.UniqueConstraint("account_id", "name_lower"),
)

iam_groups = sa.Table(
    "iam_groups",
    metadata,
    sa.Column("group_id", sa.String(), primary_key=True),
    _account_fk(),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("name_lower", sa.String(), nullable=False),
    sa.Column("path", sa.String(), nullable=False),
    sa.Column("arn", sa.String(), nullable=False, unique=True),
    _ts("created_at"),
    sa.UniqueConstraint("account_id", "name_lower"),
)

iam_group_members = sa.Table(
    "iam_group_members",
    metadata,
    sa.Column(
        "group_id",
        sa.String(),
        sa.ForeignKey("iam_groups.group_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "user_id",
        sa.String(),
        sa.ForeignKey("iam_users.user_id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)

iam_managed_policies = sa.Table(
    "iam_managed_policies",
    metadata,
    sa.Column("policy_id", sa.String(), primary_key=True),
    _account_fk(),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("path", sa.String(), nullable=False),
    sa.Column("arn", sa.String(), nullable=False, unique=True),
    sa.Column("default_version_id", sa.String(), nullable=False),
    sa.Column("description", sa.String(), nullable=True),
    _ts("created_at"),
    _ts("updated_at"),
    sa.Column("attachment_count", sa.Integer(), nullable=False, default=0, server_default="0"),
    sa.Column(
        "is_attachable", sa.Boolean(), nullable=False, default=True, server_default=sa.true()
    ),
    sa.Column(
        "permissions_boundary_usage_count",
        sa.Integer(),
        nullable=False,
        default=0,
        server_default="0",
    ),
    # The number the next version gets: AWS never reuses a deleted version's id, and policy
    # caches key on (ARN, version id), so a reused id could serve a stale document.
    sa.Column("next_version", sa.Integer(), nullable=False, default=2, server_default="2"),
    _json_list("tags"),
    sa.UniqueConstraint("account_id", "name"),
)

iam_policy_versions = sa.Table(
    "iam_policy_versions",
    metadata,
    sa.Column(
        "policy_arn",
        sa.String(),
        sa.ForeignKey("iam_managed_policies.arn", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("version_id", sa.String(), primary_key=True),
    sa.Column("document", sa.Text(), nullable=False),
    _ts("created_at"),
)

# policy_arn may name an AWS-managed policy that has no row here, hence no foreign key on it.
iam_attachments = sa.Table(
    "iam_attachments",
    metadata,
    _account_fk(),
    sa.Column("principal_type", sa.String(), primary_key=True),
    sa.Column("principal_id", sa.String(), primary_key=True),
    sa.Column("policy_arn", sa.String(), primary_key=True, index=True),
    _one_of("principal_type", PrincipalType, "principal_type"),
)

iam_inline_policies = sa.Table(
    "iam_inline_policies",
    metadata,
    _account_fk(),
    sa.Column("principal_type", sa.String(), primary_key=True),
    sa.Column("principal_id", sa.String(), primary_key=True),
    sa.Column("policy_name", sa.String(), primary_key=True),
    sa.Column("document", sa.Text(), nullable=False),
    _one_of("principal_type", PrincipalType, "principal_type"),
)

# No cascade from iam_users: AWS refuses DeleteUser while the user still has access keys.
access_keys = sa.Table(
    "access_keys",
    metadata,
    sa.Column("access_key_id", sa.String(), primary_key=True),
    _account_fk(),
    sa.Column(
        "user_id", sa.String(), sa.ForeignKey("iam_users.user_id"), nullable=True, index=True
    ),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=False),
    _ts("created_at"),
    _ts("last_used_at", nullable=True),
    sa.Column("last_used_service", sa.String(), nullable=True),
    sa.Column("last_used_region", sa.String(), nullable=True),
    _one_of("status", AccessKeyStatus, "status"),
)

sts_credentials = sa.Table(
    "sts_credentials",
    metadata,
    sa.Column("access_key_id", sa.String(), primary_key=True),
    _account_fk(),
    sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=False),
    sa.Column("token_digest", sa.LargeBinary(), nullable=False),
    sa.Column("principal_arn", sa.String(), nullable=False),
    sa.Column("principal_type", sa.String(), nullable=False),
    sa.Column("source_user_id", sa.String(), nullable=True),
    sa.Column("role_id", sa.String(), nullable=True),
    sa.Column("session_name", sa.String(), nullable=True),
    sa.Column("mfa_authenticated", sa.Boolean(), nullable=False, default=False),
    _ts("mfa_auth_time", nullable=True),
    sa.Column("session_policy", sa.Text(), nullable=True),
    _json_list("tags"),
    _ts("issued_at"),
    _ts("expires_at", index=True),
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
    _ts("event_time"),
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
    _json_list("resource_arns"),
    _json_list("resource_types"),
    sa.Column("decision", sa.String(), nullable=False),
    sa.Column("error_code", sa.String(), nullable=True),
    sa.Column("error_message", sa.Text(), nullable=True),
    sa.Column("request_parameters", sa.JSON(), nullable=True),
    _one_of("decision", AuditDecision, "decision"),
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
    _ts("run_at"),
    sa.Column("attempts", sa.Integer(), nullable=False, default=0, server_default="0"),
    sa.Column("max_attempts", sa.Integer(), nullable=False),
    sa.Column("lease_owner", sa.String(), nullable=True),
    _ts("lease_expires_at", nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    _ts("created_at"),
    _ts("updated_at"),
    _one_of("state", JobState, "state"),
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

iam_roles = sa.Table(
    "iam_roles",
    metadata,
    sa.Column("role_id", sa.String(), primary_key=True),
    _account_fk(),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("name_lower", sa.String(), nullable=False),
    sa.Column("path", sa.String(), nullable=False),
    sa.Column("arn", sa.String(), nullable=False, unique=True),
    sa.Column("assume_role_policy", sa.Text(), nullable=False),
    sa.Column("description", sa.String(), nullable=True),
    sa.Column(
        "max_session_duration", sa.Integer(), nullable=False, default=3600, server_default="3600"
    ),
    sa.Column("permissions_boundary_arn", sa.String(), nullable=True),
    _json_list("tags"),
    _ts("created_at"),
    _ts("last_used_at", nullable=True),
    sa.Column("last_used_region", sa.String(), nullable=True),
    sa.UniqueConstraint("account_id", "name_lower"),
)

# The console password: only its scrypt hash (services/iam/passwords.py) is ever stored.
iam_login_profiles = sa.Table(
    "iam_login_profiles",
    metadata,
    sa.Column(
        "user_id",
        sa.String(),
        sa.ForeignKey("iam_users.user_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("password_hash", sa.String(), nullable=False),
    sa.Column(
        "password_reset_required",
        sa.Boolean(),
        nullable=False,
        default=False,
        server_default=sa.false(),
    ),
    _ts("created_at"),
    _ts("password_last_changed"),
)

# The account password policy as UpdateAccountPasswordPolicy's members; no row means none set.
iam_password_policies = sa.Table(
    "iam_password_policies",
    metadata,
    sa.Column(
        "account_id",
        sa.String(12),
        sa.ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("policy", sa.JSON(), nullable=False),
)

# Virtual MFA devices. The TOTP seed is sealed by the key ring, never stored in plaintext;
# last_counter is the newest TOTP time step accepted, so a code cannot be replayed. No cascade
# from iam_users: AWS refuses DeleteUser while an MFA device is still assigned.
iam_mfa_devices = sa.Table(
    "iam_mfa_devices",
    metadata,
    sa.Column("serial_number", sa.String(), primary_key=True),
    _account_fk(),
    sa.Column(
        "user_id", sa.String(), sa.ForeignKey("iam_users.user_id"), nullable=True, index=True
    ),
    sa.Column("seed_ciphertext", sa.LargeBinary(), nullable=False),
    _ts("enabled_at", nullable=True),
    _ts("created_at"),
    _json_list("tags"),
    sa.Column("last_counter", sa.Integer(), nullable=False, default=0, server_default="0"),
)

iam_credential_reports = sa.Table(
    "iam_credential_reports",
    metadata,
    sa.Column(
        "account_id",
        sa.String(12),
        sa.ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    _ts("generated_at"),
    sa.Column("content", sa.LargeBinary(), nullable=False),
)


class KmsKeyState(StrEnum):
    ENABLED = "Enabled"
    DISABLED = "Disabled"
    PENDING_DELETION = "PendingDeletion"


class KmsKeyManager(StrEnum):
    CUSTOMER = "CUSTOMER"
    AWS = "AWS"


class KmsRotationType(StrEnum):
    AUTOMATIC = "AUTOMATIC"
    ON_DEMAND = "ON_DEMAND"


# KMS keys: metadata only. The key material lives behind services/kms/keystore.py (by default
# sealed in kms_key_material); current_material_version names the version new ciphertexts use.
kms_keys = sa.Table(
    "kms_keys",
    metadata,
    sa.Column("key_id", sa.String(), primary_key=True),
    _account_fk(),
    sa.Column("region", sa.String(), nullable=False),
    sa.Column("arn", sa.String(), nullable=False, unique=True),
    sa.Column("description", sa.Text(), nullable=False, default="", server_default=""),
    sa.Column("state", sa.String(), nullable=False),
    sa.Column("key_manager", sa.String(), nullable=False),
    sa.Column("key_usage", sa.String(), nullable=False),
    sa.Column("key_spec", sa.String(), nullable=False),
    _ts("created_at"),
    _ts("deletion_date", nullable=True, index=True),
    sa.Column("policy", sa.Text(), nullable=False),
    _json_list("tags"),
    sa.Column(
        "rotation_enabled", sa.Boolean(), nullable=False, default=False, server_default=sa.false()
    ),
    sa.Column("rotation_period_days", sa.Integer(), nullable=True),
    _ts("next_rotation_date", nullable=True, index=True),
    sa.Column("current_material_version", sa.Integer(), nullable=False),
    _one_of("state", KmsKeyState, "state"),
    _one_of("key_manager", KmsKeyManager, "key_manager"),
    sa.Index("ix_kms_keys_account_id_region", "account_id", "region"),
)

kms_aliases = sa.Table(
    "kms_aliases",
    metadata,
    sa.Column(
        "account_id",
        sa.String(12),
        sa.ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("region", sa.String(), primary_key=True),
    sa.Column("alias_name", sa.String(), primary_key=True),
    sa.Column(
        "key_id",
        sa.String(),
        sa.ForeignKey("kms_keys.key_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    _ts("created_at"),
    _ts("updated_at"),
)

# Sealed key material, one row per (key, version); AAD binds each row to its key id and version.
# No foreign key: material is written before the key row that uses it (see keystore.py).
kms_key_material = sa.Table(
    "kms_key_material",
    metadata,
    sa.Column("key_id", sa.String(), primary_key=True),
    sa.Column("version", sa.Integer(), primary_key=True),
    sa.Column("sealed_material", sa.LargeBinary(), nullable=False),
    _ts("created_at"),
)

# Completed rotations (ListKeyRotations): the material version each one made current.
kms_key_rotations = sa.Table(
    "kms_key_rotations",
    metadata,
    sa.Column(
        "key_id",
        sa.String(),
        sa.ForeignKey("kms_keys.key_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("version", sa.Integer(), primary_key=True),
    sa.Column("rotation_type", sa.String(), nullable=False),
    _ts("rotated_at"),
    _one_of("rotation_type", KmsRotationType, "rotation_type"),
)

# Secrets Manager. Versions hold only ciphertexts: the value sealed under a per-version data key
# and that data key sealed by KMS. A version without a value is the placeholder RotateSecret
# stages as AWSPENDING. A staging label is a row keyed by (secret, label), so it is attached to
# one version at most. ``tags`` is NULL until the secret is first tagged (AWS then lists []).
secretsmanager_secrets = sa.Table(
    "secretsmanager_secrets",
    metadata,
    sa.Column("arn", sa.String(), primary_key=True),
    _account_fk(),
    sa.Column("region", sa.String(), nullable=False),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("description", sa.String(), nullable=True),
    sa.Column("kms_key_id", sa.String(), nullable=True),
    sa.Column("secret_type", sa.String(), nullable=True),
    sa.Column("owning_service", sa.String(), nullable=True),
    sa.Column("tags", sa.JSON(), nullable=True),
    sa.Column("resource_policy", sa.Text(), nullable=True),
    sa.Column("rotation_enabled", sa.Boolean(), nullable=True),
    sa.Column("rotation_lambda_arn", sa.String(), nullable=True),
    sa.Column("rotation_rules", sa.JSON(), nullable=True),
    sa.Column("external_rotation", sa.JSON(), nullable=True),
    _ts("next_rotation_at", nullable=True, index=True),
    _ts("last_rotated_at", nullable=True),
    _ts("last_changed_at"),
    _ts("last_accessed_at", nullable=True),
    _ts("created_at"),
    _ts("deleted_at", nullable=True),
    _ts("deletion_at", nullable=True, index=True),
    sa.UniqueConstraint("account_id", "region", "name"),
)

secretsmanager_versions = sa.Table(
    "secretsmanager_versions",
    metadata,
    sa.Column(
        "secret_arn",
        sa.String(),
        sa.ForeignKey("secretsmanager_secrets.arn", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("version_id", sa.String(), primary_key=True),
    _ts("created_at"),
    sa.Column("value_kind", sa.String(), nullable=True),
    sa.Column("ciphertext", sa.LargeBinary(), nullable=True),
    sa.Column("data_key", sa.LargeBinary(), nullable=True),
    sa.Column("kms_key_arn", sa.String(), nullable=True),
    sa.Column("kms_key_label", sa.String(), nullable=True),
    _ts("last_accessed_at", nullable=True),
    sa.CheckConstraint("value_kind IN ('string', 'binary')", name="value_kind"),
)

secretsmanager_stages = sa.Table(
    "secretsmanager_stages",
    metadata,
    sa.Column("secret_arn", sa.String(), primary_key=True),
    sa.Column("stage", sa.String(), primary_key=True),
    sa.Column("version_id", sa.String(), nullable=False),
    sa.ForeignKeyConstraint(
        ["secret_arn", "version_id"],
        ["secretsmanager_versions.secret_arn", "secretsmanager_versions.version_id"],
        ondelete="CASCADE",
    ),
)


# EC2 security groups (the default VPC of each account and region) and their ingress rules.
# A rule is one (protocol, port range, CIDR) triple; "-1" (all protocols) stores ports -1..-1.
ec2_security_groups = sa.Table(
    "ec2_security_groups",
    metadata,
    sa.Column("group_id", sa.String(), primary_key=True),
    _account_fk(),
    sa.Column("region", sa.String(), nullable=False),
    sa.Column("vpc_id", sa.String(), nullable=False),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("description", sa.String(), nullable=False),
    sa.Column("is_default", sa.Boolean(), nullable=False),
    _json_list("tags"),
    _ts("created_at"),
    sa.UniqueConstraint("account_id", "region", "vpc_id", "name"),
)

ec2_sg_rules = sa.Table(
    "ec2_sg_rules",
    metadata,
    sa.Column("rule_id", sa.String(), primary_key=True),
    sa.Column(
        "group_id",
        sa.String(),
        sa.ForeignKey("ec2_security_groups.group_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("protocol", sa.String(), nullable=False),
    sa.Column("from_port", sa.Integer(), nullable=False),
    sa.Column("to_port", sa.Integer(), nullable=False),
    sa.Column("cidr", sa.String(), nullable=False),
    sa.Column("description", sa.String(), nullable=True),
    _ts("created_at"),
    sa.UniqueConstraint("group_id", "protocol", "from_port", "to_port", "cidr"),
)


def _volume_columns(nullable: bool) -> list[sa.Column[Any]]:
    """What belongs to a PostgreSQL data directory: an Aurora cluster's (its cluster volume)
    or a standalone instance's. Secrets are sealed by the key ring; ``settings`` is the JSON
    of the RDS attributes that need no SQL (backup window, log exports, ...)."""
    return [
        sa.Column("port", sa.Integer(), nullable=nullable),
        sa.Column("master_username", sa.String(), nullable=nullable),
        sa.Column("master_password", sa.LargeBinary(), nullable=nullable),
        sa.Column("password_pending", sa.Boolean(), nullable=nullable),
        sa.Column("password_drift", sa.Boolean(), nullable=nullable),
        sa.Column("admin_password", sa.LargeBinary(), nullable=nullable),
        sa.Column("tls_cert", sa.Text(), nullable=nullable),
        sa.Column("tls_key", sa.LargeBinary(), nullable=nullable),
        sa.Column("volume_ready", sa.Boolean(), nullable=nullable),
        sa.Column("settings", sa.JSON(), nullable=nullable),
    ]


# RDS: the desired state of DB clusters and instances; the reconciler converges processes to it.
# An instance in a cluster runs on the cluster's volume (its volume columns are NULL); a
# standalone instance (engine postgres) owns its volume.
rds_clusters = sa.Table(
    "rds_clusters",
    metadata,
    sa.Column("resource_id", sa.String(), primary_key=True),
    _account_fk(),
    sa.Column("region", sa.String(), nullable=False),
    sa.Column("identifier", sa.String(), nullable=False),
    sa.Column("arn", sa.String(), nullable=False, unique=True),
    sa.Column("engine", sa.String(), nullable=False),
    sa.Column("engine_version", sa.String(), nullable=False),
    sa.Column("status", sa.String(), nullable=False),
    *_volume_columns(nullable=False),
    _json_list("tags"),
    _ts("created_at"),
    sa.UniqueConstraint("account_id", "region", "identifier"),
)

rds_instances = sa.Table(
    "rds_instances",
    metadata,
    sa.Column("resource_id", sa.String(), primary_key=True),
    _account_fk(),
    sa.Column("region", sa.String(), nullable=False),
    sa.Column("identifier", sa.String(), nullable=False),
    sa.Column("arn", sa.String(), nullable=False, unique=True),
    sa.Column(
        "cluster_id",
        sa.String(),
        sa.ForeignKey("rds_clusters.resource_id"),
        nullable=True,
        index=True,
    ),
    sa.Column("engine", sa.String(), nullable=False),
    sa.Column("engine_version", sa.String(), nullable=False),
    sa.Column("instance_class", sa.String(), nullable=False),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("options", sa.JSON(), nullable=False),
    *_volume_columns(nullable=True),
    _json_list("tags"),
    _ts("created_at"),
    sa.UniqueConstraint("account_id", "region", "identifier"),
)

rds_events = sa.Table(
    "rds_events",
    metadata,
    sa.Column("event_id", sa.String(), primary_key=True),
    _account_fk(),
    sa.Column("region", sa.String(), nullable=False),
    sa.Column("source_type", sa.String(), nullable=False),
    sa.Column("source_id", sa.String(), nullable=False),
    sa.Column("source_arn", sa.String(), nullable=False),
    sa.Column("message", sa.Text(), nullable=False),
    _json_list("categories"),
    _ts("created_at", index=True),
)
