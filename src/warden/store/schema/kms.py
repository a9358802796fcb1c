"""KMS tables: keys, aliases, sealed key material, rotations."""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa

from .core import account_fk, json_list, metadata, one_of, ts


class KmsKeyState(StrEnum):
    ENABLED = "Enabled"
    DISABLED = "Disabled"
    PENDING_DELETION = "PendingDeletion"


class KmsKeyManager(StrEnum):
    CUSTOMER = "CUSTOMER"
    AWS = "AWS"


class KmsRotationType(StrEnum):
    AUTOMATIC = "AUTOMATIC"
    ON_DEMAND = "ON_DEMAND"


# KMS keys: metadata only. The key material lives behind services/kms/keystore.py (by default
# sealed in kms_key_material); current_material_version names the version new ciphertexts use.
kms_keys = sa.Table(
    "kms_keys",
    metadata,
    sa.Column("key_id", sa.String(), primary_key=True),
    account_fk(),
    sa.Column("region", sa.String(), nullable=False),
    sa.Column("arn", sa.String(), nullable=False, unique=True),
    sa.Column("description", sa.Text(), nullable=False, default="", server_default=""),
    sa.Column("state", sa.String(), nullable=False),
    sa.Column("key_manager", sa.String(), nullable=False),
    sa.Column("key_usage", sa.String(), nullable=False),
    sa.Column("key_spec", sa.String(), nullable=False),
    ts("created_at"),
    ts("deletion_date", nullable=True, index=True),
    sa.Column("policy", sa.Text(), nullable=False),
    json_list("tags"),
    sa.Column(
        "rotation_enabled", sa.Boolean(), nullable=False, default=False, server_default=sa.false()
    ),
    sa.Column("rotation_period_days", sa.Integer(), nullable=True),
    ts("next_rotation_date", nullable=True, index=True),
    sa.Column("current_material_version", sa.Integer(), nullable=False),
    one_of("state", KmsKeyState, "state"),
    one_of("key_manager", KmsKeyManager, "key_manager"),
    sa.Index("ix_kms_keys_account_id_region", "account_id", "region"),
)

kms_aliases = sa.Table(
    "kms_aliases",
    metadata,
    sa.Column(
        "account_id",
        sa.String(12),
        sa.ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("region", sa.String(), primary_key=True),
    sa.Column("alias_name", sa.String(), primary_key=True),
    sa.Column(
        "key_id",
        sa.String(),
        sa.ForeignKey("kms_keys.key_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    ts("created_at"),
    ts("updated_at"),
)

# Sealed key material, one row per (key, version); AAD binds each row to its key id and version.
# No foreign key: material is written before the key row that uses it (see keystore.py).
kms_key_material = sa.Table(
    "kms_key_material",
    metadata,
    sa.Column("key_id", sa.String(), primary_key=True),
    sa.Column("version", sa.Integer(), primary_key=True),
    sa.Column("sealed_material", sa.LargeBinary(), nullable=False),
    ts("created_at"),
)

# Completed rotations (ListKeyRotations): the material version each one made current.
kms_key_rotations = sa.Table(
    "kms_key_rotations",
    metadata,
    sa.Column(
        "key_id",
        sa.String(),
        sa.ForeignKey("kms_keys.key_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("version", sa.Integer(), primary_key=True),
    sa.Column("rotation_type", sa.String(), nullable=False),
    ts("rotated_at"),
    one_of("rotation_type", KmsRotationType, "rotation_type"),
)
