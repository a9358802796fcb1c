"""Human-readable explanations of decisions and simulations (console, audit, CLI).

One line per decision saying what decided it and where; a simulation result adds the
statements that applied and the context keys that were missing. AWS's own
AccessDenied text is ``decision.denial_message``; this is the longer "why".
"""

from __future__ import annotations

from .decision import Decision, Effect, PolicyType
from .engine import ROOT_DECIDING
from .simulate import SimulationResult

_ARTICLE = {
    PolicyType.IDENTITY: "an identity-based policy",
    PolicyType.RESOURCE: "a resource-based policy",
    PolicyType.BOUNDARY: "the permissions boundary",
    PolicyType.SESSION: "a session policy",
}


def reason(decision: Decision, action: str, resource: str = "") -> str:
    """Why ``decision`` came out as it did, in one sentence."""
    target = f"{action} on {resource}" if resource and resource != "*" else action
    statements = ", ".join(decision.deciding)
    if decision.effect is Effect.ALLOWED:
        if decision.deciding == (ROOT_DECIDING,):
            return f"Allowed {target}: the root user has full access to its own account."
        return f"Allowed {target} by {_ARTICLE[decision.policy_type]}: {statements}."
    if decision.effect is Effect.EXPLICIT_DENY:
        where = _ARTICLE[decision.policy_type]
        return f"Explicitly denied {target} by a Deny statement in {where}: {statements}."
    if decision.deciding == ("internal-error",):
        return f"Denied {target}: the policies could not be evaluated."
    what = decision.policy_type.value
    return f"Implicitly denied {target}: no {what} policy allows it."


def describe(result: SimulationResult) -> str:
    """A simulation result as a few lines of text."""
    lines = [reason(result.decision, result.action, result.resource)]
    for m in result.matched_statements:
        where = f" (line {m.start.line})" if m.start else ""
        lines.append(f"  {m.effect} {m.statement_id} [{m.source_policy_type.value}]{where}")
    if result.missing_context_values:
        lines.append("  missing context keys: " + ", ".join(result.missing_context_values))
    return "\n".join(lines)
