"""The authorization decision: ``evaluate``, and the exhaustive ``collect`` that
simulation uses to list every statement that applied.

``evaluate`` decides through a ``CompiledSet`` (memoised per set of policy objects):
only the statements that can match the action are looked at, Denies first. The
decision order itself (explicit deny, root, resource-policy union in one account,
boundaries and session policies, cross-account) lives in ``order.py``, shared by both
paths.

Several resources are decided one by one; the request is allowed only if each is.
Evaluation never raises: a statement that fails unexpectedly counts as applying if it
is a Deny and as not applying if it is an Allow; any other failure is a deny.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .compiled import CompiledPolicy
from .compiled_set import INTERNAL_ERROR, compile_set
from .context import RequestContext
from .decision import Decision, PolicyType
from .order import LAYER_ORDER, ROOT_DECIDING, combine, explicit_deny, principal_of, verdict
from .statement import CompiledStatement, PrincipalMatch

__all__ = ["ROOT_DECIDING", "Layers", "Matches", "collect", "combine", "decide", "evaluate"]


@dataclass
class Matches:
    """Every applicable statement for one action on one resource, by policy layer."""

    denies: list[tuple[PolicyType, CompiledStatement]] = field(default_factory=list)
    identity: list[CompiledStatement] = field(default_factory=list)
    resource: list[tuple[CompiledStatement, PrincipalMatch]] = field(default_factory=list)
    boundary: list[CompiledStatement] = field(default_factory=list)
    session: list[CompiledStatement] = field(default_factory=list)


@dataclass(frozen=True)
class Layers:
    identity: Sequence[CompiledPolicy]
    resource: Sequence[CompiledPolicy]
    boundary: Sequence[CompiledPolicy] | None
    session: Sequence[CompiledPolicy] | None


def evaluate(
    ctx: RequestContext,
    *,
    identity: Sequence[CompiledPolicy],
    resource: Sequence[CompiledPolicy] = (),
    boundary: Sequence[CompiledPolicy] | None = None,
    session: Sequence[CompiledPolicy] | None = None,
    is_root: bool = False,
    resource_account: str | None = None,
    resource_policy_required: bool = False,
) -> Decision:
    """Decide ``ctx``. ``boundary``/``session`` of ``None`` mean "none applies";
    an empty sequence means "present and allows nothing"."""
    try:
        compiled = compile_set(identity, boundary)
    except Exception:  # fail closed: evaluation must never raise
        return INTERNAL_ERROR
    return compiled.evaluate(
        ctx,
        resource=resource,
        session=session,
        is_root=is_root,
        resource_account=resource_account,
        resource_policy_required=resource_policy_required,
    )


def collect(ctx: RequestContext, action: str, arn: str, layers: Layers) -> Matches:
    """All statements that apply to ``action`` (lower-cased) on ``arn``."""
    found = Matches()
    plain: tuple[tuple[PolicyType, Sequence[CompiledPolicy] | None, list[CompiledStatement]], ...]
    plain = (
        (PolicyType.IDENTITY, layers.identity, found.identity),
        (PolicyType.BOUNDARY, layers.boundary, found.boundary),
        (PolicyType.SESSION, layers.session, found.session),
    )
    for kind, policies, allows in plain:
        for policy in policies or ():
            for stmt in policy.candidates(action):
                if stmt.applies(ctx, arn):
                    if stmt.deny:
                        found.denies.append((kind, stmt))
                    else:
                        allows.append(stmt)
    has_boundary = layers.boundary is not None
    for policy in layers.resource:
        for stmt in policy.candidates(action):
            named = principal_of(stmt, ctx, has_boundary)
            if named is PrincipalMatch.NONE or not stmt.applies(ctx, arn):
                continue
            if stmt.deny:
                found.denies.append((PolicyType.RESOURCE, stmt))
            else:
                found.resource.append((stmt, named))
    found.denies.sort(key=lambda d: LAYER_ORDER[d[0]])
    return found


def decide(
    m: Matches,
    ctx: RequestContext,
    layers: Layers,
    arn: str,
    *,
    is_root: bool,
    resource_account: str | None,
    resource_policy_required: bool,
) -> Decision:
    """The decision for what ``collect`` found (the same as ``evaluate``'s)."""
    if m.denies:
        return explicit_deny(m.denies, arn)
    same_account = resource_account is None or resource_account == ctx.principal_account
    boundary_ok = layers.boundary is None or bool(m.boundary)
    session_ok = layers.session is None or bool(m.session)
    return verdict(
        m.identity,
        m.resource,
        boundary_ok,
        session_ok,
        same_account,
        arn,
        is_root=is_root,
        required=resource_policy_required,
    )
