"""Policy simulation (IAM ``SimulatePrincipalPolicy`` / ``SimulateCustomPolicy``) and
context-key discovery (``GetContextKeysFor*Policy``).

A simulation decides every (action, resource) pair with the same engine as live
requests and reports, per pair, the decision, every statement that applied (with its
source policy and position when the policy came from text), and the condition keys
the matching statements referenced but the context did not supply.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from .compiled import CompiledPolicy
from .context import RequestContext
from .decision import Decision, PolicyType
from .document import PolicyDocument, parse_document
from .engine import Layers, collect, evaluate
from .positions import Position, statement_spans
from .statement import CompiledStatement
from .variables import parse_template


@dataclass(frozen=True, slots=True)
class MatchedStatement:
    source_policy_id: str
    source_policy_type: PolicyType
    statement_id: str  # "policyId#Sid" or "policyId#[index]"
    sid: str | None
    index: int
    effect: str  # "Allow" | "Deny"
    start: Position | None = None
    end: Position | None = None


@dataclass(frozen=True, slots=True)
class SimulationResult:
    action: str
    resource: str
    decision: Decision
    matched_statements: tuple[MatchedStatement, ...]
    missing_context_values: tuple[str, ...]

    @property
    def eval_decision(self) -> str:
        """``allowed`` | ``explicitDeny`` | ``implicitDeny``, as IAM spells EvalDecision."""
        return self.decision.effect.value


def simulate(
    context: RequestContext,
    actions: Sequence[str],
    resources: Sequence[str] = ("*",),
    *,
    identity: Sequence[CompiledPolicy],
    resource: Sequence[CompiledPolicy] = (),
    boundary: Sequence[CompiledPolicy] | None = None,
    session: Sequence[CompiledPolicy] | None = None,
    is_root: bool = False,
    resource_account: str | None = None,
    resource_policy_required: bool = False,
) -> tuple[SimulationResult, ...]:
    layers = Layers(identity, resource, boundary, session)
    owners = _owners(layers)
    results: list[SimulationResult] = []
    for action in actions:
        for arn in resources or ("*",):
            ctx = replace(context, action=action, resources=(arn,))
            decision = evaluate(
                ctx,
                identity=identity,
                resource=resource,
                boundary=boundary,
                session=session,
                is_root=is_root,
                resource_account=resource_account,
                resource_policy_required=resource_policy_required,
            )
            found = collect(ctx, action.lower(), arn, layers)
            applied = list(found.denies) + [(PolicyType.IDENTITY, s) for s in found.identity]
            applied += [(PolicyType.RESOURCE, s) for s, _ in found.resource]
            applied += [(PolicyType.BOUNDARY, s) for s in found.boundary]
            applied += [(PolicyType.SESSION, s) for s in found.session]
            matched = tuple(_matched(s, owners.get(id(s)), kind) for kind, s in applied)
            results.append(
                SimulationResult(action, arn, decision, matched, _missing(ctx, arn, layers))
            )
    return tuple(results)


def _owners(layers: Layers) -> dict[int, CompiledPolicy]:
    groups = (layers.identity, layers.resource, layers.boundary or (), layers.session or ())
    return {id(stmt): policy for group in groups for policy in group for stmt in policy.statements}


def _matched(
    stmt: CompiledStatement, owner: CompiledPolicy | None, kind: PolicyType
) -> MatchedStatement:
    spans = statement_spans(owner.text) if owner is not None and owner.text else ()
    index = stmt.statement.index
    start, end = spans[index] if index < len(spans) else (None, None)
    return MatchedStatement(
        stmt.policy_id,
        kind,
        stmt.id,
        stmt.statement.sid,
        index,
        stmt.statement.effect.value,
        start,
        end,
    )


def _missing(ctx: RequestContext, arn: str, layers: Layers) -> tuple[str, ...]:
    groups = (layers.identity, layers.resource, layers.boundary or (), layers.session or ())
    keys: dict[str, str] = {}
    action = ctx.action.lower()
    for group in groups:
        for policy in group:
            for stmt in policy.candidates(action):
                if not stmt.matches_resource(arn, ctx):
                    continue
                for condition in stmt.conditions:
                    if not ctx.has(condition.key):
                        keys.setdefault(condition.key.lower(), condition.key)
    return tuple(keys[k] for k in sorted(keys))


def context_keys(
    *policies: CompiledPolicy | PolicyDocument | str | Mapping[str, object],
) -> tuple[str, ...]:
    """Condition keys and policy-variable keys the policies reference, sorted,
    de-duplicated case-insensitively (first spelling kept)."""
    keys: dict[str, str] = {}
    for policy in policies:
        for key in _keys_of(_document(policy)):
            keys.setdefault(key.lower(), key)
    return tuple(keys[k] for k in sorted(keys))


def _document(
    policy: CompiledPolicy | PolicyDocument | str | Mapping[str, object],
) -> PolicyDocument:
    if isinstance(policy, CompiledPolicy):
        return policy.document
    if isinstance(policy, PolicyDocument):
        return policy
    return parse_document(policy)


def _keys_of(document: PolicyDocument) -> Iterable[str]:
    for stmt in document.statements:
        for clause in stmt.conditions:
            yield clause.key
        if not document.supports_variables:
            continue
        texts = [v for c in stmt.conditions for v in c.values]
        texts += list(stmt.resource.patterns) if stmt.resource else []
        for text in texts:
            if "${" in text:
                yield from parse_template(text).keys
