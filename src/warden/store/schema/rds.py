"""EC2 security groups and RDS clusters, instances and events."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from .core import account_fk, json_list, metadata, ts

# EC2 security groups (the default VPC of each account and region) and their ingress rules.
# A rule is one (protocol, port range, CIDR) triple; "-1" (all protocols) stores ports -1..-1.
ec2_security_groups = sa.Table(
    "ec2_security_groups",
    metadata,
    sa.Column("group_id", sa.String(), primary_key=True),
    account_fk(),
    sa.Column("region", sa.String(), nullable=False),
    sa.Column("vpc_id", sa.String(), nullable=False),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("description", sa.String(), nullable=False),
    sa.Column("is_default", sa.Boolean(), nullable=False),
    json_list("tags"),
    ts("created_at"),
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
    ts("created_at"),
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
    account_fk(),
    sa.Column("region", sa.String(), nullable=False),
    sa.Column("identifier", sa.String(), nullable=False),
    sa.Column("arn", sa.String(), nullable=False, unique=True),
    sa.Column("engine", sa.String(), nullable=False),
    sa.Column("engine_version", sa.String(), nullable=False),
    sa.Column("status", sa.String(), nullable=False),
    *_volume_columns(nullable=False),
    json_list("tags"),
    ts("created_at"),
    # ManageMasterUserPassword: the Secrets Manager secret holding the master password
    # (name NULL: not managed; ARN NULL until the secret exists).
    sa.Column("master_secret_name", sa.String(), nullable=True),
    sa.Column("master_secret_kms_key_id", sa.String(), nullable=True),
    sa.Column("master_secret_arn", sa.String(), nullable=True, index=True, unique=True),
    sa.UniqueConstraint("account_id", "region", "identifier"),
)

rds_instances = sa.Table(
    "rds_instances",
    metadata,
    sa.Column("resource_id", sa.String(), primary_key=True),
    account_fk(),
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
    json_list("tags"),
    ts("created_at"),
    sa.UniqueConstraint("account_id", "region", "identifier"),
)

rds_events = sa.Table(
    "rds_events",
    metadata,
    sa.Column("event_id", sa.String(), primary_key=True),
    account_fk(),
    sa.Column("region", sa.String(), nullable=False),
    sa.Column("source_type", sa.String(), nullable=False),
    sa.Column("source_id", sa.String(), nullable=False),
    sa.Column("source_arn", sa.String(), nullable=False),
    sa.Column("message", sa.Text(), nullable=False),
    json_list("categories"),
    ts("created_at", index=True),
)
