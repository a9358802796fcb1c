"""The control-plane schema: every table warden persists, as SQLAlchemy Core metadata, one
module per service over shared parts (``core``).

Invariants:
- This module is the current schema; every change to it ships with an Alembic migration in
  ``migrations/versions`` and a test proves the migrated database and this metadata agree.
- Timestamps are timezone-aware and stored in UTC (``UtcDateTime``): PostgreSQL keeps
  ``timestamptz``, SQLite keeps fixed-width UTC text that sorts chronologically.
- Secrets are stored only as ciphertext (``LargeBinary``); session tokens only as a SHA-256 digest.
- IAM names are unique per account regardless of case: ``name_lower`` carries that constraint.
- Every constraint and index has a deterministic name (``NAMING``), the same on both backends.
"""

from __future__ import annotations

# Modules whose tables are reached through their own module (they register on ``metadata``).
from . import rds_parameter_groups as rds_parameter_groups
from . import rds_snapshots as rds_snapshots
from .core import (
    NAMING,
    AuditDecision,
    JobState,
    UtcDateTime,
    accounts,
    audit_events,
    audit_resources,
    jobs,
    metadata,
    settings,
)
from .iam import (
    AccessKeyStatus,
    PrincipalType,
    access_keys,
    iam_attachments,
    iam_credential_reports,
    iam_group_members,
    iam_groups,
    iam_inline_policies,
    iam_login_profiles,
    iam_managed_policies,
    iam_mfa_devices,
    iam_password_policies,
    iam_policy_versions,
    iam_roles,
    iam_users,
    sts_credentials,
)
from .kms import (
    KmsKeyManager,
    KmsKeyState,
    KmsRotationType,
    kms_aliases,
    kms_key_material,
    kms_key_rotations,
    kms_keys,
)
from .rds import (
    ec2_security_groups,
    ec2_sg_rules,
    rds_clusters,
    rds_events,
    rds_instances,
)
from .secretsmanager import (
    secretsmanager_secrets,
    secretsmanager_stages,
    secretsmanager_versions,
)

__all__ = [
    "NAMING",
    "AccessKeyStatus",
    "AuditDecision",
    "JobState",
    "KmsKeyManager",
    "KmsKeyState",
    "KmsRotationType",
    "PrincipalType",
    "UtcDateTime",
    "access_keys",
    "accounts",
    "audit_events",
    "audit_resources",
    "ec2_security_groups",
    "ec2_sg_rules",
    "iam_attachments",
    "iam_credential_reports",
    "iam_group_members",
    "iam_groups",
    "iam_inline_policies",
    "iam_login_profiles",
    "iam_managed_policies",
    "iam_mfa_devices",
    "iam_password_policies",
    "iam_policy_versions",
    "iam_roles",
    "iam_users",
    "jobs",
    "kms_aliases",
    "kms_key_material",
    "kms_key_rotations",
    "kms_keys",
    "metadata",
    "rds_clusters",
    "rds_events",
    "rds_instances",
    "secretsmanager_secrets",
    "secretsmanager_stages",
    "secretsmanager_versions",
    "settings",
    "sts_credentials",
]
