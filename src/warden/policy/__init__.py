"""The IAM policy engine: pure (no I/O), total (never raises while evaluating), explainable.

Public API::

    doc = check(text, PolicyKind.MANAGED)                    # write time: PolicyError
    policy = CompiledPolicy.compile(arn, text, policy_type=PolicyType.IDENTITY)
    decision = evaluate(RequestContext(...), identity=[policy], boundary=None, ...)
    compiled = compile_set(identity, boundary)   # what evaluate uses (memoised); or keep
    decision = compiled.evaluate(ctx, resource=..., session=..., ...)  # it and skip the memo
    simulate(ctx, actions, resources, identity=[...]) / context_keys(text, ...)
"""

from .compiled import CompiledPolicy, PolicyCache
from .compiled_set import CompiledSet, compile_set
from .context import ContextValue, Deferred, RequestContext
from .decision import Decision, DeferredDecision, Effect, PolicyType, denial_message
from .document import PolicyDocument, parse_document
from .engine import evaluate
from .errors import PolicyError, PolicyErrorCode
from .explain import describe, reason
from .positions import Position
from .simulate import MatchedStatement, SimulationResult, context_keys, simulate
from .validate import PolicyKind, check, inline_quota_error, policy_size, problems

__all__ = [
    "CompiledPolicy",
    "CompiledSet",
    "ContextValue",
    "Decision",
    "Deferred",
    "DeferredDecision",
    "Effect",
    "MatchedStatement",
    "PolicyCache",
    "PolicyDocument",
    "PolicyError",
    "PolicyErrorCode",
    "PolicyKind",
    "PolicyType",
    "Position",
    "RequestContext",
    "SimulationResult",
    "check",
    "compile_set",
    "context_keys",
    "denial_message",
    "describe",
    "evaluate",
    "inline_quota_error",
    "parse_document",
    "policy_size",
    "problems",
    "reason",
    "simulate",
]
