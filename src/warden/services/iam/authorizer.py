"""Authorization of API calls: the policy engine over the caller's policies.

Builds the request context (the global condition keys AWS sets for every call,
the request's tags, the operation's own condition keys) and evaluates the
principal's identity policies, permissions boundary and any resource policy with
``warden.policy.evaluate``. Root is allowed in its own account unless a policy
explicitly denies it, as in AWS. Anything unknown denies (fail closed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from warden.core.clock import Clock
from warden.core.principal import Principal, PrincipalType
from warden.policy import (
    ContextValue,
    Decision,
    Effect,
    PolicyError,
    RequestContext,
    evaluate,
)
from warden.store.db import Store

from .policy_sets import EMPTY, PolicySet, PolicySets

_BROKEN = PolicySet((), None, {}, broken=True)

_PRINCIPAL_TYPES = {
    PrincipalType.ROOT: "Account",
    PrincipalType.IAM_USER: "User",
    PrincipalType.ASSUMED_ROLE: "AssumedRole",
    PrincipalType.FEDERATED_USER: "FederatedUser",
}


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What the pipeline knows about the call that condition keys are made from."""

    source_ip: str
    secure: bool
    now: datetime
    region: str
    request_tags: Mapping[str, str] = field(default_factory=dict)
    service_keys: Mapping[str, ContextValue] = field(default_factory=dict)
    resource_tags: Mapping[str, str] = field(default_factory=dict)
    # (policy id, JSON text) of the resource's own policies.
    resource_policies: Sequence[tuple[str, str]] = ()
    resource_policy_required: bool = False


class Authorizer:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._clock = clock
        self._sets = PolicySets(store, clock)

    def invalidate(self) -> None:
        """An IAM write happened: re-read policies at the next decision."""
        self._sets.invalidate()

    def policies(self, principal: Principal) -> PolicySet:
        """The principal's policies (cached; a miss reads them afresh)."""
        if principal.type is PrincipalType.IAM_USER:
            return self._sets.for_user(principal.user_id)
        if principal.type is PrincipalType.ASSUMED_ROLE and principal.role_id:
            return self._sets.for_role(principal.role_id)
        return EMPTY  # root: allowed by evaluate(is_root=True); others: nothing

    def decide(
        self,
        principal: Principal,
        action: str,
        resources: Sequence[str],
        facts: RequestFacts | None = None,
        *,
        policies: PolicySet | None = None,
    ) -> Decision:
        """``policies``: the principal's, if the caller has read them (``policies()``)."""
        facts = facts or RequestFacts("", True, self._clock.now(), "us-east-1")
        policies = policies if policies is not None else self.policies(principal)
        try:
            session = (
                self._sets.session(principal.session_policy) if principal.session_policy else None
            )
            resource = self._sets.resource(facts.resource_policies)
        except (PolicyError, ValueError):
            session, resource, policies = None, (), _BROKEN
        if policies.broken:
            return Decision(Effect.IMPLICIT_DENY, deciding=("unreadable-policy",))
        ctx = RequestContext(
            action=action,
            resources=tuple(resources) or ("*",),
            principal_arn=principal.policy_arn,
            principal_account=principal.account_id,
            keys=global_keys(principal, facts, {**policies.tags, **dict(principal.session_tags)}),
            caller_arn=principal.arn,
        )
        return evaluate(
            ctx,
            identity=policies.identity,
            resource=resource,
            boundary=policies.boundary,
            session=session,
            is_root=principal.type is PrincipalType.ROOT,
            resource_account=principal.account_id,
            resource_policy_required=facts.resource_policy_required,
        )


def global_keys(
    principal: Principal, facts: RequestFacts, principal_tags: Mapping[str, str]
) -> dict[str, ContextValue]:
    """The global condition keys of reference/aws-semantics.md §4.6 for this call."""
    keys: dict[str, ContextValue] = {
        "aws:CurrentTime": facts.now,
        "aws:EpochTime": int(facts.now.timestamp()),
        "aws:SecureTransport": facts.secure,
        "aws:PrincipalType": _PRINCIPAL_TYPES[principal.type],
        "aws:userid": principal.user_id,
        "aws:RequestedRegion": facts.region,
    }
    if facts.source_ip:
        keys["aws:SourceIp"] = facts.source_ip
    if principal.type is PrincipalType.IAM_USER:
        keys["aws:username"] = principal.name
    if principal.temporary:
        # Present only with temporary credentials, as in AWS.
        keys["aws:MultiFactorAuthPresent"] = principal.mfa_authenticated
    if principal.mfa_authenticated and principal.mfa_auth_time is not None:
        keys["aws:MultiFactorAuthAge"] = int((facts.now - principal.mfa_auth_time).total_seconds())
    for key, value in principal_tags.items():
        keys[f"aws:PrincipalTag/{key}"] = value
    for key, value in facts.resource_tags.items():
        keys[f"aws:ResourceTag/{key}"] = value
    for key, value in facts.request_tags.items():
        keys[f"aws:RequestTag/{key}"] = value
    if facts.request_tags:
        keys["aws:TagKeys"] = list(facts.request_tags)
    keys.update(facts.service_keys)
    return keys
