"""What IAM lends STS through ``services/ports.py``: the caller's global condition keys
(for a role's trust policy) and the documents of managed policies (for ``PolicyArns``
session policies). Wired in ``server/app.py``; STS never imports this package.

The keys are the authorizer's own (``authorizer.global_keys``), so a trust policy sees
exactly what an identity policy would for the same call. Principal tags are read from
the store on every call: AssumeRole is rare and must see a tag change at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from warden.core.principal import PrincipalType
from warden.policy import ContextValue
from warden.services.context import CallContext
from warden.store.db import Store
from warden.store.schema import (
    iam_managed_policies,
    iam_policy_versions,
    iam_roles,
    iam_users,
    sts_credentials,
)

from .authorizer import RequestFacts, global_keys
from .managed_policies import aws_managed


def _tags(raw: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for tag in raw or []:
        if isinstance(tag, Mapping) and isinstance(tag.get("Key"), str):
            out[tag["Key"]] = str(tag.get("Value", ""))
    return out


class IamCallerKeys:
    """``ports.CallerKeys``: the authorizer's global keys, with the caller's tags."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def keys(self, ctx: CallContext) -> Mapping[str, ContextValue]:
        facts = RequestFacts(ctx.source_ip, ctx.secure, ctx.now, ctx.region)
        return global_keys(ctx.principal, facts, self._principal_tags(ctx))

    def _principal_tags(self, ctx: CallContext) -> dict[str, str]:
        p = ctx.principal
        with self._store.read() as conn:
            if p.type is PrincipalType.IAM_USER:
                raw = conn.execute(
                    sa.select(iam_users.c.tags).where(iam_users.c.user_id == p.user_id)
                ).scalar()
                return _tags(raw)
            if p.type is PrincipalType.ASSUMED_ROLE and p.role_id:
                role = conn.execute(
                    sa.select(iam_roles.c.tags).where(iam_roles.c.role_id == p.role_id)
                ).scalar()
                session = conn.execute(
                    sa.select(sts_credentials.c.tags).where(
                        sts_credentials.c.access_key_id == p.access_key_id
                    )
                ).scalar()
                # Session tags override the role's tags with the same key (case-insensitively).
                merged = {k.lower(): (k, v) for k, v in _tags(role).items()}
                merged.update({k.lower(): (k, v) for k, v in _tags(session).items()})
                return dict(merged.values())
        return {}


class IamManagedDocuments:
    """``ports.ManagedDocuments``: the default version of an AWS or customer managed policy."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def document(self, account_id: str, arn: str) -> str | None:
        shipped = aws_managed().get(arn)
        if shipped is not None:
            return shipped.document
        with self._store.read() as conn:
            found = conn.execute(
                sa.select(iam_policy_versions.c.document)
                .join(
                    iam_managed_policies,
                    iam_managed_policies.c.arn == iam_policy_versions.c.policy_arn,
                )
                .where(
                    iam_managed_policies.c.arn == arn,
                    iam_managed_policies.c.account_id == account_id,
                    iam_policy_versions.c.version_id == iam_managed_policies.c.default_version_id,
                )
            ).scalar()
        return str(found) if found is not None else None
