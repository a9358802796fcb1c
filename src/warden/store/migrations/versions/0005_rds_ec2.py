"""RDS and EC2: security groups and their ingress rules, DB clusters, DB instances, RDS events.

Frozen: this file must never change once released; later schema changes are new revisions.
Every name is spelt out (not derived from a naming convention) so the DDL is the same whatever
schema.py later becomes.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def _account(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["account_id"],
        ["accounts.account_id"],
        name=f"fk_{table}_account_id_accounts",
        ondelete="CASCADE",
    )


def _volume(nullable: bool) -> list[sa.Column[object]]:
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


def upgrade() -> None:
    op.create_table(
        "ec2_security_groups",
        sa.Column("group_id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("region", sa.String(), nullable=False),
        sa.Column("vpc_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("tags", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        _account("ec2_security_groups"),
        sa.PrimaryKeyConstraint("group_id", name="pk_ec2_security_groups"),
        sa.UniqueConstraint(
            "account_id",
            "region",
            "vpc_id",
            "name",
            name="uq_ec2_security_groups_account_id_region_vpc_id_name",
        ),
    )
    op.create_table(
        "ec2_sg_rules",
        sa.Column("rule_id", sa.String(), nullable=False),
        sa.Column("group_id", sa.String(), nullable=False),
        sa.Column("protocol", sa.String(), nullable=False),
        sa.Column("from_port", sa.Integer(), nullable=False),
        sa.Column("to_port", sa.Integer(), nullable=False),
        sa.Column("cidr", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["ec2_security_groups.group_id"],
            name="fk_ec2_sg_rules_group_id_ec2_security_groups",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rule_id", name="pk_ec2_sg_rules"),
        sa.UniqueConstraint(
            "group_id",
            "protocol",
            "from_port",
            "to_port",
            "cidr",
            name="uq_ec2_sg_rules_group_id_protocol_from_port_to_port_cidr",
        ),
    )
    op.create_index(
        "ix_ec2_sg_rules_group_id",
        "ec2_sg_rules",
        ["group_id"],
        unique=False,
    )
    op.create_table(
        "rds_clusters",
        sa.Column("resource_id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("region", sa.String(), nullable=False),
        sa.Column("identifier", sa.String(), nullable=False),
        sa.Column("arn", sa.String(), nullable=False),
        sa.Column("engine", sa.String(), nullable=False),
        sa.Column("engine_version", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        *_volume(nullable=False),
        sa.Column("tags", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        _account("rds_clusters"),
        sa.PrimaryKeyConstraint("resource_id", name="pk_rds_clusters"),
        sa.UniqueConstraint(
            "account_id",
            "region",
            "identifier",
            name="uq_rds_clusters_account_id_region_identifier",
        ),
        sa.UniqueConstraint("arn", name="uq_rds_clusters_arn"),
    )
    op.create_table(
        "rds_instances",
        sa.Column("resource_id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("region", sa.String(), nullable=False),
        sa.Column("identifier", sa.String(), nullable=False),
        sa.Column("arn", sa.String(), nullable=False),
        sa.Column("cluster_id", sa.String(), nullable=True),
        sa.Column("engine", sa.String(), nullable=False),
        sa.Column("engine_version", sa.String(), nullable=False),
        sa.Column("instance_class", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        *_volume(nullable=True),
        sa.Column("tags", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        _account("rds_instances"),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["rds_clusters.resource_id"],
            name="fk_rds_instances_cluster_id_rds_clusters",
        ),
        sa.PrimaryKeyConstraint("resource_id", name="pk_rds_instances"),
        sa.UniqueConstraint(
            "account_id",
            "region",
            "identifier",
            name="uq_rds_instances_account_id_region_identifier",
        ),
        sa.UniqueConstraint("arn", name="uq_rds_instances_arn"),
    )
    op.create_index("ix_rds_instances_cluster_id", "rds_instances", ["cluster_id"], unique=False)
    op.create_table(
        "rds_events",
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("region", sa.String(), nullable=False),
        sa.Column("source_type", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("source_arn", sa.String(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("categories", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        _account("rds_events"),
        sa.PrimaryKeyConstraint("event_id", name="pk_rds_events"),
    )
    op.create_index("ix_rds_events_created_at", "rds_events", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_rds_events_created_at", table_name="rds_events")
    op.drop_table("rds_events")
    op.drop_index("ix_rds_instances_cluster_id", table_name="rds_instances")
    op.drop_table("rds_instances")
    op.drop_table("rds_clusters")
    op.drop_index("ix_ec2_sg_rules_group_id", table_name="ec2_sg_rules")
    op.drop_table("ec2_sg_rules")
    op.drop_table("ec2_security_groups")
