"""Policy-engine latency, side by side: warden's engine, moto's IAM evaluator, cedarpy.

One fixed-seed workload per run: a principal with 10 identity policies holding 50
statements in all (Allow and Deny; exact and wildcard actions, ``NotAction``; exact,
``*`` and wildcard resources), and 10,000 requests over realistic RDS, EC2, IAM, S3,
Secrets Manager, KMS and CloudWatch Logs actions and ARNs. Two variants:

* ``common``: only what moto's evaluator gets right (no conditions, actions spelled in
  the policies' case, no ``?``). All three engines must agree on every decision
  (moto: allowed / explicit deny / implicit deny; Cedar: that and the deciding
  statements) before anything is timed.
* ``conditions``: the same shape, each statement drawing conditions with probability 0.4 (String,
  Bool, IP, Numeric, IfExists, Null, ForAnyValue/ForAllValues over ``aws:TagKeys``) and
  request contexts that sometimes lack the keys. warden and Cedar must agree on every
  decision; moto (which only knows ``StringEquals``, and turns a false condition on an
  Allow into a Deny) is timed on it and its wrong decisions are counted, not fixed.

Each decision is timed on its own (``perf_counter_ns`` around one call; the ~0.1 µs
timer overhead is included, for every engine alike). warden: ``evaluate(ctx,
identity=policies)`` with the request context built beforehand (the authorizer builds
it once per request; its cost is reported separately). "cold": fresh policy objects,
so every action plan and resource/decision memo is built during the timed calls;
"warm": policy objects that already decided the workload once (a principal's steady
traffic), with fresh contexts. The engines take turns, 250 requests at a time, so load
from other processes falls on all of them alike. moto: its ``IAMPolicy`` objects built
once (its server re-parses the JSON on every request, which is not counted here), the
decision as ``check_action_permitted`` combines them. cedarpy: pre-parsed ``PolicySet``
and ``Entities`` handles, one ``is_authorized`` call per decision.

``python bench/policy.py`` prints the table and replaces the ``## bench/policy.py``
section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import json
import platform
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import cedarpy
from moto.iam.access_control import IAMPolicy, PermissionResult

from warden.policy import CompiledPolicy, PolicyType, RequestContext, evaluate

SEED = 20260301
ACCOUNT = "111122223333"
REQUESTS = 10_000
POLICY_SIZES = (9, 7, 6, 5, 5, 4, 4, 4, 3, 3)  # 50 statements in 10 policies
REGIONS = ("us-east-1", "eu-west-1")
ACTIONS = {
    "rds": "DescribeDBClusters DescribeDBInstances CreateDBCluster ModifyDBCluster DeleteDBCluster "
    "StartDBCluster StopDBCluster CreateDBClusterSnapshot DeleteDBClusterSnapshot "
    "AddTagsToResource ListTagsForResource RebootDBInstance",
    "ec2": "DescribeInstances DescribeSecurityGroups AuthorizeSecurityGroupIngress "
    "RevokeSecurityGroupIngress CreateSecurityGroup DeleteSecurityGroup RunInstances",
    "iam": "GetUser ListUsers CreateUser DeleteUser CreateAccessKey DeleteAccessKey "
    "ListAccessKeys AttachUserPolicy PassRole GetRole",
    "s3": "GetObject PutObject DeleteObject ListBucket GetBucketPolicy PutBucketPolicy",
    "secretsmanager": "GetSecretValue DescribeSecret PutSecretValue RotateSecret CreateSecret "
    "DeleteSecret ListSecrets",
    "kms": "Decrypt Encrypt GenerateDataKey DescribeKey CreateGrant ScheduleKeyDeletion",
    "logs": "CreateLogGroup PutLogEvents DescribeLogGroups DeleteLogGroup",
}
VERBS = ("Describe", "List", "Get", "Create", "Delete", "Put", "Modify", "Start", "Stop")
NAMES = ("prod-orders", "prod-users", "dev-orders", "dev-test", "staging-api")


def resources(service: str) -> list[str]:
    """The ARNs a request for ``service`` may name."""
    out: list[str] = []
    for region in REGIONS:
        head = f"arn:aws:{service}:{region}:{ACCOUNT}:"
        out += {
            "rds": [f"{head}cluster:{n}" for n in NAMES] + [f"{head}db:{n}-1" for n in NAMES],
            "ec2": [f"{head}security-group/sg-0{i}a1" for i in range(4)]
            + [f"{head}instance/i-0{i}f2" for i in range(3)],
            "secretsmanager": [f"{head}secret:{n}/master-AbC{i}" for i, n in enumerate(NAMES)],
            "kms": [f"{head}key/1234abcd-12ab-34cd-56ef-00000000000{i}" for i in range(4)],
            "logs": [f"{head}log-group:/app/{n}" for n in NAMES],
        }.get(service, [])
    if service == "iam":
        out = [f"arn:aws:iam::{ACCOUNT}:{k}/{n}" for k in ("user", "role") for n in NAMES[:4]]
    if service == "s3":
        out = [
            f"arn:aws:s3:::data-{b}/{p}" for b in ("prod", "dev") for p in ("reports/q1", "tmp/x")
        ]
        out += ["arn:aws:s3:::data-prod", "arn:aws:s3:::data-dev"]
    return out


def _action_patterns(rng: random.Random, service: str) -> list[str]:
    names = ACTIONS[service].split()
    roll = rng.random()
    if roll < 0.5:
        return [f"{service}:{n}" for n in rng.sample(names, rng.randint(1, 3))]
    if roll < 0.85:
        return [f"{service}:{v}*" for v in rng.sample(VERBS, rng.randint(1, 2))]
    return [f"{service}:*"]


def _resource_pattern(rng: random.Random, service: str) -> str:
    arn = rng.choice(resources(service))
    roll = rng.random()
    if roll < 0.3:
        return "*"
    if roll < 0.55:
        return arn
    parts = arn.split(":")
    if roll < 0.7 and parts[3]:
        parts[3] = "*"  # any region: a whole segment, so every engine reads it alike
        return ":".join(parts)
    cut = max(len(":".join(parts[:5])) + 2, len(arn) - rng.randint(2, 9))
    return arn[:cut] + "*"  # a prefix within the resource part


# Condition clauses over the keys of ``request_keys``: (operator, key, values).
CONDITIONS: list[tuple[str, str, Any]] = [
    ("StringEquals", "aws:PrincipalTag/team", ["orders", "data"]),
    ("StringEquals", "aws:RequestedRegion", "us-east-1"),
    ("StringNotEquals", "aws:RequestedRegion", ["ap-south-1", "eu-west-1"]),
    ("StringLike", "aws:ResourceTag/env", ["prod*", "staging"]),
    ("StringNotLike", "aws:ResourceTag/env", "dev*"),
    ("StringEqualsIfExists", "aws:ResourceTag/env", "prod"),
    ("Bool", "aws:SecureTransport", "true"),
    ("BoolIfExists", "aws:MultiFactorAuthPresent", "true"),
    ("IpAddress", "aws:SourceIp", ["10.0.0.0/8", "192.168.0.0/16"]),
    ("NotIpAddress", "aws:SourceIp", "203.0.113.0/24"),
    ("NumericLessThan", "aws:MultiFactorAuthAge", "3600"),
    ("NumericGreaterThanEquals", "aws:EpochTime", "1700000000"),
    ("Null", "aws:ResourceTag/owner", "false"),
    ("ForAnyValue:StringEquals", "aws:TagKeys", ["env", "team"]),
    ("ForAllValues:StringEquals", "aws:TagKeys", ["env", "team", "owner"]),
]


def policies(rng: random.Random, conditions: bool) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    n = 0
    for size in POLICY_SIZES:
        body = []
        for _ in range(size):
            service = rng.choice(list(ACTIONS))
            stmt: dict[str, Any] = {"Sid": f"S{n}", "Effect": "Allow"}
            n += 1
            deny = rng.random() < 0.15
            if deny:
                stmt["Effect"] = "Deny"
            if deny and rng.random() < 0.3:
                stmt["NotAction"] = [f"{service}:Get*", f"{service}:List*", f"{service}:Describe*"]
                stmt["Resource"] = rng.choice(resources(service)).rsplit(":", 1)[0] + ":*"
            else:
                stmt["Action"] = _action_patterns(rng, service)
                stmt["Resource"] = [
                    _resource_pattern(rng, service) for _ in range(rng.randint(1, 2))
                ]
            if conditions and rng.random() < 0.4:
                block: dict[str, dict[str, Any]] = {}
                for op, key, values in rng.sample(CONDITIONS, rng.randint(1, 2)):
                    block.setdefault(op, {})[key] = values
                stmt["Condition"] = block
            body.append(stmt)
        docs.append({"Version": "2012-10-17", "Statement": body})
    return docs


Request = tuple[str, str, dict[str, Any]]  # action, resource ARN, context keys


def requests(rng: random.Random, count: int, keys: bool) -> list[Request]:
    out: list[Request] = []
    for _ in range(count):
        service = rng.choice(list(ACTIONS))
        action = f"{service}:{rng.choice(ACTIONS[service].split())}"
        arn = "*" if rng.random() < 0.1 else rng.choice(resources(service))
        out.append((action, arn, request_keys(rng, arn) if keys else {}))
    return out


def request_keys(rng: random.Random, arn: str) -> dict[str, Any]:
    keys: dict[str, Any] = {
        "aws:username": "alice",
        "aws:PrincipalTag/team": rng.choice(["orders", "orders", "web"]),
        "aws:SecureTransport": rng.random() < 0.9,
        "aws:SourceIp": rng.choice(["10.1.2.3", "192.168.7.9", "203.0.113.5", "198.51.100.1"]),
        "aws:EpochTime": rng.choice([1772323200, 1690000000]),
        "aws:RequestedRegion": arn.split(":")[3] if arn.count(":") > 3 and arn.split(":")[3]
        else "us-east-1",
    }  # fmt: skip
    if rng.random() < 0.5:
        keys["aws:MultiFactorAuthPresent"] = True
        keys["aws:MultiFactorAuthAge"] = rng.randint(0, 7200)
    if rng.random() < 0.7:
        keys["aws:ResourceTag/env"] = rng.choice(["prod", "production", "dev", "staging"])
    if rng.random() < 0.5:
        keys["aws:ResourceTag/owner"] = "alice"
    if rng.random() < 0.4:
        keys["aws:TagKeys"] = rng.sample(["env", "team", "owner", "cost-center"], rng.randint(1, 3))
    return keys


# ------------------------------------------------------------------ the three engines

Outcome = tuple[str, tuple[str, ...]]  # effect, deciding statement ids (sorted)


class Warden:
    def __init__(self, docs: Sequence[dict[str, Any]]) -> None:
        self.policies = [
            CompiledPolicy.compile(f"p{i}", json.dumps(d), policy_type=PolicyType.IDENTITY)
            for i, d in enumerate(docs)
        ]

    @staticmethod
    def context(req: Request) -> RequestContext:
        action, arn, keys = req
        user = f"arn:aws:iam::{ACCOUNT}:user/alice"
        return RequestContext(action, (arn,), user, ACCOUNT, keys)

    def decide(self, ctx: RequestContext) -> Outcome:
        d = evaluate(ctx, identity=self.policies)
        return d.effect.value, tuple(sorted(d.deciding))


class Moto:
    def __init__(self, docs: Sequence[dict[str, Any]]) -> None:
        self.policies = [IAMPolicy(json.dumps(d)) for d in docs]

    def decide(self, req: Request) -> str:
        """``IAMRequestBase.check_action_permitted`` without the exceptions."""
        action, arn, keys = req
        permitted = False
        for policy in self.policies:
            result = policy.is_action_permitted(action, arn, None, keys)
            if result is PermissionResult.DENIED:
                return "explicitDeny"
            permitted = permitted or result is PermissionResult.PERMITTED
        return "allowed" if permitted else "implicitDeny"


class Cedar:
    """Each statement becomes one Cedar policy (``@id`` = warden's statement id) over
    ``context.action`` (lower-cased, as IAM compares actions), ``context.resource`` and
    the lower-cased condition keys."""

    def __init__(self, docs: Sequence[dict[str, Any]]) -> None:
        text = "\n".join(
            _cedar_statement(f"p{i}#{s['Sid']}", s)
            for i, d in enumerate(docs)
            for s in d["Statement"]
        )
        self.text = text
        self.policies = cedarpy.PolicySet.from_str(text)
        self.entities = cedarpy.Entities.from_json_str("[]")

    @staticmethod
    def request(req: Request) -> dict[str, Any]:
        action, arn, keys = req
        context: dict[str, Any] = {"action": action.lower(), "resource": arn}
        for key, value in keys.items():
            if key == "aws:SourceIp":
                value = {"__extn": {"fn": "ip", "arg": value}}
            if not (isinstance(value, list) and not value):  # IAM: an empty list is absent
                context[key.lower()] = value
        return {
            "principal": 'User::"alice"',
            "action": f'Action::"{action.lower()}"',
            "resource": 'Resource::"r"',
            "context": context,
        }

    def decide(self, request: dict[str, Any]) -> cedarpy.AuthzResult:
        return cedarpy.is_authorized(request, self.policies, self.entities)

    @staticmethod
    def outcome(result: cedarpy.AuthzResult) -> Outcome:
        if result.diagnostics.errors:
            raise SystemExit(f"cedar evaluation errors: {result.diagnostics.errors}")
        names = result.diagnostics.id_annotations_by_reason
        ids = tuple(sorted(names[r] for r in result.diagnostics.reasons))
        if result.allowed:
            return "allowed", ids
        return ("explicitDeny", ids) if ids else ("implicitDeny", ())


def _match(field: str, patterns: Sequence[str], lower: bool) -> str:
    terms = []
    for p in patterns:
        p = p.lower() if lower else p
        if p == "*":
            return "true"
        op = "like" if "*" in p else "=="
        terms.append(f'{field} {op} "{p}"')
    return "(" + " || ".join(terms) + ")"


def _cedar_condition(op: str, key: str, values: Any) -> str:
    k = key.lower()
    attr, has = f'context["{k}"]', f'context has "{k}"'
    vals = values if isinstance(values, list) else [values]
    if op == "Null":
        return f"!({has})" if vals[0] == "true" else has
    if op.startswith("ForAnyValue:"):
        return f"({has} && {attr}.containsAny([{', '.join(json.dumps(v) for v in vals)}]))"
    if op.startswith("ForAllValues:"):
        return f"(!({has}) || [{', '.join(json.dumps(v) for v in vals)}].containsAll({attr}))"
    if_exists, base = op.endswith("IfExists"), op.removesuffix("IfExists")
    negated = base.startswith(("StringNot", "Not"))
    base = base.replace("StringNot", "String").removeprefix("Not")

    def test(v: str) -> str:
        if base == "StringEquals":
            return f"{attr} == {json.dumps(v)}"
        if base == "StringLike":
            return f"{attr} like {json.dumps(v)}"
        if base == "Bool":
            return f"{attr} == {v}"
        if base == "IpAddress":
            return f'{attr}.isInRange(ip("{v}"))'
        cmp = {"NumericLessThan": "<", "NumericGreaterThanEquals": ">="}[base]
        return f"{attr} {cmp} {int(v)}"

    any_ = "(" + " || ".join(test(v) for v in vals) + ")"
    if negated:
        return f"(!({has}) || !{any_})"
    return f"(!({has}) || {any_})" if if_exists else f"({has} && {any_})"


def _cedar_statement(sid: str, stmt: dict[str, Any]) -> str:
    effect = "permit" if stmt["Effect"] == "Allow" else "forbid"
    if "Action" in stmt:
        action = _match("context.action", stmt["Action"], lower=True)
    else:
        action = "!" + _match("context.action", stmt["NotAction"], lower=True)
    resource = _match("context.resource", as_list(stmt["Resource"]), lower=False)
    terms = [action, resource] + [
        _cedar_condition(op, key, values)
        for op, block in stmt.get("Condition", {}).items()
        for key, values in block.items()
    ]
    return f'@id("{sid}")\n{effect}(principal, action, resource) when {{ {" && ".join(terms)} }};'


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ------------------------------------------------------------------ measuring


def timed(call: Callable[[Any], object], items: Sequence[Any]) -> list[float]:
    """Microseconds per call, one call at a time."""
    clock = time.perf_counter_ns
    out = []
    for item in items:
        start = clock()
        call(item)
        out.append((clock() - start) / 1000)
    return out


def p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(name: str, conditions: bool) -> list[tuple[str, str, list[float]]]:
    rng = random.Random(f"{SEED}-{name}")
    docs = policies(rng, conditions)
    reqs = requests(rng, REQUESTS, keys=conditions)
    warden, moto, cedar = Warden(docs), Moto(docs), Cedar(docs)
    cedar_reqs = [cedar.request(r) for r in reqs]
    # Correctness first, on separate policy objects so that the cold pass starts cold.
    checker = Warden(docs)
    expected = [checker.decide(checker.context(r)) for r in reqs]
    got_cedar = [cedar.outcome(cedar.decide(r)) for r in cedar_reqs]
    bad = [(r, e, c) for r, e, c in zip(reqs, expected, got_cedar, strict=True) if e != c]
    if bad:
        raise SystemExit(f"{name}: warden and Cedar disagree on {len(bad)}: {bad[:3]}")
    moto_wrong = sum(moto.decide(r) != e[0] for r, e in zip(reqs, expected, strict=True))
    if moto_wrong and not conditions:
        raise SystemExit(f"{name}: moto disagrees with warden on {moto_wrong} decisions")
    effects = {e: sum(x[0] == e for x in expected) for e in EFFECTS}
    cold = Warden(docs)  # fresh objects: every plan and memo is built while timed
    for ctx in (Warden.context(r) for r in reqs):  # an untimed pass warms ``warden``
        evaluate(ctx, identity=warden.policies)
    contexts = [[Warden.context(r) for r in reqs] for _ in range(3)]  # fresh per pass
    timings = interleaved(
        [
            ("warden (cold)", warden_call(cold), contexts[0]),
            ("warden (warm)", warden_call(warden), contexts[1]),
            ("warden (warm, deciding read)", warden_call(warden, True), contexts[2]),
            ("moto", moto.decide, reqs),
            ("cedarpy", cedar.decide, cedar_reqs),
        ]
    )
    conditioned = sum("Condition" in s for d in docs for s in d["Statement"])
    SUMMARY[name] = (effects, moto_wrong, conditioned)
    return [(name, label, samples) for label, samples in timings.items()]


def interleaved(
    runs: list[tuple[str, Callable[[Any], object], Sequence[Any]]], chunk: int = 250
) -> dict[str, list[float]]:
    """Each engine takes the next ``chunk`` requests in turn, so that load from other
    processes falls on every engine alike; in a shuffled order per chunk, so that none
    always runs right after the same one (and pays for the garbage it left)."""
    out: dict[str, list[float]] = {label: [] for label, _, _ in runs}
    order = random.Random(SEED)
    for start in range(0, REQUESTS, chunk):
        for label, call, items in order.sample(runs, len(runs)):
            out[label] += timed(call, items[start : start + chunk])
    return out


EFFECTS = ("allowed", "explicitDeny", "implicitDeny")
SUMMARY: dict[str, tuple[dict[str, int], int, int]] = {}


def warden_call(warden: Warden, read_deciding: bool = False) -> Callable[[RequestContext], object]:
    """``evaluate`` as the authorizer calls it; optionally also reading ``deciding``
    (computed lazily for an allow: the audit trail and ``explain`` read it, AWS's
    AccessDenied message does not)."""
    policies = warden.policies
    if read_deciding:
        return lambda ctx: evaluate(ctx, identity=policies).deciding
    return lambda ctx: evaluate(ctx, identity=policies)


def context_cost() -> float:
    rng = random.Random(SEED)
    reqs = requests(rng, 2000, keys=True)
    return statistics.median(timed(Warden.context, reqs))


def table(rows: list[tuple[str, str, list[float]]]) -> list[str]:
    warm = {w: p(s, 0.5) for w, e, s in rows if e == "warden (warm)"}
    lines = [
        "| workload | engine | p50 µs | p99 µs | p50 ÷ warden warm p50 |",
        "|---|---|---|---|---|",
    ]
    for workload, engine, samples in rows:
        ratio = p(samples, 0.5) / warm[workload]
        lines.append(
            f"| {workload} | {engine} | {p(samples, 0.5):.2f} | {p(samples, 0.99):.2f} | "
            f"{ratio:.1f}× |"
        )
    return lines


def main() -> None:
    rows = run("common", conditions=False) + run("conditions", conditions=True)
    lines = [*table(rows), ""]
    for name, (effects, moto_wrong, conditioned) in SUMMARY.items():
        mix = ", ".join(f"{k} {v}" for k, v in effects.items())
        lines.append(
            f"- {name}: {conditioned} of {sum(POLICY_SIZES)} statements with conditions; "
            f"decisions {mix}; every decision checked equal with Cedar (effect and deciding "
            f"statements){' and moto (effect)' if not moto_wrong else ''}; "
            f"moto wrong on {moto_wrong} of {REQUESTS}."
        )
    p50 = {(w, e): p(s, 0.5) for w, e, s in rows}
    for name in SUMMARY:
        warm, cold = p50[(name, "warden (warm)")], p50[(name, "warden (cold)")]
        lines.append(
            f"- {name}: moto ÷ warden = {p50[(name, 'moto')] / warm:.0f}× warm, "
            f"{p50[(name, 'moto')] / cold:.0f}× cold; cedarpy ÷ warden = "
            f"{p50[(name, 'cedarpy')] / warm:.0f}× warm (target ≥ 20× moto, p50 ≤ 3.5 µs, "
            f"never > 10 µs: {'met' if max(warm, cold) <= 3.5 and p50[(name, 'moto')] / max(warm, cold) >= 20 else 'NOT met'})."
        )
    lines.append(f"- RequestContext construction (≈12 keys), p50: {context_cost():.2f} µs.")
    print("\n".join(lines))
    write_results(lines)


def write_results(lines: list[str]) -> None:
    path = Path(__file__).with_name("RESULTS.md")
    text = path.read_text() if path.exists() else ""
    head = (
        f"## bench/policy.py\n\nMachine: {platform.machine()}, Python "
        f"{sys.version.split()[0]}, {date.today().isoformat()}, seed {SEED}; "
        f"{REQUESTS} requests, 10 policies / {sum(POLICY_SIZES)} statements; "
        "per-decision latency (see the script's docstring for what is timed).\n\n"
    )
    section = head + "\n".join(lines) + "\n"
    pattern = re.compile(r"^## bench/policy\.py\n.*?(?=^#{1,2} |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text)


if __name__ == "__main__":
    main()
