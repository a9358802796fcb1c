"""RDS DB cluster snapshots and their attributes, and restores waiting on a snapshot.

Frozen once released: later schema changes are new revisions. Every name is spelt out.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rds_cluster_snapshots",
        sa.Column("snapshot_id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("region", sa.String(), nullable=False),
        sa.Column("identifier", sa.String(), nullable=False),
        sa.Column("arn", sa.String(), nullable=False),
        sa.Column("snapshot_type", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("cluster_identifier", sa.String(), nullable=False),
        sa.Column("cluster_resource_id", sa.String(), nullable=False),
        sa.Column("cluster_created_at", _TS, nullable=False),
        sa.Column("source_snapshot_id", sa.String(), nullable=True),
        sa.Column("source_arn", sa.String(), nullable=True),
        sa.Column("engine", sa.String(), nullable=False),
        sa.Column("engine_version", sa.String(), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("master_username", sa.String(), nullable=False),
        sa.Column("master_password", sa.LargeBinary(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("storage_encrypted", sa.Boolean(), nullable=False),
        sa.Column("kms_key_id", sa.String(), nullable=True),
        sa.Column("data_key", sa.LargeBinary(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("restore_accounts", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("tags", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name="fk_rds_cluster_snapshots_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("snapshot_id", name="pk_rds_cluster_snapshots"),
        sa.UniqueConstraint(
            "account_id",
            "region",
            "identifier",
            name="uq_rds_cluster_snapshots_account_id_region_identifier",
        ),
        sa.UniqueConstraint("arn", name="uq_rds_cluster_snapshots_arn"),
    )
    op.create_index(
        "ix_rds_cluster_snapshots_cluster_resource_id",
        "rds_cluster_snapshots",
        ["cluster_resource_id"],
        unique=False,
    )
    op.create_table(
        "rds_cluster_restores",
        sa.Column("cluster_id", sa.String(), nullable=False),
        sa.Column("snapshot_id", sa.String(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["rds_clusters.resource_id"],
            name="fk_rds_cluster_restores_cluster_id_rds_clusters",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["rds_cluster_snapshots.snapshot_id"],
            name="fk_rds_cluster_restores_snapshot_id_rds_cluster_snapshots",
        ),
        sa.PrimaryKeyConstraint("cluster_id", name="pk_rds_cluster_restores"),
    )
    op.create_index(
        "ix_rds_cluster_restores_snapshot_id",
        "rds_cluster_restores",
        ["snapshot_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_rds_cluster_restores_snapshot_id", table_name="rds_cluster_restores")
    op.drop_table("rds_cluster_restores")
    op.drop_index(
        "ix_rds_cluster_snapshots_cluster_resource_id", table_name="rds_cluster_snapshots"
    )
    op.drop_table("rds_cluster_snapshots")
