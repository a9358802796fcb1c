"""Differential test: the compiled, indexed engine against the naive reference
evaluator (``reference.py``) on random policies and requests. Every disagreement
found while writing this became a case in ``cases/differential.json``."""

from __future__ import annotations

import json
from typing import Any

import reference
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policy_strategies import clauses, contexts, options, policy_sets, requests

from warden.policy import CompiledPolicy, PolicyType, RequestContext, evaluate
from warden.policy.conditions import CompiledCondition
from warden.policy.wildcard import arn_like_regex, resource_regex, string_like_regex, tokens

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


def _engine(
    policies: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
) -> tuple[str, str, list[str]]:
    ctx = RequestContext(
        action=request["action"],
        resources=tuple(request["resources"]),
        principal_arn=request["principal_arn"],
        principal_account=request["principal_account"],
        keys=request["keys"],
        caller_arn=request["caller_arn"],
    )
    decision = evaluate(
        ctx,
        identity=_compile(policies, "identity") or [],
        resource=_compile(policies, "resource") or [],
        boundary=_compile(policies, "boundary"),
        session=_compile(policies, "session"),
        **opts,
    )
    return decision.effect.value, decision.policy_type.value, list(decision.deciding)


@settings(max_examples=8000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy_sets(), st.lists(requests(), min_size=1, max_size=3), options)
def test_engine_agrees_with_reference(
    policies: dict[str, Any], reqs: list[dict[str, Any]], opts: dict[str, Any]
) -> None:
    for request in reqs:
        effect, kind, deciding = _engine(policies, request, opts)
        ref_effect, ref_kind, ref_deciding = reference.evaluate(request, policies, **opts)
        assert (effect, kind) == (ref_effect, ref_kind), (request, policies, opts)
        assert deciding == list(dict.fromkeys(ref_deciding)), (request, policies, opts)


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


@settings(max_examples=20000, deadline=None)
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


GLOB = st.text(alphabet="ab:/*?", max_size=10)
TEXT = st.text(alphabet="ab:/", max_size=10)


@settings(max_examples=1500, deadline=None)
@given(GLOB, TEXT)
def test_resource_wildcards_agree_with_reference(pattern: str, resource: str) -> None:
    got = resource_regex(tokens(pattern)).fullmatch(resource) is not None
    assert got == reference.glob_match(reference.resource_items([("text", pattern)]), resource)


@settings(max_examples=1500, deadline=None)
@given(GLOB, TEXT)
def test_arn_like_and_string_like_agree_with_reference(pattern: str, value: str) -> None:
    arn = arn_like_regex(tokens(pattern)).fullmatch(value) is not None
    assert arn == reference.arn_like([("text", pattern)], value)
    like = string_like_regex(tokens(pattern)).fullmatch(value) is not None
    assert like == reference.glob_match(reference.simple_items([("text", pattern)]), value)
