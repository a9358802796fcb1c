"""KMS's second authorization (``kms:ReEncryptTo``, ``kms:UpdateAlias`` on the new key),
answered by the same authorizer the pipeline uses, with the key policy required to allow.

Lives in ``server/`` because it joins two services (KMS asks, IAM's authorizer decides) and
services do not import each other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from warden.policy import Decision
from warden.services.context import CallContext
from warden.services.iam.authorizer import Authorizer, RequestFacts


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
        facts = RequestFacts(
            source_ip=ctx.source_ip,
            secure=ctx.secure,
            now=ctx.now,
            region=ctx.region,
            service_keys=condition_keys,
            resource_tags=resource_tags,
            resource_policies=resource_policies,
            resource_policy_required=True,
        )
        return self._authorizer.decide(ctx.principal, action, (resource,), facts)
