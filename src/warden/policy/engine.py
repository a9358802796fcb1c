"""The authorization decision: AWS's single- and cross-account evaluation logic.

Order (IAM User Guide, "Policy evaluation logic"; reference/aws-semantics.md §4.1):

1. An applicable Deny in any identity, resource, boundary or session policy → explicit deny.
2. Root in its own account → allowed (resource policies can still deny it, step 1);
   where the resource policy must allow (KMS key policies, role trust) or across
   accounts, root needs a resource-policy allow.
3. Same account: a resource-policy Allow naming the caller directly (user, role
   session or federated-user ARN, or ``*``) allows even without an identity allow;
   naming the *role* ARN allows only if the boundary and session policy allow too;
   naming the account only delegates to the identity policies. (``Principal: "*"``
   is treated as naming the caller directly; a Deny with ``NotPrincipal`` always
   applies to a principal that has a permissions boundary, as the User Guide warns.)
4. Otherwise an identity allow is needed, intersected with the permissions boundary
   (if any) and the session policies (if any). With ``resource_policy_required``
   the identity path is open only if the resource policy allows the account.
5. Across accounts both sides must allow: identity (with boundary and session) and
   the resource policy.

Several resources are decided one by one; the request is allowed only if each is.
Evaluation never raises: a statement that fails unexpectedly counts as applying if it
is a Deny and as not applying if it is an Allow; any other failure is a deny.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .compiled import CompiledPolicy
from .context import RequestContext
from .decision import Decision, Effect, PolicyType
from .statement import CompiledStatement, PrincipalMatch

ROOT_DECIDING = "root"


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
        layers = Layers(identity, resource, boundary, session)
        action = ctx.action.lower()
        decisions = [
            decide(
                collect(ctx, action, arn, layers),
                ctx,
                layers,
                arn,
                is_root=is_root,
                resource_account=resource_account,
                resource_policy_required=resource_policy_required,
            )
            for arn in ctx.resources or ("*",)
        ]
        return combine(decisions)
    except Exception:  # fail closed: evaluation must never raise
        return Decision(Effect.IMPLICIT_DENY, PolicyType.IDENTITY, ("internal-error",))


def combine(decisions: Sequence[Decision]) -> Decision:
    if len(decisions) == 1:
        return decisions[0]
    for effect in (Effect.EXPLICIT_DENY, Effect.IMPLICIT_DENY):
        for d in decisions:
            if d.effect is effect:
                return d
    deciding = tuple(dict.fromkeys(s for d in decisions for s in d.deciding))
    first = decisions[0]
    return Decision(Effect.ALLOWED, first.policy_type, deciding)


def _applies(stmt: CompiledStatement, ctx: RequestContext, arn: str) -> bool:
    try:
        return stmt.matches_resource(arn, ctx) and stmt.conditions_hold(ctx)
    except Exception:  # fail closed
        return stmt.deny


def _principal(stmt: CompiledStatement, ctx: RequestContext, has_boundary: bool) -> PrincipalMatch:
    try:
        return stmt.principal_match(ctx, has_boundary)
    except Exception:  # fail closed
        return PrincipalMatch.DIRECT if stmt.deny else PrincipalMatch.NONE


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
                if _applies(stmt, ctx, arn):
                    if stmt.deny:
                        found.denies.append((kind, stmt))
                    else:
                        allows.append(stmt)
    has_boundary = layers.boundary is not None
    for policy in layers.resource:
        for stmt in policy.candidates(action):
            named = _principal(stmt, ctx, has_boundary)
            if named is PrincipalMatch.NONE or not _applies(stmt, ctx, arn):
                continue
            if stmt.deny:
                found.denies.append((PolicyType.RESOURCE, stmt))
            else:
                found.resource.append((stmt, named))
    found.denies.sort(key=lambda d: _LAYER_ORDER[d[0]])
    return found


_LAYER_ORDER = {
    PolicyType.IDENTITY: 0,
    PolicyType.RESOURCE: 1,
    PolicyType.BOUNDARY: 2,
    PolicyType.SESSION: 3,
}


def _ids(statements: Sequence[CompiledStatement]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s.id for s in statements))


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
    if m.denies:
        return Decision(Effect.EXPLICIT_DENY, m.denies[0][0], _ids([s for _, s in m.denies]), arn)
    same_account = resource_account is None or resource_account == ctx.principal_account
    granted = [s for s, _ in m.resource]
    if is_root:
        if same_account and not resource_policy_required:
            return Decision(Effect.ALLOWED, PolicyType.IDENTITY, (ROOT_DECIDING,))
        if granted:
            return Decision(Effect.ALLOWED, PolicyType.RESOURCE, _ids(granted))
        return Decision(Effect.IMPLICIT_DENY, PolicyType.RESOURCE, (), arn)
    boundary_ok = layers.boundary is None or bool(m.boundary)
    session_ok = layers.session is None or bool(m.session)
    if not same_account:
        if m.identity and boundary_ok and session_ok and granted:
            return Decision(Effect.ALLOWED, PolicyType.IDENTITY, _ids(m.identity + granted))
        return Decision(Effect.IMPLICIT_DENY, _missing(m, boundary_ok, session_ok), (), arn)
    return _same_account(m, boundary_ok, session_ok, resource_policy_required, arn)


def _split(
    m: Matches,
) -> tuple[list[CompiledStatement], list[CompiledStatement], list[CompiledStatement]]:
    """Resource-policy allows by how they named the caller: direct, role, account."""
    kinds = (PrincipalMatch.DIRECT, PrincipalMatch.ROLE, PrincipalMatch.ACCOUNT)
    direct, role, account = ([s for s, k in m.resource if k is kind] for kind in kinds)
    return direct, role, account


def _same_account(
    m: Matches, boundary_ok: bool, session_ok: bool, required: bool, arn: str
) -> Decision:
    direct, role, account = _split(m) if m.resource else ([], [], [])
    if direct:
        return Decision(Effect.ALLOWED, PolicyType.RESOURCE, _ids(direct))
    if role and boundary_ok and session_ok:
        return Decision(Effect.ALLOWED, PolicyType.RESOURCE, _ids(role))
    identity_path = not required or bool(account)
    if identity_path and m.identity and boundary_ok and session_ok:
        used = m.identity + account if required else m.identity
        return Decision(Effect.ALLOWED, PolicyType.IDENTITY, _ids(used))
    if role:
        reason = PolicyType.BOUNDARY if not boundary_ok else PolicyType.SESSION
    elif not identity_path:
        reason = PolicyType.RESOURCE
    else:
        reason = _missing(m, boundary_ok, session_ok)
    return Decision(Effect.IMPLICIT_DENY, reason, (), arn)


def _missing(m: Matches, boundary_ok: bool, session_ok: bool) -> PolicyType:
    if not m.identity:
        return PolicyType.IDENTITY
    if not boundary_ok:
        return PolicyType.BOUNDARY
    if not session_ok:
        return PolicyType.SESSION
    return PolicyType.RESOURCE
