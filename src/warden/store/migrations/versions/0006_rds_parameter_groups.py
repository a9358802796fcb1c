"""RDS DB cluster and DB parameter groups and their parameters; each instance's applied state.

Frozen once released: later schema changes are new revisions. Every name is spelt out.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def _group_table(table: str) -> None:
    op.create_table(
        table,
        sa.Column("arn", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("region", sa.String(), nullable=False),
        sa.Column("identifier", sa.String(), nullable=False),
        sa.Column("family", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=f"fk_{table}_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("arn", name=f"pk_{table}"),
        sa.UniqueConstraint(
            "account_id",
            "region",
            "identifier",
            name=f"uq_{table}_account_id_region_identifier",
        ),
    )


def upgrade() -> None:
    _group_table("rds_cluster_parameter_groups")
    _group_table("rds_db_parameter_groups")
    op.create_table(
        "rds_parameter_apply",
        sa.Column("instance_id", sa.String(), nullable=False),
        sa.Column("boot_groups", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("boot_values", sa.JSON(), nullable=False),
        sa.Column("configured", sa.String(), nullable=False),
        sa.Column("pending", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("failed", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["rds_instances.resource_id"],
            name="fk_rds_parameter_apply_instance_id_rds_instances",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance_id", name="pk_rds_parameter_apply"),
    )


def downgrade() -> None:
    op.drop_table("rds_parameter_apply")
    op.drop_table("rds_db_parameter_groups")
    op.drop_table("rds_cluster_parameter_groups")
