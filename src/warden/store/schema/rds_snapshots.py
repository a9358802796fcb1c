"""RDS DB cluster snapshots and their attributes, and the restores waiting on them.

A snapshot row describes one encrypted file in ``<rds root>/snapshots`` (named by
``snapshot_id``, never by the identifier): what the cluster was when it was taken, and the
wrapped data key the file is sealed with (a KMS ciphertext blob when the cluster was
``StorageEncrypted``, else sealed by the key ring). ``restore_accounts`` is the ``restore``
attribute (account ids, or ``all``: public). A restore row says a new cluster's volume is
still to be filled from a snapshot; it goes with the cluster.
"""

from __future__ import annotations

import sqlalchemy as sa

from .core import account_fk, json_list, metadata, ts

rds_cluster_snapshots = sa.Table(
    "rds_cluster_snapshots",
    metadata,
    sa.Column("snapshot_id", sa.String(), primary_key=True),
    account_fk(),
    sa.Column("region", sa.String(), nullable=False),
    sa.Column("identifier", sa.String(), nullable=False),
    sa.Column("arn", sa.String(), nullable=False, unique=True),
    sa.Column("snapshot_type", sa.String(), nullable=False),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("final", sa.Boolean(), nullable=False),
    sa.Column("cluster_identifier", sa.String(), nullable=False),
    sa.Column("cluster_resource_id", sa.String(), nullable=False, index=True),
    ts("cluster_created_at"),
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
    json_list("restore_accounts"),
    json_list("tags"),
    ts("created_at"),
    sa.UniqueConstraint("account_id", "region", "identifier"),
)

rds_cluster_restores = sa.Table(
    "rds_cluster_restores",
    metadata,
    sa.Column(
        "cluster_id",
        sa.String(),
        sa.ForeignKey("rds_clusters.resource_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "snapshot_id",
        sa.String(),
        sa.ForeignKey("rds_cluster_snapshots.snapshot_id"),
        nullable=False,
        index=True,
    ),
    ts("created_at"),
)
