"""The three-valued result of an authorization decision, and what decided it.

Modelled: identity-based policies, resource-based policies, permissions boundaries,
session policies, explicit deny, the root user. Not modelled: Organizations SCPs and
RCPs, VPC endpoint policies.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
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


# The slots themselves (DeferredDecision's property hides ``deciding``; writing the
# slots directly also skips the frozen ``__setattr__``).
_DECIDING = Decision.__dict__["deciding"]
_SET_EFFECT = Decision.__dict__["effect"].__set__
_SET_TYPE = Decision.__dict__["policy_type"].__set__
_SET_DECIDING = _DECIDING.__set__
_SET_RESOURCE = Decision.__dict__["resource"].__set__


class DeferredDecision(Decision):
    """A decision whose ``deciding`` statements are listed on first read.

    An allow is known as soon as one Allow applies and no Deny does, but naming
    *every* Allow that applies means evaluating the conditions of all the others,
    which is most of the cost of a decision; only audit, explain and tests read them.
    ``pending`` must be pure and must not raise (the engine's statement tests never
    do). Equal to, and hashed as, the plain ``Decision`` with the same values.
    """

    __slots__ = ("_pending",)
    _pending: Callable[[], tuple[str, ...]] | None

    def __init__(
        self, effect: Effect, policy_type: PolicyType, pending: Callable[[], tuple[str, ...]]
    ) -> None:
        _SET_EFFECT(self, effect)
        _SET_TYPE(self, policy_type)
        _SET_DECIDING(self, ())
        _SET_RESOURCE(self, "")
        _SET_PENDING(self, pending)

    @property
    def deciding(self) -> tuple[str, ...]:
        pending = self._pending
        if pending is not None:
            _SET_DECIDING(self, pending())
            _SET_PENDING(self, None)
        found: tuple[str, ...] = _DECIDING.__get__(self)
        return found

    def _values(self) -> tuple[object, ...]:
        return (self.effect, self.policy_type, self.deciding, self.resource)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Decision):
            return NotImplemented
        mine = self._values()
        return mine == (other.effect, other.policy_type, other.deciding, other.resource)

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return (
            f"Decision(effect={self.effect!r}, policy_type={self.policy_type!r}, "
            f"deciding={self.deciding!r}, resource={self.resource!r})"
        )


_SET_PENDING = DeferredDecision.__dict__["_pending"].__set__


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
