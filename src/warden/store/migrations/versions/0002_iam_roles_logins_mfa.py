"""IAM: roles, login profiles, the account password policy, virtual MFA devices, credential
reports; customer managed policies gain tags and their never-reused version counter.

Frozen: this file must never change once released; later schema changes are new revisions.
Every name is spelt out (not derived from a naming convention) so the DDL is the same whatever
schema.py later becomes.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def _account_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["account_id"],
        ["accounts.account_id"],
        name=f"fk_{table}_account_id_accounts",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    # A constant server default lets SQLite add the NOT NULL column in place.
    op.add_column(
        "iam_managed_policies",
        sa.Column("next_version", sa.Integer(), server_default="2", nullable=False),
    )
    op.add_column(
        "iam_managed_policies",
        sa.Column("tags", sa.JSON(), server_default="[]", nullable=False),
    )
    op.create_table(
        "iam_roles",
        sa.Column("role_id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("name_lower", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("arn", sa.String(), nullable=False),
        sa.Column("assume_role_policy", sa.Text(), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("max_session_duration", sa.Integer(), server_default="3600", nullable=False),
        sa.Column("permissions_boundary_arn", sa.String(), nullable=True),
        sa.Column("tags", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_used_at", _TS, nullable=True),
        sa.Column("last_used_region", sa.String(), nullable=True),
        _account_fk("iam_roles"),
        sa.PrimaryKeyConstraint("role_id", name="pk_iam_roles"),
        sa.UniqueConstraint("account_id", "name_lower", name="uq_iam_roles_account_id_name_lower"),
        sa.UniqueConstraint("arn", name="uq_iam_roles_arn"),
    )
    op.create_table(
        "iam_login_profiles",
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column(
            "password_reset_required", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("password_last_changed", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["iam_users.user_id"],
            name="fk_iam_login_profiles_user_id_iam_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name="pk_iam_login_profiles"),
    )
    op.create_table(
        "iam_password_policies",
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        _account_fk("iam_password_policies"),
        sa.PrimaryKeyConstraint("account_id", name="pk_iam_password_policies"),
    )
    op.create_table(
        "iam_mfa_devices",
        sa.Column("serial_number", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("user_id", sa.String(), nullable=True),
        sa.Column("seed_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("enabled_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("tags", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("last_counter", sa.Integer(), server_default="0", nullable=False),
        _account_fk("iam_mfa_devices"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["iam_users.user_id"], name="fk_iam_mfa_devices_user_id_iam_users"
        ),
        sa.PrimaryKeyConstraint("serial_number", name="pk_iam_mfa_devices"),
    )
    op.create_index("ix_iam_mfa_devices_user_id", "iam_mfa_devices", ["user_id"], unique=False)
    op.create_table(
        "iam_credential_reports",
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("generated_at", _TS, nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        _account_fk("iam_credential_reports"),
        sa.PrimaryKeyConstraint("account_id", name="pk_iam_credential_reports"),
    )


def downgrade() -> None:
    op.drop_table("iam_credential_reports")
    op.drop_index("ix_iam_mfa_devices_user_id", table_name="iam_mfa_devices")
    op.drop_table("iam_mfa_devices")
    op.drop_table("iam_password_policies")
    op.drop_table("iam_login_profiles")
    op.drop_table("iam_roles")
    with op.batch_alter_table("iam_managed_policies") as batch:
        batch.drop_column("tags")
        batch.drop_column("next_version")
