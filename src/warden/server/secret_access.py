"""Secrets Manager's per-secret authorization (BatchGetSecretValue checks
``secretsmanager:GetSecretValue`` on every secret it returns), answered by the same authorizer
the pipeline uses, with the secret's resource policy evaluated beside the caller's policies.

Lives in ``server/`` because it joins two services (Secrets Manager asks, IAM's authorizer
decides) and services do not import each other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from warden.policy import denial_message
from warden.services.context import CallContext
from warden.services.iam.authorizer import Authorizer, RequestFacts


class AuthorizerSecretAccess:
    """``services.secretsmanager.reads.AccessCheck`` over ``Authorizer``."""

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
        facts = RequestFacts(
            source_ip=ctx.source_ip,
            secure=ctx.secure,
            now=ctx.now,
            region=ctx.region,
            service_keys=condition_keys,
            resource_tags=resource_tags,
            resource_policies=resource_policies,
        )
        decision = self._authorizer.decide(ctx.principal, action, (resource,), facts)
        if decision.allowed:
            return None
        return denial_message(ctx.principal.arn, action, resource, decision)
