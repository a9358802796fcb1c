"""The three-valued result of an authorization decision, and what decided it.

Modelled: identity-based policies, resource-based policies, permissions boundaries,
session policies, explicit deny, the root user. Not modelled: Organizations SCPs and
RCPs, VPC endpoint policies.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Effect(enum.Enum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicitDeny"
    IMPLICIT_DENY = "implicitDeny"


class PolicyType(enum.Enum):
    """Which kind of policy decided; worded as AWS's AccessDenied message words it."""

    IDENTITY = "identity-based"
    RESOURCE = "resource-based"
    BOUNDARY = "permissions boundary"
    SESSION = "session"


@dataclass(frozen=True, slots=True)
class Decision:
    effect: Effect
    policy_type: PolicyType = PolicyType.IDENTITY
    deciding: tuple[str, ...] = ()  # statements that decided: "policyId#Sid" or "policyId#[index]"
    resource: str = ""  # for a denial over several resources: the one denied

    @property
    def allowed(self) -> bool:
        return self.effect is Effect.ALLOWED

    @property
    def audit_name(self) -> str:
        """The decision as the audit trail records it."""
        return {
            Effect.ALLOWED: "Allow",
            Effect.EXPLICIT_DENY: "ExplicitDeny",
            Effect.IMPLICIT_DENY: "ImplicitDeny",
        }[self.effect]


def denial_message(principal_arn: str, action: str, resource: str, decision: Decision) -> str:
    """AWS's AccessDenied text (see reference/aws-semantics.md §4.10)."""
    on = f" on resource: {resource}" if resource and resource != "*" else ""
    head = f"User: {principal_arn} is not authorized to perform: {action}{on}"
    if decision.effect is Effect.EXPLICIT_DENY:
        where = {
            PolicyType.IDENTITY: "an identity-based policy",
            PolicyType.RESOURCE: "a resource-based policy",
            PolicyType.BOUNDARY: "a permissions boundary",
            PolicyType.SESSION: "a session policy",
        }[decision.policy_type]
        return f"{head} with an explicit deny in {where}"
    return f"{head} because no {decision.policy_type.value} policy allows the {action} action"
