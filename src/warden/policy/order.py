"""AWS's decision order over the statements that apply to one request on one resource.

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

``verdict`` is the one place this order is written; the fast path (``compiled_set``)
and the exhaustive one used by simulation (``engine.collect``) both end here, so they
cannot disagree about what the matching statements mean.
"""

from __future__ import annotations

from collections.abc import Sequence

from .context import RequestContext
from .decision import Decision, Effect, PolicyType
from .statement import CompiledStatement, PrincipalMatch

ROOT_DECIDING = "root"

LAYER_ORDER = {
    PolicyType.IDENTITY: 0,
    PolicyType.RESOURCE: 1,
    PolicyType.BOUNDARY: 2,
    PolicyType.SESSION: 3,
}

Denial = tuple[PolicyType, CompiledStatement]
Grant = tuple[CompiledStatement, PrincipalMatch]


def ids(statements: Sequence[CompiledStatement]) -> tuple[str, ...]:
    if len(statements) == 1:
        return (statements[0].id,)
    return tuple(dict.fromkeys(s.id for s in statements))


def principal_of(
    stmt: CompiledStatement, ctx: RequestContext, has_boundary: bool
) -> PrincipalMatch:
    """How a resource-policy statement names the caller; fail closed on surprises."""
    try:
        return stmt.principal_match(ctx, has_boundary)
    except Exception:  # fail closed
        return PrincipalMatch.DIRECT if stmt.deny else PrincipalMatch.NONE


def explicit_deny(denies: Sequence[Denial], arn: str) -> Decision:
    """``denies`` in layer order (identity, resource, boundary, session)."""
    return Decision(Effect.EXPLICIT_DENY, denies[0][0], ids([s for _, s in denies]), arn)


def verdict(
    identity: Sequence[CompiledStatement],
    resource: Sequence[Grant],
    boundary_ok: bool,
    session_ok: bool,
    same_account: bool,
    arn: str,
    *,
    is_root: bool,
    required: bool,
) -> Decision:
    """The decision once no Deny applies: ``identity`` and ``resource`` are the Allow
    statements that apply; ``boundary_ok``/``session_ok`` whether those layers allow
    (true when the layer is absent)."""
    if is_root:
        if same_account and not required:
            return Decision(Effect.ALLOWED, PolicyType.IDENTITY, (ROOT_DECIDING,))
        if resource:
            return Decision(Effect.ALLOWED, PolicyType.RESOURCE, ids([s for s, _ in resource]))
        return Decision(Effect.IMPLICIT_DENY, PolicyType.RESOURCE, (), arn)
    if not same_account:
        if identity and boundary_ok and session_ok and resource:
            used = list(identity) + [s for s, _ in resource]
            return Decision(Effect.ALLOWED, PolicyType.IDENTITY, ids(used))
        reason = _missing(bool(identity), boundary_ok, session_ok)
        return Decision(Effect.IMPLICIT_DENY, reason, (), arn)
    if not resource:  # the common case: identity policies alone
        if not required and identity and boundary_ok and session_ok:
            return Decision(Effect.ALLOWED, PolicyType.IDENTITY, ids(identity))
        reason = (
            PolicyType.RESOURCE if required else _missing(bool(identity), boundary_ok, session_ok)
        )
        return Decision(Effect.IMPLICIT_DENY, reason, (), arn)
    return _same_account(identity, resource, boundary_ok, session_ok, required, arn)


def _same_account(
    identity: Sequence[CompiledStatement],
    resource: Sequence[Grant],
    boundary_ok: bool,
    session_ok: bool,
    required: bool,
    arn: str,
) -> Decision:
    direct = [s for s, k in resource if k is PrincipalMatch.DIRECT]
    if direct:
        return Decision(Effect.ALLOWED, PolicyType.RESOURCE, ids(direct))
    role = [s for s, k in resource if k is PrincipalMatch.ROLE]
    if role and boundary_ok and session_ok:
        return Decision(Effect.ALLOWED, PolicyType.RESOURCE, ids(role))
    account = [s for s, k in resource if k is PrincipalMatch.ACCOUNT]
    identity_path = not required or bool(account)
    if identity_path and identity and boundary_ok and session_ok:
        used = list(identity) + account if required else identity
        return Decision(Effect.ALLOWED, PolicyType.IDENTITY, ids(used))
    if role:
        reason = PolicyType.BOUNDARY if not boundary_ok else PolicyType.SESSION
    elif not identity_path:
        reason = PolicyType.RESOURCE
    else:
        reason = _missing(bool(identity), boundary_ok, session_ok)
    return Decision(Effect.IMPLICIT_DENY, reason, (), arn)


def _missing(identity: bool, boundary_ok: bool, session_ok: bool) -> PolicyType:
    if not identity:
        return PolicyType.IDENTITY
    if not boundary_ok:
        return PolicyType.BOUNDARY
    if not session_ok:
        return PolicyType.SESSION
    return PolicyType.RESOURCE


def combine(decisions: Sequence[Decision]) -> Decision:
    """Several resources: allowed only if each is; else the first explicit, then implicit
    deny; an allow names every deciding statement once."""
    if len(decisions) == 1:
        return decisions[0]
    for effect in (Effect.EXPLICIT_DENY, Effect.IMPLICIT_DENY):
        for d in decisions:
            if d.effect is effect:
                return d
    deciding = tuple(dict.fromkeys(s for d in decisions for s in d.deciding))
    return Decision(Effect.ALLOWED, decisions[0].policy_type, deciding)
