"""The initial control-plane schema: accounts, IAM, access keys, STS sessions, audit, jobs.

Frozen: this file must never change once released; later schema changes are new revisions.
Every name is spelt out (not derived from a naming convention) so the DDL is the same whatever
schema.py later becomes.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("root_password_hash", sa.String(), nullable=False),
        sa.Column("root_user_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_accounts"),
        sa.UniqueConstraint("root_user_id", name="uq_accounts_root_user_id"),
    )
    op.create_table(
        "audit_events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("event_time", _TS, nullable=False),
        sa.Column("request_id", sa.String(), nullable=True),
        sa.Column("account_id", sa.String(length=12), nullable=True),
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
        sa.Column("resource_arns", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("resource_types", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("decision", sa.String(), nullable=False),
        sa.Column("error_code", sa.String(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("request_parameters", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "decision IN ('Allow', 'ExplicitDeny', 'ImplicitDeny', 'NotEvaluated')",
            name="ck_audit_events_decision",
        ),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_events"),
        sa.UniqueConstraint("event_id", name="uq_audit_events_event_id"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_audit_events_access_key_id",
        "audit_events",
        ["access_key_id", "event_time"],
        unique=False,
    )
    op.create_index(
        "ix_audit_events_event_name", "audit_events", ["event_name", "event_time"], unique=False
    )
    op.create_index(
        "ix_audit_events_event_source", "audit_events", ["event_source", "event_time"], unique=False
    )
    op.create_index(
        "ix_audit_events_event_time", "audit_events", ["event_time", "seq"], unique=False
    )
    op.create_index(
        "ix_audit_events_read_only", "audit_events", ["read_only", "event_time"], unique=False
    )
    op.create_index(
        "ix_audit_events_user_name", "audit_events", ["user_name", "event_time"], unique=False
    )
    op.create_table(
        "jobs",
        sa.Column("job_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("dedupe_key", sa.String(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("run_at", _TS, nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(), nullable=True),
        sa.Column("lease_expires_at", _TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.CheckConstraint(
            "state IN ('ready', 'running', 'done', 'failed', 'dead')", name="ck_jobs_state"
        ),
        sa.CheckConstraint("max_attempts >= 1", name="ck_jobs_max_attempts"),
        sa.PrimaryKeyConstraint("job_id", name="pk_jobs"),
        sa.UniqueConstraint("dedupe_key", name="uq_jobs_dedupe_key"),
    )
    op.create_index("ix_jobs_kind", "jobs", ["kind"], unique=False)
    op.create_index(
        "ix_jobs_state_lease_expires_at", "jobs", ["state", "lease_expires_at"], unique=False
    )
    op.create_index("ix_jobs_state_run_at", "jobs", ["state", "run_at"], unique=False)
    op.create_table(
        "settings",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_settings"),
    )
    op.create_table(
        "audit_resources",
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("resource_type", sa.String(), nullable=False),
        sa.Column("resource_name", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["audit_events.event_id"],
            name="fk_audit_resources_event_id_audit_events",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "event_id", "resource_type", "resource_name", name="pk_audit_resources"
        ),
    )
    op.create_index(
        "ix_audit_resources_resource_name", "audit_resources", ["resource_name"], unique=False
    )
    op.create_index(
        "ix_audit_resources_resource_type", "audit_resources", ["resource_type"], unique=False
    )
    op.create_table(
        "iam_attachments",
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("principal_type", sa.String(), nullable=False),
        sa.Column("principal_id", sa.String(), nullable=False),
        sa.Column("policy_arn", sa.String(), nullable=False),
        sa.CheckConstraint(
            "principal_type IN ('user', 'group', 'role')", name="ck_iam_attachments_principal_type"
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name="fk_iam_attachments_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "principal_type", "principal_id", "policy_arn", name="pk_iam_attachments"
        ),
    )
    op.create_index(
        "ix_iam_attachments_policy_arn", "iam_attachments", ["policy_arn"], unique=False
    )
    op.create_table(
        "iam_groups",
        sa.Column("group_id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("name_lower", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("arn", sa.String(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name="fk_iam_groups_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", name="pk_iam_groups"),
        sa.UniqueConstraint("account_id", "name_lower", name="uq_iam_groups_account_id_name_lower"),
        sa.UniqueConstraint("arn", name="uq_iam_groups_arn"),
    )
    op.create_table(
        "iam_inline_policies",
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("principal_type", sa.String(), nullable=False),
        sa.Column("principal_id", sa.String(), nullable=False),
        sa.Column("policy_name", sa.String(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "principal_type IN ('user', 'group', 'role')",
            name="ck_iam_inline_policies_principal_type",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name="fk_iam_inline_policies_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "principal_type", "principal_id", "policy_name", name="pk_iam_inline_policies"
        ),
    )
    op.create_table(
        "iam_managed_policies",
        sa.Column("policy_id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("arn", sa.String(), nullable=False),
        sa.Column("default_version_id", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("attachment_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("is_attachable", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column(
            "permissions_boundary_usage_count", sa.Integer(), server_default="0", nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name="fk_iam_managed_policies_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("policy_id", name="pk_iam_managed_policies"),
        sa.UniqueConstraint("account_id", "name", name="uq_iam_managed_policies_account_id_name"),
        sa.UniqueConstraint("arn", name="uq_iam_managed_policies_arn"),
    )
    op.create_table(
        "iam_users",
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("name_lower", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("arn", sa.String(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("permissions_boundary_arn", sa.String(), nullable=True),
        sa.Column("tags", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("password_last_used", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name="fk_iam_users_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name="pk_iam_users"),
        sa.UniqueConstraint("account_id", "name_lower", name="uq_iam_users_account_id_name_lower"),
        sa.UniqueConstraint("arn", name="uq_iam_users_arn"),
    )
    op.create_table(
        "sts_credentials",
        sa.Column("access_key_id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("token_digest", sa.LargeBinary(), nullable=False),
        sa.Column("principal_arn", sa.String(), nullable=False),
        sa.Column("principal_type", sa.String(), nullable=False),
        sa.Column("source_user_id", sa.String(), nullable=True),
        sa.Column("role_id", sa.String(), nullable=True),
        sa.Column("session_name", sa.String(), nullable=True),
        sa.Column("mfa_authenticated", sa.Boolean(), nullable=False),
        sa.Column("mfa_auth_time", _TS, nullable=True),
        sa.Column("session_policy", sa.Text(), nullable=True),
        sa.Column("tags", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("issued_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name="fk_sts_credentials_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("access_key_id", name="pk_sts_credentials"),
    )
    op.create_index(
        "ix_sts_credentials_expires_at", "sts_credentials", ["expires_at"], unique=False
    )
    op.create_table(
        "access_keys",
        sa.Column("access_key_id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("user_id", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_used_at", _TS, nullable=True),
        sa.Column("last_used_service", sa.String(), nullable=True),
        sa.Column("last_used_region", sa.String(), nullable=True),
        sa.CheckConstraint("status IN ('Active', 'Inactive')", name="ck_access_keys_status"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name="fk_access_keys_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["iam_users.user_id"], name="fk_access_keys_user_id_iam_users"
        ),
        sa.PrimaryKeyConstraint("access_key_id", name="pk_access_keys"),
    )
    op.create_index("ix_access_keys_user_id", "access_keys", ["user_id"], unique=False)
    op.create_table(
        "iam_group_members",
        sa.Column("group_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["iam_groups.group_id"],
            name="fk_iam_group_members_group_id_iam_groups",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["iam_users.user_id"],
            name="fk_iam_group_members_user_id_iam_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "user_id", name="pk_iam_group_members"),
    )
    op.create_index("ix_iam_group_members_user_id", "iam_group_members", ["user_id"], unique=False)
    op.create_table(
        "iam_policy_versions",
        sa.Column("policy_arn", sa.String(), nullable=False),
        sa.Column("version_id", sa.String(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_arn"],
            ["iam_managed_policies.arn"],
            name="fk_iam_policy_versions_policy_arn_iam_managed_policies",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("policy_arn", "version_id", name="pk_iam_policy_versions"),
    )


def downgrade() -> None:
    op.drop_table("iam_policy_versions")
    op.drop_table("iam_group_members")
    op.drop_table("access_keys")
    op.drop_table("sts_credentials")
    op.drop_table("iam_users")
    op.drop_table("iam_managed_policies")
    op.drop_table("iam_inline_policies")
    op.drop_table("iam_groups")
    op.drop_table("iam_attachments")
    op.drop_table("audit_resources")
    op.drop_table("settings")
    op.drop_table("jobs")
    op.drop_table("audit_events")
    op.drop_table("accounts")
