"""A deliberately naive IAM evaluator, written straight from the AWS docs.

No compilation, no indexing, no regular expressions: raw JSON dicts in, plain loops
and a dynamic-programming glob matcher. It shares no code with ``warden.policy`` so the
differential test compares two independent readings of the same rules:

* IAM User Guide "Policy evaluation logic" (explicit deny, resource-based vs identity
  policies in one account, boundaries, session policies, cross-account);
* "Resource" (wildcards per ARN segment; a trailing ``*`` crosses colons), "Action"
  (case-insensitive), "NotAction"/"NotResource"/"NotPrincipal";
* "Condition operators", "multivalued context keys" (ForAllValues / ForAnyValue), and
  "Policy variables" (defaults, ``${*}``, 2008-10-17 literal, unresolved = null).

Returns (effect, policy_type, deciding statement ids) as strings.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

NEGATED = {
    "StringNotEquals",
    "StringNotEqualsIgnoreCase",
    "StringNotLike",
    "NumericNotEquals",
    "DateNotEquals",
    "NotIpAddress",
    "ArnNotEquals",
    "ArnNotLike",
}
BASES = {
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
    "StringLike", "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan",
    "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals",
    "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
    "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals",
    "ArnLike", "ArnNotEquals", "ArnNotLike", "Null",
}  # fmt: skip


class Malformed(Exception):
    pass


# ---------------------------------------------------------------- context


def to_str(v: Any) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


class Context:
    def __init__(self, request: dict[str, Any]) -> None:
        self.action: str = request["action"]
        self.principal_arn: str = request.get("principal_arn", "")
        self.account: str = request.get("principal_account", "")
        self.caller: str = request.get("caller_arn", "") or self.principal_arn
        self.keys: dict[str, list[str]] = {}
        self.multi: set[str] = set()
        for k, v in request.get("keys", {}).items():
            if v is None:
                continue
            if isinstance(v, list):
                if v:
                    self.keys[k.lower()] = [to_str(x) for x in v if x is not None]
                    self.multi.add(k.lower())
                    if not self.keys[k.lower()]:
                        del self.keys[k.lower()]
            else:
                self.keys[k.lower()] = [to_str(v)]
                self.multi.discard(k.lower())
        if self.principal_arn and "aws:principalarn" not in self.keys:
            self.keys["aws:principalarn"] = [self.principal_arn]
        if self.account and "aws:principalaccount" not in self.keys:
            self.keys["aws:principalaccount"] = [self.account]

    def get(self, key: str) -> list[str] | None:
        return self.keys.get(key.lower())

    def single(self, key: str) -> str | None:
        if key.lower() in self.multi:
            return None
        v = self.keys.get(key.lower())
        return v[0] if v else None


# ---------------------------------------------------------------- globbing

# A pattern is a list of items: ("lit", ch) | ("one", cls) | ("many", cls), where
# cls is "any" (every character) or "nocolon".


def glob_match(items: list[tuple[str, str]], text: str) -> bool:
    n, m = len(items), len(text)
    # ok[i][j]: items[i:] matches text[j:]
    ok = [[False] * (m + 1) for _ in range(n + 1)]
    ok[n][m] = True
    for i in range(n - 1, -1, -1):
        kind, arg = items[i]
        for j in range(m, -1, -1):
            if kind == "lit":
                ok[i][j] = j < m and text[j] == arg and ok[i + 1][j + 1]
            elif kind == "one":
                ok[i][j] = j < m and allowed(arg, text[j]) and ok[i + 1][j + 1]
            else:
                ok[i][j] = ok[i + 1][j] or (j < m and allowed(arg, text[j]) and ok[i][j + 1])
    return ok[0][0]


def allowed(cls: str, ch: str) -> bool:
    return cls == "any" or ch != ":"


# Pieces: ("text", str) wildcards live / ("lit", str) literal, from variable rendering.
Pieces = list[tuple[str, str]]


def simple_items(pieces: Pieces) -> list[tuple[str, str]]:
    out = []
    for kind, s in pieces:
        for ch in s:
            if kind == "text" and ch == "*":
                out.append(("many", "any"))
            elif kind == "text" and ch == "?":
                out.append(("one", "any"))
            else:
                out.append(("lit", ch))
    return out


def resource_items(pieces: Pieces) -> list[tuple[str, str]]:
    flat = simple_items(pieces)
    out = []
    segment = 0
    for i, (kind, arg) in enumerate(flat):
        if kind == "lit":
            out.append((kind, arg))
            if arg == ":":
                segment += 1
            continue
        if segment >= 5:
            out.append((kind, "any"))
        elif kind == "many":
            last_in_segment = i == len(flat) - 1 or flat[i + 1] == ("lit", ":")
            out.append(("many", "any" if last_in_segment else "nocolon"))
        else:
            out.append(("one", "nocolon"))
    return out


def arn_like(pieces: Pieces, value: str) -> bool:
    flat = simple_items(pieces)
    # split the pattern at its first five literal colons
    parts: list[list[tuple[str, str]]] = [[]]
    for item in flat:
        if item == ("lit", ":") and len(parts) < 6:
            parts.append([])
        else:
            parts[-1].append(item)
    values = value.split(":", 5)
    if len(parts) != 6 or len(values) != 6:
        return False
    return all(glob_match(p, v) for p, v in zip(parts, values, strict=True))


# ---------------------------------------------------------------- variables


def render(text: str, ctx: Context, variables: bool) -> Pieces | None:
    """Substitute ${...}; None when a variable has no value and no default."""
    if not variables:
        return [("text", text)]
    pieces: Pieces = []
    rest = text
    while "${" in rest:
        start = rest.index("${")
        end = rest.find("}", start + 2)
        if end < 0:
            break
        pieces.append(("text", rest[:start]))
        inner = rest[start + 2 : end]
        rest = rest[end + 1 :]
        if inner in ("*", "?", "$"):
            pieces.append(("lit", inner))
            continue
        if "," in inner:
            key, default = inner.split(",", 1)
            default = default.strip()
            if len(default) < 2 or default[0] != "'" or default[-1] != "'":
                return None
            default = default[1:-1]
        else:
            key, default = inner, None
        key = key.strip()
        value = ctx.single(key) if key else None
        if value is None:
            value = default
        if value is None:
            return None
        pieces.append(("lit", value))
    pieces.append(("text", rest))
    return pieces


def flat_text(pieces: Pieces) -> str:
    return "".join(s for _, s in pieces)


# ---------------------------------------------------------------- values


def parse_number(s: str) -> Decimal | None:
    if not s or any(c not in "0123456789.-+eE" for c in s):
        return None
    if s.count(".") > 1 or s.lower().startswith("e") or s in ("+", "-", ".", "-.", "+."):
        return None
    try:
        d = Decimal(s)
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def parse_date(s: str) -> Decimal | None:
    body = s[1:] if s.startswith("-") else s
    digits = all(c in "0123456789." for c in body) and body.count(".") <= 1
    if body and digits and body[0] != "." and body[-1] != ".":
        return Decimal(s)
    try:
        d = datetime.fromisoformat(s.upper().replace("Z", "+00:00"))
    except ValueError:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    try:
        delta = d - datetime(1970, 1, 1, tzinfo=UTC)
    except OverflowError:
        return None
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / 1000000


def parse_b64(s: str) -> bytes | None:
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        return None


# ---------------------------------------------------------------- conditions


def split_operator(name: str) -> tuple[str, str, bool]:
    qualifier = ""
    for q in ("ForAllValues:", "ForAnyValue:"):
        if name.startswith(q):
            qualifier, name = q, name[len(q) :]
    if_exists = name.endswith("IfExists")
    base = name[: -len("IfExists")] if if_exists else name
    if base not in BASES or (base == "Null" and (if_exists or qualifier)):
        raise Malformed(name)
    return qualifier, base, if_exists


def one_value_matches(base: str, request_value: str, policy_value: Any) -> bool:
    """The positive test of ``base`` between one request and one policy value."""
    positive = {
        "StringNotEquals": "StringEquals",
        "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
        "StringNotLike": "StringLike",
        "NumericNotEquals": "NumericEquals",
        "DateNotEquals": "DateEquals",
        "NotIpAddress": "IpAddress",
        "ArnNotEquals": "ArnLike",
        "ArnNotLike": "ArnLike",
        "ArnEquals": "ArnLike",
    }.get(base, base)
    if positive == "StringEquals":
        return request_value == flat_text(policy_value)
    if positive == "StringEqualsIgnoreCase":
        return request_value.casefold() == flat_text(policy_value).casefold()
    if positive == "StringLike":
        return glob_match(simple_items(policy_value), request_value)
    if positive == "ArnLike":
        return arn_like(policy_value, request_value)
    if positive == "Bool":
        return request_value.lower() == flat_text(policy_value).lower()
    if positive == "BinaryEquals":
        return bool(parse_b64(request_value) == policy_value)
    if positive == "IpAddress":
        try:
            ip = ipaddress.ip_address(request_value.strip())
        except ValueError:
            return False
        return bool(ip.version == policy_value.version and ip in policy_value)
    parse = parse_number if positive.startswith("Numeric") else parse_date
    rv = parse(request_value)
    if rv is None:
        return False
    test = positive.removeprefix("Numeric").removeprefix("Date")
    return {
        "Equals": rv == policy_value,
        "LessThan": rv < policy_value,
        "LessThanEquals": rv <= policy_value,
        "GreaterThan": rv > policy_value,
        "GreaterThanEquals": rv >= policy_value,
    }[test]


def policy_values(base: str, raw: list[str], ctx: Context, variables: bool) -> list[Any]:
    """Policy values ready to compare; unresolved variables drop out; bad values raise."""
    out: list[Any] = []
    for text in raw:
        if base.startswith(("String", "Arn")) or base == "Bool":
            pieces = render(text, ctx, variables)
            if pieces is not None:
                out.append(pieces)
        elif base.startswith("Numeric"):
            out.append(must(parse_number(text)))
        elif base.startswith("Date"):
            out.append(must(parse_date(text)))
        elif base == "BinaryEquals":
            out.append(must(parse_b64(text)))
        elif base in ("IpAddress", "NotIpAddress"):
            try:
                out.append(ipaddress.ip_network(text.strip(), strict=False))
            except ValueError as exc:
                raise Malformed(text) from exc
    return out


def must(v: Any) -> Any:
    if v is None:
        raise Malformed("value")
    return v


def condition_holds(operator: str, key: str, raw: list[str], ctx: Context, variables: bool) -> bool:
    """May raise Malformed."""
    qualifier, base, if_exists = split_operator(operator)
    if base == "Null":
        wanted = []
        for v in raw:
            if v.lower() not in ("true", "false"):
                raise Malformed(v)
            wanted.append(v.lower() == "true")
        absent = ctx.get(key) is None
        return absent in wanted
    values = policy_values(base, raw, ctx, variables)
    request = ctx.get(key)
    negated = base in NEGATED
    if request is None:
        if if_exists:
            return True
        if qualifier == "ForAllValues:":
            return True
        if qualifier == "ForAnyValue:":
            return False
        return negated
    results = []
    for rv in request:
        hit = any(one_value_matches(base, rv, pv) for pv in values)
        results.append(not hit if negated else hit)
    if qualifier == "ForAllValues:":
        return all(results)
    if qualifier == "ForAnyValue:":
        return any(results)
    return all(results) if negated else any(results)


# ---------------------------------------------------------------- statements


def as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def cond_str(v: Any) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    return v if isinstance(v, str) else repr(v)


def statement_applies(
    st: dict[str, Any], ctx: Context, resource: str, variables: bool, needs_resource: bool
) -> bool:
    """Action, resource and conditions (not the principal). Malformed Deny applies;
    an identity-style Allow without Resource/NotResource is malformed and grants nothing."""
    deny = st["Effect"] == "Deny"
    if needs_resource and not deny and "Resource" not in st and "NotResource" not in st:
        return False
    if "Action" in st:
        ok = any(
            glob_match(simple_items([("text", p.lower())]), ctx.action.lower())
            for p in as_list(st["Action"])
        )
    elif "NotAction" in st:
        ok = not any(
            glob_match(simple_items([("text", p.lower())]), ctx.action.lower())
            for p in as_list(st["NotAction"])
        )
    else:
        ok = deny
    if not ok:
        return False
    for name, negate in (("Resource", False), ("NotResource", True)):
        if name in st:
            hit = False
            for p in as_list(st[name]):
                pieces = render(p, ctx, variables) if "${" in p else [("text", p)]
                if pieces is not None and glob_match(resource_items(pieces), resource):
                    hit = True
            if hit == negate:
                return False
    for operator, block in st.get("Condition", {}).items():
        for key, vals in block.items():
            try:
                holds = condition_holds(
                    operator, key, [cond_str(v) for v in as_list(vals)], ctx, variables
                )
            except Malformed:
                holds = deny
            if not holds:
                return False
    return True


def principal_kind(st: dict[str, Any], ctx: Context, has_boundary: bool) -> str:
    """'direct' | 'role' | 'account' | 'none' for a resource-policy statement."""
    deny = st["Effect"] == "Deny"
    if "Principal" in st:
        spec, negated = st["Principal"], False
    elif "NotPrincipal" in st:
        spec, negated = st["NotPrincipal"], True
    else:
        return "direct" if deny else "none"
    if spec == "*":
        named = "direct"
        aws: list[str] = ["*"]
    else:
        aws = as_list(spec.get("AWS", []))
        if "*" in aws or (ctx.caller and ctx.caller in aws):
            named = "direct"
        elif ctx.principal_arn and ctx.principal_arn != ctx.caller and ctx.principal_arn in aws:
            named = "role"
        elif ctx.account and any(names_account(a, ctx.account) for a in aws):
            named = "account"
        else:
            named = "none"
    if not negated:
        return named
    if not deny:
        return "direct" if named == "none" else "none"
    # NotPrincipal with Deny: "AWS might validate the account first, then the role, and
    # then the assumed-role user" -- so a caller escapes only if all of them are listed.
    if has_boundary:
        return "direct"
    if "*" in aws:
        return "none"
    chain = [ctx.caller]
    if ctx.principal_arn != ctx.caller:
        chain.append(ctx.principal_arn)
    listed = all(c and c in aws for c in chain)
    listed = listed and bool(ctx.account) and any(names_account(a, ctx.account) for a in aws)
    return "none" if listed else "direct"


def names_account(value: str, account: str) -> bool:
    return value == account or (
        value.startswith("arn:") and value.endswith(f":iam::{account}:root")
    )


def sid_of(pid: str, st: dict[str, Any], i: int) -> str:
    return f"{pid}#{st['Sid']}" if st.get("Sid") else f"{pid}#[{i}]"


def statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return as_list(doc["Statement"])


# ---------------------------------------------------------------- decision


def decide_one(
    ctx: Context, resource: str, policies: dict[str, Any], is_root: bool,
    resource_account: str | None, required: bool,
) -> tuple[str, str, list[str]]:  # fmt: skip
    has_boundary = policies.get("boundary") is not None
    denies: list[tuple[int, str]] = []
    allows: dict[str, list[str]] = {"identity": [], "boundary": [], "session": []}
    resource_allows: list[tuple[str, str]] = []
    order = {"identity": 0, "resource": 1, "boundary": 2, "session": 3}
    for layer in ("identity", "resource", "boundary", "session"):
        for pid, doc in policies.get(layer) or []:
            variables = doc.get("Version") == "2012-10-17"
            for i, st in enumerate(statements(doc)):
                kind = principal_kind(st, ctx, has_boundary) if layer == "resource" else "direct"
                applies = statement_applies(st, ctx, resource, variables, layer != "resource")
                if kind == "none" or not applies:
                    continue
                sid = sid_of(pid, st, i)
                if st["Effect"] == "Deny":
                    denies.append((order[layer], sid))
                elif layer == "resource":
                    resource_allows.append((kind, sid))
                else:
                    allows[layer].append(sid)
    type_name = {0: "identity-based", 1: "resource-based", 2: "permissions boundary", 3: "session"}
    if denies:
        denies.sort(key=lambda d: d[0])
        return "explicitDeny", type_name[denies[0][0]], [s for _, s in denies]
    same = resource_account is None or resource_account == ctx.account
    granted = [s for _, s in resource_allows]
    if is_root:
        if same and not required:
            return "allowed", "identity-based", ["root"]
        if granted:
            return "allowed", "resource-based", granted
        return "implicitDeny", "resource-based", []
    boundary_ok = policies.get("boundary") is None or bool(allows["boundary"])
    session_ok = policies.get("session") is None or bool(allows["session"])

    def missing() -> str:
        if not allows["identity"]:
            return "identity-based"
        if not boundary_ok:
            return "permissions boundary"
        if not session_ok:
            return "session"
        return "resource-based"

    if not same:
        if allows["identity"] and boundary_ok and session_ok and granted:
            return "allowed", "identity-based", allows["identity"] + granted
        return "implicitDeny", missing(), []
    direct = [s for k, s in resource_allows if k == "direct"]
    role = [s for k, s in resource_allows if k == "role"]
    account = [s for k, s in resource_allows if k == "account"]
    if direct:
        return "allowed", "resource-based", direct
    if role and boundary_ok and session_ok:
        return "allowed", "resource-based", role
    identity_path = not required or bool(account)
    if identity_path and allows["identity"] and boundary_ok and session_ok:
        return "allowed", "identity-based", allows["identity"] + (account if required else [])
    if role:
        return "implicitDeny", "permissions boundary" if not boundary_ok else "session", []
    if not identity_path:
        return "implicitDeny", "resource-based", []
    return "implicitDeny", missing(), []


def evaluate(
    request: dict[str, Any], policies: dict[str, Any], *, is_root: bool = False,
    resource_account: str | None = None, resource_policy_required: bool = False,
) -> tuple[str, str, list[str]]:  # fmt: skip
    ctx = Context(request)
    outcomes = [
        decide_one(ctx, r, policies, is_root, resource_account, resource_policy_required)
        for r in request.get("resources") or ["*"]
    ]
    for effect in ("explicitDeny", "implicitDeny"):
        for o in outcomes:
            if o[0] == effect:
                return o
    deciding: list[str] = []
    for o in outcomes:
        deciding += [s for s in o[2] if s not in deciding]
    return "allowed", outcomes[0][1], deciding
