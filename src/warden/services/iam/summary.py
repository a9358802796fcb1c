"""GetAccountSummary: the account's IAM usage and quotas, under AWS's SummaryMap keys.

Counts come from one read snapshot; quotas are the ones warden enforces (the AWS
defaults) and, for entities warden does not serve (server certificates, instance
profiles, identity providers), AWS's defaults with a usage of zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from warden.policy.validate import SIZE_LIMITS, PolicyKind
from warden.services.context import CallContext
from warden.store.db import Store
from warden.store.schema import (
    access_keys,
    iam_attachments,
    iam_groups,
    iam_managed_policies,
    iam_mfa_devices,
    iam_roles,
    iam_users,
)

from .catalog import MAX_VERSIONS
from .entities import MAX_ATTACHED, count
from .groups import MAX_GROUPS, MAX_GROUPS_PER_USER
from .keys import MAX_KEYS
from .policies import MAX_POLICIES
from .roles import MAX_ROLES
from .users import MAX_USERS

_QUOTAS: Mapping[str, int] = {
    "UsersQuota": MAX_USERS,
    "GroupsQuota": MAX_GROUPS,
    "RolesQuota": MAX_ROLES,
    "PoliciesQuota": MAX_POLICIES,
    "PolicySizeQuota": SIZE_LIMITS[PolicyKind.MANAGED],
    "UserPolicySizeQuota": SIZE_LIMITS[PolicyKind.INLINE_USER],
    "GroupPolicySizeQuota": SIZE_LIMITS[PolicyKind.INLINE_GROUP],
    "RolePolicySizeQuota": SIZE_LIMITS[PolicyKind.INLINE_ROLE],
    "AssumeRolePolicySizeQuota": SIZE_LIMITS[PolicyKind.TRUST],
    "GroupsPerUserQuota": MAX_GROUPS_PER_USER,
    "AccessKeysPerUserQuota": MAX_KEYS,
    "SigningCertificatesPerUserQuota": 2,
    "AttachedPoliciesPerUserQuota": MAX_ATTACHED,
    "AttachedPoliciesPerGroupQuota": MAX_ATTACHED,
    "AttachedPoliciesPerRoleQuota": MAX_ATTACHED,
    "VersionsPerPolicyQuota": MAX_VERSIONS,
    "PolicyVersionsInUseQuota": 10000,
    "ServerCertificatesQuota": 20,
    "InstanceProfilesQuota": 1000,
    "ServerCertificates": 0,
    "InstanceProfiles": 0,
    "Providers": 0,
    "AccountSigningCertificatesPresent": 0,
    "GlobalEndpointTokenVersion": 1,
}


class Summary:
    def __init__(self, store: Store) -> None:
        self._store = store

    def get_account_summary(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        account = ctx.account_id
        mfa = iam_mfa_devices.c
        with self._store.read() as conn:
            in_use = conn.execute(
                sa.select(sa.func.count(sa.distinct(iam_attachments.c.policy_arn))).where(
                    iam_attachments.c.account_id == account
                )
            ).scalar_one()
            found = {
                "Users": count(conn, iam_users, iam_users.c.account_id == account),
                "Groups": count(conn, iam_groups, iam_groups.c.account_id == account),
                "Roles": count(conn, iam_roles, iam_roles.c.account_id == account),
                "Policies": count(
                    conn, iam_managed_policies, iam_managed_policies.c.account_id == account
                ),
                "PolicyVersionsInUse": int(in_use),
                "MFADevices": count(conn, iam_mfa_devices, mfa.account_id == account),
                "MFADevicesInUse": count(
                    conn, iam_mfa_devices, mfa.account_id == account, mfa.enabled_at.is_not(None)
                ),
                # Root's own MFA device and keys are the ones without a user.
                "AccountMFAEnabled": min(
                    1,
                    count(
                        conn,
                        iam_mfa_devices,
                        mfa.account_id == account,
                        mfa.user_id.is_(None),
                        mfa.enabled_at.is_not(None),
                    ),
                ),
                "AccountAccessKeysPresent": min(
                    1,
                    count(
                        conn,
                        access_keys,
                        access_keys.c.account_id == account,
                        access_keys.c.user_id.is_(None),
                    ),
                ),
                "AccountPasswordPresent": 1,  # the root user always has a console password
            }
        return {"SummaryMap": {**_QUOTAS, **found}}
