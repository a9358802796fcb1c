"""Data-driven IAM cases (``cases/*.json``), each checked against the engine and the
naive reference evaluator: the effect, the policy type that decided, and the deciding
statements. The schema is strict: an unknown field fails the test, so a typo in a
case cannot silently weaken it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import reference

from warden.policy import CompiledPolicy, Decision, PolicyType, RequestContext, evaluate

CASES_DIR = Path(__file__).parent / "cases"
FILE_FIELDS = {"description", "source", "request", "policies", "options", "cases"}
CASE_FIELDS = {"name", "request", "policies", "options", "expect"}
REQUEST_FIELDS = {"action", "resources", "principal_arn", "principal_account", "caller_arn", "keys"}
OPTION_FIELDS = {"is_root", "resource_account", "resource_policy_required"}
EXPECT_FIELDS = {"effect", "policy_type", "deciding", "resource"}
LAYERS = {
    "identity": PolicyType.IDENTITY,
    "resource": PolicyType.RESOURCE,
    "boundary": PolicyType.BOUNDARY,
    "session": PolicyType.SESSION,
}


def _strict(obj: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(obj) - allowed
    if unknown:
        raise ValueError(f"{where}: unknown fields {sorted(unknown)}")


def _load() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.json")):
        data = json.loads(path.read_text())
        _strict(data, FILE_FIELDS, path.name)
        for case in data["cases"]:
            _strict(case, CASE_FIELDS, f"{path.name}: {case.get('name')}")
            request = {**data.get("request", {}), **case.get("request", {})}
            _strict(request, REQUEST_FIELDS, f"{path.name}: {case['name']} request")
            options = case.get("options", data.get("options", {}))
            _strict(options, OPTION_FIELDS, f"{path.name}: {case['name']} options")
            _strict(case["expect"], EXPECT_FIELDS, f"{path.name}: {case['name']} expect")
            policies = case.get("policies", data.get("policies", {}))
            _strict(policies, set(LAYERS), f"{path.name}: {case['name']} policies")
            resolved = {
                "request": request,
                "options": options,
                "policies": policies,
                "expect": case["expect"],
            }
            params.append(pytest.param(resolved, id=f"{path.stem}: {case['name']}"))
    return params


CASES = _load()


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 300


def _context(request: dict[str, Any]) -> RequestContext:
    return RequestContext(
        action=request["action"],
        resources=tuple(request.get("resources", ["*"])),
        principal_arn=request.get("principal_arn", ""),
        principal_account=request.get("principal_account", ""),
        keys=request.get("keys", {}),
        caller_arn=request.get("caller_arn", ""),
    )


def _compiled(policies: dict[str, Any], layer: str) -> list[CompiledPolicy] | None:
    if layer not in policies:
        return None
    return [
        CompiledPolicy.compile(p["id"], json.dumps(p["document"]), policy_type=LAYERS[layer])
        for p in policies[layer]
    ]


def run_engine(case: dict[str, Any]) -> Decision:
    policies = case["policies"]
    return evaluate(
        _context(case["request"]),
        identity=_compiled(policies, "identity") or [],
        resource=_compiled(policies, "resource") or [],
        boundary=_compiled(policies, "boundary"),
        session=_compiled(policies, "session"),
        **case["options"],
    )


def run_reference(case: dict[str, Any]) -> tuple[str, str, list[str]]:
    policies = {
        layer: None
        if layer not in case["policies"]
        else [(p["id"], p["document"]) for p in case["policies"][layer]]
        for layer in LAYERS
    }
    return reference.evaluate(case["request"], policies, **case["options"])


@pytest.mark.parametrize("case", CASES)
def test_case(case: dict[str, Any]) -> None:
    expect = case["expect"]
    decision = run_engine(case)
    ref_effect, ref_type, ref_deciding = run_reference(case)
    assert decision.effect.value == expect["effect"]
    assert ref_effect == expect["effect"]
    if "policy_type" in expect:
        assert decision.policy_type.value == expect["policy_type"]
        assert ref_type == expect["policy_type"]
    if "deciding" in expect:
        assert list(decision.deciding) == expect["deciding"]
        # The naive reference lists a statement once per policy that holds it.
        assert list(dict.fromkeys(ref_deciding)) == expect["deciding"]
    if "resource" in expect:
        assert decision.resource == expect["resource"]
