"""A principal's identity policies and permissions boundary compiled together, and the
fast decision over them.

One ``ActionIndex`` spans every statement of the identity policies and the boundary,
so an action costs one memoised lookup, not one per policy, and yields a *plan*: the
candidate statements split by layer and effect. A request then looks only at its
plan's statements: every Deny candidate (each one that applies is a deciding
statement), then the identity Allows until one applies, then the boundary. Resource
statements are memoised per ARN inside each statement, conditions are evaluated only
for candidates, and a context key is only normalised when a candidate names it.

Decisions are memoised per plan by what they depend on: a plan whose candidates have
no conditions and no variables (*static*) by ARN alone; otherwise by the ARN and which
candidates applied. An allow whose other applying Allows have conditions is returned
as a ``DeferredDecision``: they are named when ``deciding`` is first read.

Session and resource policies vary per request (per role session, per resource), so
they stay separate ``CompiledPolicy`` objects, read through their own per-action
memo; a request with either takes the eager path, which evaluates every candidate.

Invariants: a set never changes after construction apart from its memos, which never
change an answer; ``evaluate`` never raises (an unexpected failure is an implicit deny
naming ``internal-error``); answers equal the exhaustive ``engine.collect`` path's
(the differential tests hold both to the reference evaluator).
"""

from __future__ import annotations

from collections.abc import Sequence

from .compiled import MEMO_LIMIT, ActionIndex, CompiledPolicy
from .context import RequestContext
from .decision import Decision, DeferredDecision, Effect, PolicyType
from .order import Denial, Grant, combine, explicit_deny, ids, principal_of, verdict
from .statement import CompiledStatement, PrincipalMatch

INTERNAL_ERROR = Decision(Effect.IMPLICIT_DENY, PolicyType.IDENTITY, ("internal-error",))
_SETS_LIMIT = 1024
_DECISIONS_LIMIT = 256  # decisions remembered per plan (per action of a set)
Flags = tuple[bool, bool, bool]  # is_root, same account, resource policy required


class _Plan:
    """The statements of a set whose Action/NotAction matches one action, and the
    decisions already made with them (bounded memo)."""

    __slots__ = (
        "boundary_allows",
        "decided",
        "denies",
        "identity_allows",
        "static",
        "static_after",
    )

    def __init__(self, layered: list[tuple[PolicyType, CompiledStatement]]) -> None:
        # Denies in layer order: identity, then boundary (resource and session Denies
        # slot in between and after on the eager path).
        self.denies: tuple[Denial, ...] = tuple(
            (k, s) for kind in (PolicyType.IDENTITY, PolicyType.BOUNDARY)
            for k, s in layered if k is kind and s.deny
        )  # fmt: skip
        self.identity_allows = allows = tuple(
            s for k, s in layered if k is PolicyType.IDENTITY and not s.deny
        )
        self.boundary_allows = tuple(
            s for k, s in layered if k is PolicyType.BOUNDARY and not s.deny
        )
        # Static: whether each candidate applies depends on the ARN alone.
        self.static = all(_static(s) for _, s in layered)
        # Per identity Allow: whether every later one is static (cheap to test at once).
        self.static_after = tuple(
            all(_static(s) for s in allows[i + 1 :]) for i in range(len(allows))
        )
        self.decided: dict[object, Decision] = {}

    def remember(self, key: object, decision: Decision) -> Decision:
        if len(self.decided) >= _DECISIONS_LIMIT:
            self.decided.clear()
        self.decided[key] = decision
        return decision


def _static(stmt: CompiledStatement) -> bool:
    return not stmt.conditions and (stmt.resources is None or not stmt.resources.templates)


class CompiledSet:
    """Identity policies (and a permissions boundary) indexed as one. Build with
    ``compile_set`` (memoised) or directly; ``evaluate`` decides a request."""

    __slots__ = ("_index", "_layers", "_plans", "boundary", "identity")

    def __init__(
        self,
        identity: Sequence[CompiledPolicy],
        boundary: Sequence[CompiledPolicy] | None = None,
    ) -> None:
        self.identity = tuple(identity)
        self.boundary = None if boundary is None else tuple(boundary)
        statements: list[CompiledStatement] = []
        layers: list[PolicyType] = []
        for kind, group in (
            (PolicyType.IDENTITY, self.identity),
            (PolicyType.BOUNDARY, self.boundary or ()),
        ):
            for policy in group:
                statements.extend(policy.statements)
                layers.extend([kind] * len(policy.statements))
        self._index = ActionIndex(statements)
        self._layers = tuple(layers)
        self._plans: dict[str, _Plan] = {}

    def __repr__(self) -> str:
        bounded = "" if self.boundary is None else f", boundary of {len(self.boundary)}"
        return f"CompiledSet({len(self.identity)} policies{bounded})"

    def _plan(self, action: str) -> _Plan:
        found = self._plans.get(action)
        if found is None:
            statements, layers = self._index.statements, self._layers
            found = _Plan([(layers[i], statements[i]) for i in self._index.lookup(action)])
            if len(self._plans) >= MEMO_LIMIT:
                self._plans.clear()
            self._plans[action] = found
        return found

    def evaluate(
        self,
        ctx: RequestContext,
        *,
        resource: Sequence[CompiledPolicy] = (),
        session: Sequence[CompiledPolicy] | None = None,
        is_root: bool = False,
        resource_account: str | None = None,
        resource_policy_required: bool = False,
    ) -> Decision:
        """Decide ``ctx`` (see ``warden.policy.evaluate``); never raises."""
        try:
            action = ctx.action.lower()
            plan = self._plans.get(action) or self._plan(action)
            same = resource_account is None or resource_account == ctx.principal_account
            flags = (is_root, same, resource_policy_required)
            arns = ctx.resources or ("*",)
            if resource or session is not None:
                return combine(
                    [self._eager(plan, ctx, action, a, resource, session, flags) for a in arns]
                )
            if len(arns) != 1:
                return combine([self._decide(plan, ctx, a, flags) for a in arns])
            arn = arns[0]
            if plan.static:
                key = (arn, flags)
                return plan.decided.get(key) or plan.remember(
                    key, self._decide(plan, ctx, arn, flags)
                )
            return self._decide(plan, ctx, arn, flags)
        except Exception:  # fail closed: evaluation must never raise
            return INTERNAL_ERROR

    def _decide(self, plan: _Plan, ctx: RequestContext, arn: str, flags: Flags) -> Decision:
        """Identity policies and boundary only."""
        denied = 0
        for i, (_, stmt) in enumerate(plan.denies):
            if stmt.applies(ctx, arn):
                denied |= 1 << i
        if denied:
            key: object = (arn, "deny", denied)
            found = plan.decided.get(key)
            if found is None:
                hits = [d for i, d in enumerate(plan.denies) if denied >> i & 1]
                found = plan.remember(key, explicit_deny(hits, arn))
            return found
        boundary_ok = self.boundary is None or _any_applies(plan.boundary_allows, ctx, arn)
        allows = plan.identity_allows
        is_root, same, required = flags
        first = -1 if is_root else _first_applying(allows, ctx, arn)  # root: they play no part
        if is_root or first < 0 or required or not (same and boundary_ok):
            # Not an identity allow: only whether some identity Allow applied matters.
            key = (arn, flags, first >= 0, boundary_ok)
            found = plan.decided.get(key)
            if found is None:
                identity = [allows[first]] if first >= 0 else []
                decision = verdict(
                    identity, (), boundary_ok, True, same, arn, is_root=is_root, required=required
                )
                found = plan.remember(key, decision)
            return found
        return _allowed(plan, ctx, arn, first)

    def _eager(
        self,
        plan: _Plan,
        ctx: RequestContext,
        action: str,
        arn: str,
        resource: Sequence[CompiledPolicy],
        session: Sequence[CompiledPolicy] | None,
        flags: Flags,
    ) -> Decision:
        """With resource or session policies: every candidate evaluated, nothing memoised."""
        denies = _denies(plan, PolicyType.IDENTITY, ctx, arn)
        grants: list[Grant] = []
        has_boundary = self.boundary is not None
        for policy in resource:
            for stmt in policy.candidates(action):
                named = principal_of(stmt, ctx, has_boundary)
                if named is PrincipalMatch.NONE or not stmt.applies(ctx, arn):
                    continue
                if stmt.deny:
                    denies.append((PolicyType.RESOURCE, stmt))
                else:
                    grants.append((stmt, named))
        denies += _denies(plan, PolicyType.BOUNDARY, ctx, arn)
        session_ok = True
        if session is not None:
            session_ok = False
            for policy in session:
                for stmt in policy.candidates(action):
                    if stmt.applies(ctx, arn):
                        if stmt.deny:
                            denies.append((PolicyType.SESSION, stmt))
                        else:
                            session_ok = True
        if denies:
            return explicit_deny(denies, arn)
        boundary_ok = not has_boundary or _any_applies(plan.boundary_allows, ctx, arn)
        identity = [s for s in plan.identity_allows if s.applies(ctx, arn)]
        is_root, same, required = flags
        return verdict(
            identity, grants, boundary_ok, session_ok, same, arn, is_root=is_root, required=required
        )


def _denies(plan: _Plan, kind: PolicyType, ctx: RequestContext, arn: str) -> list[Denial]:
    return [d for d in plan.denies if d[0] is kind and d[1].applies(ctx, arn)]


def _any_applies(statements: Sequence[CompiledStatement], ctx: RequestContext, arn: str) -> bool:
    # A plain loop: any() over a generator costs a generator object per call.
    for stmt in statements:  # noqa: SIM110
        if stmt.applies(ctx, arn):
            return True
    return False


def _first_applying(allows: Sequence[CompiledStatement], ctx: RequestContext, arn: str) -> int:
    for i, stmt in enumerate(allows):
        if stmt.applies(ctx, arn):
            return i
    return -1


def _allowed(plan: _Plan, ctx: RequestContext, arn: str, first: int) -> Decision:
    """Allowed by identity policies alone: ``allows[first]`` is the first that applies.
    The later ones are named too; when some have conditions that is deferred."""
    allows = plan.identity_allows
    if not plan.static_after[first]:

        def every() -> tuple[str, ...]:
            found = [allows[first]] + [s for s in allows[first + 1 :] if s.applies(ctx, arn)]
            return ids(found)

        return DeferredDecision(Effect.ALLOWED, PolicyType.IDENTITY, every)
    mask = 1 << first
    for i in range(first + 1, len(allows)):
        if allows[i].applies(ctx, arn):
            mask |= 1 << i
    found = plan.decided.get(mask)
    if found is None:
        used = [s for i, s in enumerate(allows) if mask >> i & 1]
        found = plan.remember(mask, Decision(Effect.ALLOWED, PolicyType.IDENTITY, ids(used)))
    return found


_SetKey = tuple[tuple[CompiledPolicy, ...], tuple[CompiledPolicy, ...] | None]
_sets: dict[_SetKey, CompiledSet] = {}


def compile_set(
    identity: Sequence[CompiledPolicy], boundary: Sequence[CompiledPolicy] | None = None
) -> CompiledSet:
    """The set for these policies, memoised by the identity of the policy objects (a
    ``CompiledPolicy`` never changes, and ``PolicyCache`` hands out the same object
    for the same policy version). Bounded: the memo is emptied when full."""
    key: _SetKey = (tuple(identity), None if boundary is None else tuple(boundary))
    found = _sets.get(key)
    if found is None:
        found = CompiledSet(*key)
        if len(_sets) >= _SETS_LIMIT:
            _sets.clear()
        _sets[key] = found
    return found
