"""Secrets Manager: secrets, their versions (ciphertexts only) and staging labels.

Frozen: this file must never change once released; later schema changes are new revisions.
Every name is spelt out (not derived from a naming convention) so the DDL is the same whatever
schema.py later becomes.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "secretsmanager_secrets",
        sa.Column("arn", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
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
        sa.Column("next_rotation_at", _TS, nullable=True),
        sa.Column("last_rotated_at", _TS, nullable=True),
        sa.Column("last_changed_at", _TS, nullable=False),
        sa.Column("last_accessed_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("deleted_at", _TS, nullable=True),
        sa.Column("deletion_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name="fk_secretsmanager_secrets_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("arn", name="pk_secretsmanager_secrets"),
        sa.UniqueConstraint(
            "account_id",
            "region",
            "name",
            name="uq_secretsmanager_secrets_account_id_region_name",
        ),
    )
    op.create_index(
        "ix_secretsmanager_secrets_next_rotation_at",
        "secretsmanager_secrets",
        ["next_rotation_at"],
        unique=False,
    )
    op.create_index(
        "ix_secretsmanager_secrets_deletion_at",
        "secretsmanager_secrets",
        ["deletion_at"],
        unique=False,
    )
    op.create_table(
        "secretsmanager_versions",
        sa.Column("secret_arn", sa.String(), nullable=False),
        sa.Column("version_id", sa.String(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("value_kind", sa.String(), nullable=True),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("data_key", sa.LargeBinary(), nullable=True),
        sa.Column("kms_key_arn", sa.String(), nullable=True),
        sa.Column("kms_key_label", sa.String(), nullable=True),
        sa.Column("last_accessed_at", _TS, nullable=True),
        sa.CheckConstraint(
            "value_kind IN ('string', 'binary')", name="ck_secretsmanager_versions_value_kind"
        ),
        sa.ForeignKeyConstraint(
            ["secret_arn"],
            ["secretsmanager_secrets.arn"],
            name="fk_secretsmanager_versions_secret_arn_secretsmanager_secrets",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("secret_arn", "version_id", name="pk_secretsmanager_versions"),
    )
    op.create_table(
        "secretsmanager_stages",
        sa.Column("secret_arn", sa.String(), nullable=False),
        sa.Column("stage", sa.String(), nullable=False),
        sa.Column("version_id", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["secret_arn", "version_id"],
            ["secretsmanager_versions.secret_arn", "secretsmanager_versions.version_id"],
            name="fk_secretsmanager_stages_secret_arn_secretsmanager_versions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("secret_arn", "stage", name="pk_secretsmanager_stages"),
    )


def downgrade() -> None:
    op.drop_table("secretsmanager_stages")
    op.drop_table("secretsmanager_versions")
    op.drop_index("ix_secretsmanager_secrets_deletion_at", table_name="secretsmanager_secrets")
    op.drop_index("ix_secretsmanager_secrets_next_rotation_at", table_name="secretsmanager_secrets")
    op.drop_table("secretsmanager_secrets")
