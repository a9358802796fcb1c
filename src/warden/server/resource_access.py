"""Second authorizations that a service makes inside one call, answered by the same
authorizer the pipeline uses: KMS's ``kms:ReEncryptTo`` / ``kms:UpdateAlias`` on the new key
(the key policy required to allow), and Secrets Manager's ``secretsmanager:GetSecretValue``
on every secret ``BatchGetSecretValue`` returns (the secret's policy beside the caller's).

Lives in ``server/`` because it joins two services (KMS or Secrets Manager asks, IAM's
authorizer decides) and services do not import each other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from warden.policy import Decision, denial_message
from warden.services.context import CallContext
from warden.services.iam.authorizer import Authorizer, RequestFacts


def _decide(
    authorizer: Authorizer,
    ctx: CallContext,
    action: str,
    resource: str,
    *,
    resource_policies: Sequence[tuple[str, str]],
    condition_keys: Mapping[str, Any],
    resource_tags: Mapping[str, str],
    resource_policy_required: bool,
) -> Decision:
    facts = RequestFacts(
        source_ip=ctx.source_ip,
        secure=ctx.secure,
        now=ctx.now,
        region=ctx.region,
        service_keys=condition_keys,
        resource_tags=resource_tags,
        resource_policies=resource_policies,
        resource_policy_required=resource_policy_required,
    )
    return authorizer.decide(ctx.principal, action, (resource,), facts)


class AuthorizerKeyAccess:
    """``services.kms.authz.KeyAccess`` over ``Authorizer``."""

    def __init__(self, authorizer: Authorizer) -> None:
        self._authorizer = authorizer

    def __call__(
        self,
        ctx: CallContext,
        action: str,
        resource: str,
        *,
        resource_policies: Sequence[tuple[str, str]],
        condition_keys: Mapping[str, Any],
        resource_tags: Mapping[str, str],
    ) -> Decision:
        return _decide(
            self._authorizer,
            ctx,
            action,
            resource,
            resource_policies=resource_policies,
            condition_keys=condition_keys,
            resource_tags=resource_tags,
            resource_policy_required=True,
        )


class AuthorizerSecretAccess:
    """``services.secretsmanager.reads.AccessCheck`` over ``Authorizer``: None when allowed,
    else AWS's AccessDenied message."""

    def __init__(self, authorizer: Authorizer) -> None:
        self._authorizer = authorizer

    def __call__(
        self,
        ctx: CallContext,
        action: str,
        resource: str,
        *,
        resource_tags: Mapping[str, str],
        resource_policies: Sequence[tuple[str, str]],
        condition_keys: Mapping[str, Any],
    ) -> str | None:
        decision = _decide(
            self._authorizer,
            ctx,
            action,
            resource,
            resource_policies=resource_policies,
            condition_keys=condition_keys,
            resource_tags=resource_tags,
            resource_policy_required=False,
        )
        if decision.allowed:
            return None
        return denial_message(ctx.principal.arn, action, resource, decision)
