"""Differential test: the compiled, indexed engine against the naive reference
evaluator (``reference.py``) on random policies and requests. Policies are compiled
once per example and every request is decided twice, so the per-action plans and the
resource and decision memos are exercised warm as well as cold; the exhaustive path
simulation uses (``collect`` + ``decide``) is held to the reference too. Every
disagreement found became a case in ``cases/`` (after checking the AWS docs for which
side was right)."""

from __future__ import annotations

import json
from typing import Any

import reference
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policy_strategies import clauses, contexts, options, policy_sets, requests

from warden.policy import CompiledPolicy, PolicyType, RequestContext, evaluate
from warden.policy.conditions import CompiledCondition
from warden.policy.engine import Layers, collect, combine, decide
from warden.policy.wildcard import (
    action_glob,
    arn_like_glob,
    resource_glob,
    string_like_glob,
    tokens,
)

TYPES = {
    "identity": PolicyType.IDENTITY,
    "resource": PolicyType.RESOURCE,
    "boundary": PolicyType.BOUNDARY,
    "session": PolicyType.SESSION,
}


def _compile(policies: dict[str, Any], layer: str) -> list[CompiledPolicy] | None:
    found = policies[layer]
    if found is None:
        return None
    return [
        CompiledPolicy.compile(pid, json.dumps(doc), policy_type=TYPES[layer]) for pid, doc in found
    ]


def _context(request: dict[str, Any]) -> RequestContext:
    return RequestContext(
        action=request["action"],
        resources=tuple(request["resources"]),
        principal_arn=request["principal_arn"],
        principal_account=request["principal_account"],
        keys=request["keys"],
        caller_arn=request["caller_arn"],
    )


Outcome = tuple[str, str, list[str]]


def _engine(
    compiled: dict[str, list[CompiledPolicy] | None], ctx: RequestContext, opts: dict[str, Any]
) -> Outcome:
    decision = evaluate(
        ctx,
        identity=compiled["identity"] or [],
        resource=compiled["resource"] or [],
        boundary=compiled["boundary"],
        session=compiled["session"],
        **opts,
    )
    return decision.effect.value, decision.policy_type.value, list(decision.deciding)


def _exhaustive(
    compiled: dict[str, list[CompiledPolicy] | None], ctx: RequestContext, opts: dict[str, Any]
) -> Outcome:
    """The path simulation uses: every applying statement collected, then decided."""
    layers = Layers(
        compiled["identity"] or [],
        compiled["resource"] or [],
        compiled["boundary"],
        compiled["session"],
    )
    decisions = [
        decide(collect(ctx, ctx.action.lower(), arn, layers), ctx, layers, arn, **opts)
        for arn in ctx.resources
    ]
    d = combine(decisions)
    return d.effect.value, d.policy_type.value, list(d.deciding)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy_sets(), st.lists(requests(), min_size=1, max_size=4), options)
def test_engine_agrees_with_reference(
    policies: dict[str, Any], reqs: list[dict[str, Any]], opts: dict[str, Any]
) -> None:
    # Compiled once per example, so later requests (and the repeat of each) run on
    # warm per-action plans, resource memos and decision memos.
    compiled = {layer: _compile(policies, layer) for layer in TYPES}
    for request in reqs + reqs:
        want = reference.evaluate(request, policies, **opts)
        want = (want[0], want[1], list(dict.fromkeys(want[2])))
        assert _engine(compiled, _context(request), opts) == want, (request, policies, opts)
        assert _exhaustive(compiled, _context(request), opts) == want, (request, policies, opts)


def _condition_of(operator: str, key: str, value: Any, version: str) -> CompiledCondition:
    doc = {
        "Version": version,
        "Statement": {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {operator: {key: value}},
        },
    }
    return (
        CompiledPolicy.compile("p", doc, policy_type=PolicyType.IDENTITY)
        .statements[0]
        .conditions[0]
    )


@settings(max_examples=2500, deadline=None)
@given(clauses(), contexts(), st.sampled_from(["2012-10-17", "2008-10-17"]))
def test_condition_agrees_with_reference(
    clause: tuple[str, str, Any], keys: dict[str, Any], version: str
) -> None:
    operator, key, value = clause
    request = {
        "action": "s3:GetObject",
        "principal_arn": "arn:aws:iam::111:user/bob",
        "principal_account": "111",
        "keys": keys,
    }
    ctx = RequestContext(
        "s3:GetObject",
        principal_arn="arn:aws:iam::111:user/bob",
        principal_account="111",
        keys=keys,
    )
    got = _condition_of(operator, key, value, version).evaluate(ctx)
    raw = [reference.cond_str(v) for v in reference.as_list(value)]
    try:
        want: bool | None = reference.condition_holds(
            operator, key, raw, reference.Context(request), version == "2012-10-17"
        )
    except reference.Malformed:
        want = None
    assert got == want


GLOB = st.text(alphabet="ab:/*?", max_size=16)
TEXT = st.text(alphabet="ab:/", max_size=16)


@settings(max_examples=1500, deadline=None)
@given(GLOB, TEXT)
def test_resource_wildcards_agree_with_reference(pattern: str, resource: str) -> None:
    got = bool(resource_glob(tokens(pattern)).matches(resource))
    assert got == reference.glob_match(reference.resource_items([("text", pattern)]), resource)


@settings(max_examples=1500, deadline=None)
@given(GLOB, TEXT)
def test_arn_like_and_string_like_agree_with_reference(pattern: str, value: str) -> None:
    arn = bool(arn_like_glob(tokens(pattern)).matches(value))
    assert arn == reference.arn_like([("text", pattern)], value)
    like = bool(string_like_glob(tokens(pattern)).matches(value))
    assert like == reference.glob_match(reference.simple_items([("text", pattern)]), value)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="aB:*?", max_size=10), st.text(alphabet="Ab:", max_size=10))
def test_action_wildcards_agree_with_reference(pattern: str, action: str) -> None:
    got = bool(action_glob(pattern).matches(action))
    assert got == reference.glob_match(
        reference.simple_items([("text", pattern.lower())]), action.lower()
    )


def test_many_stars_do_not_backtrack_catastrophically() -> None:
    # Five stars against 400 characters took tens of seconds with a naive regex;
    # these finish at once (no timing assertion: the suite's timeout is the guard).
    text = "a" * 400
    assert not string_like_glob(tokens("*a" * 12 + "b")).matches(text)
    assert not action_glob("*a" * 12 + "b").matches(text)
    assert not resource_glob(tokens("arn:aws:s3:::" + "*a" * 12 + "b")).matches(
        "arn:aws:s3:::" + text
    )
    mixed = resource_glob(tokens("arn:*a*a*a*a*a:b"))  # mid-segment stars: the NFA path
    assert not mixed.matches("arn:" + text)
    assert mixed.matches("arn:" + text + ":b")
    assert not arn_like_glob(tokens("arn:aws:s3:::" + "*a" * 12 + "b")).matches(
        "arn:aws:s3:::" + text
    )
