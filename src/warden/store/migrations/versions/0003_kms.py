"""KMS: keys, aliases, sealed key material (every version kept) and completed rotations.

Frozen: this file must never change once released; later schema changes are new revisions.
Every name is spelt out (not derived from a naming convention) so the DDL is the same whatever
schema.py later becomes.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "kms_keys",
        sa.Column("key_id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("region", sa.String(), nullable=False),
        sa.Column("arn", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("key_manager", sa.String(), nullable=False),
        sa.Column("key_usage", sa.String(), nullable=False),
        sa.Column("key_spec", sa.String(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("deletion_date", _TS, nullable=True),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("rotation_enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("rotation_period_days", sa.Integer(), nullable=True),
        sa.Column("next_rotation_date", _TS, nullable=True),
        sa.Column("current_material_version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "state IN ('Enabled', 'Disabled', 'PendingDeletion')", name="ck_kms_keys_state"
        ),
        sa.CheckConstraint("key_manager IN ('CUSTOMER', 'AWS')", name="ck_kms_keys_key_manager"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name="fk_kms_keys_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key_id", name="pk_kms_keys"),
        sa.UniqueConstraint("arn", name="uq_kms_keys_arn"),
    )
    op.create_index("ix_kms_keys_deletion_date", "kms_keys", ["deletion_date"], unique=False)
    op.create_index(
        "ix_kms_keys_next_rotation_date", "kms_keys", ["next_rotation_date"], unique=False
    )
    op.create_index(
        "ix_kms_keys_account_id_region", "kms_keys", ["account_id", "region"], unique=False
    )
    op.create_table(
        "kms_aliases",
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("region", sa.String(), nullable=False),
        sa.Column("alias_name", sa.String(), nullable=False),
        sa.Column("key_id", sa.String(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name="fk_kms_aliases_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["kms_keys.key_id"],
            name="fk_kms_aliases_key_id_kms_keys",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "region", "alias_name", name="pk_kms_aliases"),
    )
    op.create_index("ix_kms_aliases_key_id", "kms_aliases", ["key_id"], unique=False)
    op.create_table(
        "kms_key_material",
        sa.Column("key_id", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sealed_material", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("key_id", "version", name="pk_kms_key_material"),
    )
    op.create_table(
        "kms_key_rotations",
        sa.Column("key_id", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rotation_type", sa.String(), nullable=False),
        sa.Column("rotated_at", _TS, nullable=False),
        sa.CheckConstraint(
            "rotation_type IN ('AUTOMATIC', 'ON_DEMAND')",
            name="ck_kms_key_rotations_rotation_type",
        ),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["kms_keys.key_id"],
            name="fk_kms_key_rotations_key_id_kms_keys",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key_id", "version", name="pk_kms_key_rotations"),
    )


def downgrade() -> None:
    op.drop_table("kms_key_rotations")
    op.drop_table("kms_key_material")
    op.drop_index("ix_kms_aliases_key_id", table_name="kms_aliases")
    op.drop_table("kms_aliases")
    op.drop_index("ix_kms_keys_account_id_region", table_name="kms_keys")
    op.drop_index("ix_kms_keys_next_rotation_date", table_name="kms_keys")
    op.drop_index("ix_kms_keys_deletion_date", table_name="kms_keys")
    op.drop_table("kms_keys")
