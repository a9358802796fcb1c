"""RDS-managed master user secrets: the Secrets Manager secret of each DB cluster whose
master password RDS manages (ManageMasterUserPassword).

Frozen once released: later schema changes are new revisions. Every name is spelt out.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Nullable columns without defaults: SQLite adds them in place (no table rebuild).
    with op.batch_alter_table("rds_clusters") as batch:
        batch.add_column(sa.Column("master_secret_name", sa.String(), nullable=True))
        batch.add_column(sa.Column("master_secret_kms_key_id", sa.String(), nullable=True))
        batch.add_column(sa.Column("master_secret_arn", sa.String(), nullable=True))
    op.create_index(
        "ix_rds_clusters_master_secret_arn",
        "rds_clusters",
        ["master_secret_arn"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("ix_rds_clusters_master_secret_arn", table_name="rds_clusters")
    with op.batch_alter_table("rds_clusters") as batch:
        batch.drop_column("master_secret_arn")
        batch.drop_column("master_secret_kms_key_id")
        batch.drop_column("master_secret_name")
