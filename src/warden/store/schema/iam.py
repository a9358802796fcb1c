"""IAM and STS tables: users, groups, policies, access keys, sessions, roles, logins, MFA."""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa

from .core import account_fk, json_list, metadata, one_of, ts


class PrincipalType(StrEnum):
    USER = "user"
    GROUP = "group"
    ROLE = "role"


class AccessKeyStatus(StrEnum):
    ACTIVE = "Active"
    INACTIVE = "Inactive"


iam_users = sa.Table(
    "iam_users",
    metadata,
    sa.Column("user_id", sa.String(), primary_key=True),
    account_fk(),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("name_lower", sa.String(), nullable=False),
    sa.Column("path", sa.String(), nullable=False),
    sa.Column("arn", sa.String(), nullable=False, unique=True),
    ts("created_at"),
    sa.Column("permissions_boundary_arn", sa.String(), nullable=True),
    json_list("tags"),
    ts("password_last_used", nullable=True),
    sa.UniqueConstraint("account_id", "name_lower"),
)

iam_groups = sa.Table(
    "iam_groups",
    metadata,
    sa.Column("group_id", sa.String(), primary_key=True),
    account_fk(),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("name_lower", sa.String(), nullable=False),
    sa.Column("path", sa.String(), nullable=False),
    sa.Column("arn", sa.String(), nullable=False, unique=True),
    ts("created_at"),
    sa.UniqueConstraint("account_id", "name_lower"),
)

iam_group_members = sa.Table(
    "iam_group_members",
    metadata,
    sa.Column(
        "group_id",
        sa.String(),
        sa.ForeignKey("iam_groups.group_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "user_id",
        sa.String(),
        sa.ForeignKey("iam_users.user_id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)

iam_managed_policies = sa.Table(
    "iam_managed_policies",
    metadata,
    sa.Column("policy_id", sa.String(), primary_key=True),
    account_fk(),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("path", sa.String(), nullable=False),
    sa.Column("arn", sa.String(), nullable=False, unique=True),
    sa.Column("default_version_id", sa.String(), nullable=False),
    sa.Column("description", sa.String(), nullable=True),
    ts("created_at"),
    ts("updated_at"),
    sa.Column("attachment_count", sa.Integer(), nullable=False, default=0, server_default="0"),
    sa.Column(
        "is_attachable", sa.Boolean(), nullable=False, default=True, server_default=sa.true()
    ),
    sa.Column(
        "permissions_boundary_usage_count",
        sa.Integer(),
        nullable=False,
        default=0,
        server_default="0",
    ),
    # The number the next version gets: AWS never reuses a deleted version's id, and policy
    # caches key on (ARN, version id), so a reused id could serve a stale document.
    sa.Column("next_version", sa.Integer(), nullable=False, default=2, server_default="2"),
    json_list("tags"),
    sa.UniqueConstraint("account_id", "name"),
)

iam_policy_versions = sa.Table(
    "iam_policy_versions",
    metadata,
    sa.Column(
        "policy_arn",
        sa.String(),
        sa.ForeignKey("iam_managed_policies.arn", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("version_id", sa.String(), primary_key=True),
    sa.Column("document", sa.Text(), nullable=False),
    ts("created_at"),
)

# policy_arn may name an AWS-managed policy that has no row here, hence no foreign key on it.
iam_attachments = sa.Table(
    "iam_attachments",
    metadata,
    account_fk(),
    sa.Column("principal_type", sa.String(), primary_key=True),
    sa.Column("principal_id", sa.String(), primary_key=True),
    sa.Column("policy_arn", sa.String(), primary_key=True, index=True),
    one_of("principal_type", PrincipalType, "principal_type"),
)

iam_inline_policies = sa.Table(
    "iam_inline_policies",
    metadata,
    account_fk(),
    sa.Column("principal_type", sa.String(), primary_key=True),
    sa.Column("principal_id", sa.String(), primary_key=True),
    sa.Column("policy_name", sa.String(), primary_key=True),
    sa.Column("document", sa.Text(), nullable=False),
    one_of("principal_type", PrincipalType, "principal_type"),
)

# No cascade from iam_users: AWS refuses DeleteUser while the user still has access keys.
access_keys = sa.Table(
    "access_keys",
    metadata,
    sa.Column("access_key_id", sa.String(), primary_key=True),
    account_fk(),
    sa.Column(
        "user_id", sa.String(), sa.ForeignKey("iam_users.user_id"), nullable=True, index=True
    ),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=False),
    ts("created_at"),
    ts("last_used_at", nullable=True),
    sa.Column("last_used_service", sa.String(), nullable=True),
    sa.Column("last_used_region", sa.String(), nullable=True),
    one_of("status", AccessKeyStatus, "status"),
)

sts_credentials = sa.Table(
    "sts_credentials",
    metadata,
    sa.Column("access_key_id", sa.String(), primary_key=True),
    account_fk(),
    sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=False),
    sa.Column("token_digest", sa.LargeBinary(), nullable=False),
    sa.Column("principal_arn", sa.String(), nullable=False),
    sa.Column("principal_type", sa.String(), nullable=False),
    sa.Column("source_user_id", sa.String(), nullable=True),
    sa.Column("role_id", sa.String(), nullable=True),
    sa.Column("session_name", sa.String(), nullable=True),
    sa.Column("mfa_authenticated", sa.Boolean(), nullable=False, default=False),
    ts("mfa_auth_time", nullable=True),
    sa.Column("session_policy", sa.Text(), nullable=True),
    json_list("tags"),
    ts("issued_at"),
    ts("expires_at", index=True),
)


iam_roles = sa.Table(
    "iam_roles",
    metadata,
    sa.Column("role_id", sa.String(), primary_key=True),
    account_fk(),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("name_lower", sa.String(), nullable=False),
    sa.Column("path", sa.String(), nullable=False),
    sa.Column("arn", sa.String(), nullable=False, unique=True),
    sa.Column("assume_role_policy", sa.Text(), nullable=False),
    sa.Column("description", sa.String(), nullable=True),
    sa.Column(
        "max_session_duration", sa.Integer(), nullable=False, default=3600, server_default="3600"
    ),
    sa.Column("permissions_boundary_arn", sa.String(), nullable=True),
    json_list("tags"),
    ts("created_at"),
    ts("last_used_at", nullable=True),
    sa.Column("last_used_region", sa.String(), nullable=True),
    sa.UniqueConstraint("account_id", "name_lower"),
)

# The console password: only its scrypt hash (services/iam/passwords.py) is ever stored.
iam_login_profiles = sa.Table(
    "iam_login_profiles",
    metadata,
    sa.Column(
        "user_id",
        sa.String(),
        sa.ForeignKey("iam_users.user_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("password_hash", sa.String(), nullable=False),
    sa.Column(
        "password_reset_required",
        sa.Boolean(),
        nullable=False,
        default=False,
        server_default=sa.false(),
    ),
    ts("created_at"),
    ts("password_last_changed"),
)

# The account password policy as UpdateAccountPasswordPolicy's members; no row means none set.
iam_password_policies = sa.Table(
    "iam_password_policies",
    metadata,
    sa.Column(
        "account_id",
        sa.String(12),
        sa.ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("policy", sa.JSON(), nullable=False),
)

# Virtual MFA devices. The TOTP seed is sealed by the key ring, never stored in plaintext;
# last_counter is the newest TOTP time step accepted, so a code cannot be replayed. No cascade
# from iam_users: AWS refuses DeleteUser while an MFA device is still assigned.
iam_mfa_devices = sa.Table(
    "iam_mfa_devices",
    metadata,
    sa.Column("serial_number", sa.String(), primary_key=True),
    account_fk(),
    sa.Column(
        "user_id", sa.String(), sa.ForeignKey("iam_users.user_id"), nullable=True, index=True
    ),
    sa.Column("seed_ciphertext", sa.LargeBinary(), nullable=False),
    ts("enabled_at", nullable=True),
    ts("created_at"),
    json_list("tags"),
    sa.Column("last_counter", sa.Integer(), nullable=False, default=0, server_default="0"),
)

iam_credential_reports = sa.Table(
    "iam_credential_reports",
    metadata,
    sa.Column(
        "account_id",
        sa.String(12),
        sa.ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    ts("generated_at"),
    sa.Column("content", sa.LargeBinary(), nullable=False),
)
