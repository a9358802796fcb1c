"""Secrets Manager tables: secrets, versions (ciphertext only), staging labels."""

from __future__ import annotations

import sqlalchemy as sa

from .core import account_fk, metadata, ts

# Secrets Manager. Versions hold only ciphertexts: the value sealed under a per-version data key
# and that data key sealed by KMS. A version without a value is the placeholder RotateSecret
# stages as AWSPENDING. A staging label is a row keyed by (secret, label), so it is attached to
# one version at most. ``tags`` is NULL until the secret is first tagged (AWS then lists []).
secretsmanager_secrets = sa.Table(
    "secretsmanager_secrets",
    metadata,
    sa.Column("arn", sa.String(), primary_key=True),
    account_fk(),
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
    ts("next_rotation_at", nullable=True, index=True),
    ts("last_rotated_at", nullable=True),
    ts("last_changed_at"),
    ts("last_accessed_at", nullable=True),
    ts("created_at"),
    ts("deleted_at", nullable=True),
    ts("deletion_at", nullable=True, index=True),
    sa.UniqueConstraint("account_id", "region", "name"),
)

secretsmanager_versions = sa.Table(
    "secretsmanager_versions",
    metadata,
    sa.Column(
        "secret_arn",
        sa.String(),
        sa.ForeignKey("secretsmanager_secrets.arn", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("version_id", sa.String(), primary_key=True),
    ts("created_at"),
    sa.Column("value_kind", sa.String(), nullable=True),
    sa.Column("ciphertext", sa.LargeBinary(), nullable=True),
    sa.Column("data_key", sa.LargeBinary(), nullable=True),
    sa.Column("kms_key_arn", sa.String(), nullable=True),
    sa.Column("kms_key_label", sa.String(), nullable=True),
    ts("last_accessed_at", nullable=True),
    sa.CheckConstraint("value_kind IN ('string', 'binary')", name="value_kind"),
)

secretsmanager_stages = sa.Table(
    "secretsmanager_stages",
    metadata,
    sa.Column("secret_arn", sa.String(), primary_key=True),
    sa.Column("stage", sa.String(), primary_key=True),
    sa.Column("version_id", sa.String(), nullable=False),
    sa.ForeignKeyConstraint(
        ["secret_arn", "version_id"],
        ["secretsmanager_versions.secret_arn", "secretsmanager_versions.version_id"],
        ondelete="CASCADE",
    ),
)
