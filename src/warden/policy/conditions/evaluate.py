"""One condition clause (operator, key, values) compiled once, evaluated per request.

Semantics (IAM User Guide, condition operators and multivalued keys):

* Several values for one key are OR; a negated operator is true for a request value
  that matches *none* of them.
* Absent key (or empty list): ``…IfExists`` → true; ``ForAllValues`` → true;
  ``ForAnyValue`` → false; otherwise positive → false, negated → true.
* ``ForAllValues``: every request value passes; ``ForAnyValue``: at least one does.
  Without a qualifier a multivalued key passes a positive operator if any value
  passes, a negated one if all do.
* ``Null``: ``"true"`` means the key is absent, ``"false"`` that it is present.
* Policy variables (2012-10-17 only) are substituted in String, Arn and Bool values;
  a value whose variable does not resolve is null and takes no part in the match.

``evaluate`` returns ``None`` for a malformed condition (unknown operator, a policy
value that does not parse for its family): the statement decides what that means
(an Allow does not apply, a Deny does). It never raises.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from ..context import RequestContext
from ..document import ConditionClause
from ..variables import Template, parse_template
from ..wildcard import ArnGlob, Glob, arn_like_glob, string_like_glob, tokens
from . import values as parse
from .operators import Family, ParsedOperator, Qualifier, Test, parse_operator

Prepared = object  # a policy value in comparable form (str, Decimal, regex, network, ...)
_DYNAMIC_FAMILIES = (Family.STRING, Family.ARN, Family.BOOL)


Check = Callable[[RequestContext], "bool | None"]


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    clause: ConditionClause
    op: ParsedOperator | None
    static: tuple[Prepared, ...] | None  # None: malformed, or rendered per request
    templates: tuple[Template, ...] = ()
    # Derived once from ``op`` so evaluation does no table lookups.
    malformed: bool = field(init=False)
    check: Check = field(init=False, repr=False, compare=False)  # what ``evaluate`` runs

    def __post_init__(self) -> None:
        op = self.op
        malformed = op is None or (self.static is None and not self.templates)
        object.__setattr__(self, "malformed", malformed)
        object.__setattr__(self, "check", _checker(self, op, malformed))

    @property
    def key(self) -> str:
        return self.clause.key

    def evaluate(self, ctx: RequestContext) -> bool | None:
        return self.check(ctx)

    def render(self, ctx: RequestContext) -> tuple[Prepared, ...]:
        op = self.op
        out: list[Prepared] = []
        for template in self.templates:
            if op is not None and op.spec.test is Test.LIKE:
                toks = template.render_tokens(ctx.single)
                if toks is not None:
                    if op.spec.family is Family.ARN:
                        out.append(arn_like_glob(toks))
                    else:
                        out.append(string_like_glob(toks))
            else:
                text = template.render_text(ctx.single)
                if text is not None and op is not None:
                    out.append(_prepare(op, text))
        return tuple(out)


def _checker(cond: CompiledCondition, op: ParsedOperator | None, malformed: bool) -> Check:
    """A closure specialised to the clause: locals instead of attribute lookups, and a
    set membership test for the equality operators."""
    lower_key = cond.clause.key.lower()
    if op is None or malformed:
        return _malformed
    family, test_kind = op.spec.family, op.spec.test
    if family is Family.NULL:
        wanted = frozenset(v for v in cond.static or () if isinstance(v, bool))
        return lambda ctx: (ctx.lookup(lower_key) is None) in wanted
    negated, qualifier = op.spec.negated, op.qualifier
    missing = (
        op.if_exists
        or qualifier is Qualifier.FOR_ALL_VALUES
        or (qualifier is Qualifier.NONE and negated)
    )
    every = qualifier is Qualifier.FOR_ALL_VALUES or (qualifier is Qualifier.NONE and negated)
    convert = _REQUEST[family if test_kind is not Test.IEQ else None]
    if convert is _identity:

        def request(ctx: RequestContext) -> tuple[object, ...] | None:
            return ctx.lookup(lower_key)
    else:

        def request(ctx: RequestContext) -> tuple[object, ...] | None:
            return ctx.converted(lower_key, convert)

    static = cond.static
    if static is not None and _TESTS[(family, test_kind)] is _equal:
        return _members_check(request, frozenset(static), missing, every, negated)
    test = _TESTS[(family, test_kind)]
    render = cond.render

    def check(ctx: RequestContext) -> bool:
        values = request(ctx)
        if values is None:
            return missing
        prepared = static if static is not None else render(ctx)
        if len(values) == 1:  # every qualifier agrees on a single value
            value = values[0]
            return (value is not None and any(test(value, p) for p in prepared)) is not negated
        passed = [
            (v is not None and any(test(v, p) for p in prepared)) is not negated for v in values
        ]
        return all(passed) if every else any(passed)

    return check


def _members_check(
    request: Callable[[RequestContext], tuple[object, ...] | None],
    members: frozenset[object],
    missing: bool,
    every: bool,
    negated: bool,
) -> Check:
    def check(ctx: RequestContext) -> bool:
        values = request(ctx)
        if values is None:
            return missing
        if len(values) == 1:
            return (values[0] in members) is not negated
        passed = [(v in members) is not negated for v in values]
        return all(passed) if every else any(passed)

    return check


def _malformed(ctx: RequestContext) -> None:
    return None


def compile_condition(clause: ConditionClause, *, variables: bool) -> CompiledCondition:
    op = parse_operator(clause.operator)
    if op is None:
        return CompiledCondition(clause, None, None)
    family = op.spec.family
    if variables and family in _DYNAMIC_FAMILIES and any("${" in v for v in clause.values):
        templates = tuple(parse_template(v) for v in clause.values)
        return CompiledCondition(clause, op, None, templates)
    prepared = [_prepare(op, v) for v in clause.values]
    if any(p is None for p in prepared):
        return CompiledCondition(clause, op, None)
    return CompiledCondition(clause, op, tuple(prepared))


def _prepare(op: ParsedOperator, text: str) -> Prepared | None:
    family, test = op.spec.family, op.spec.test
    if family is Family.STRING:
        if test is Test.LIKE:
            return string_like_glob(tokens(text))
        return text.casefold() if test is Test.IEQ else text
    if family is Family.ARN:
        return arn_like_glob(tokens(text))
    if family is Family.BOOL:
        return text.lower()
    if family is Family.NULL:
        return parse.boolean(text)
    if family is Family.IP:
        return parse.network(text)
    return _REQUEST[family](text)


def _glob_match(value: object, pattern: object) -> bool:
    return (
        isinstance(value, str)
        and isinstance(pattern, Glob | ArnGlob)
        and bool(pattern.matches(value))
    )


def _in_network(value: object, net: object) -> bool:
    return (
        isinstance(net, parse.Network)
        and isinstance(value, parse.Address)
        and value.version == net.version
        and value in net
    )


def _order(cmp: Callable[[Decimal, Decimal], bool]) -> Callable[[object, object], bool]:
    def test(value: object, bound: object) -> bool:
        return isinstance(value, Decimal) and isinstance(bound, Decimal) and cmp(value, bound)

    return test


def _equal(value: object, other: object) -> bool:
    return value == other


_TESTS: dict[tuple[Family, Test], Callable[[object, object], bool]] = {
    (Family.STRING, Test.EQ): _equal,
    (Family.STRING, Test.IEQ): _equal,
    (Family.STRING, Test.LIKE): _glob_match,
    (Family.ARN, Test.LIKE): _glob_match,
    (Family.BOOL, Test.EQ): _equal,
    (Family.BINARY, Test.EQ): _equal,
    (Family.IP, Test.IN_NETWORK): _in_network,
    (Family.NUMERIC, Test.EQ): _order(lambda a, b: a == b),
    (Family.NUMERIC, Test.LT): _order(lambda a, b: a < b),
    (Family.NUMERIC, Test.LE): _order(lambda a, b: a <= b),
    (Family.NUMERIC, Test.GT): _order(lambda a, b: a > b),
    (Family.NUMERIC, Test.GE): _order(lambda a, b: a >= b),
}
for _t in (Test.EQ, Test.LT, Test.LE, Test.GT, Test.GE):
    _TESTS[(Family.DATE, _t)] = _TESTS[(Family.NUMERIC, _t)]


def _identity(text: str) -> object:
    return text


# How a request value becomes comparable; the None key is the case-folding string test.
_REQUEST: dict[Family | None, Callable[[str], object]] = {
    Family.STRING: _identity,
    Family.ARN: _identity,
    Family.BOOL: str.lower,
    Family.BINARY: parse.binary,
    Family.IP: parse.address,
    Family.NUMERIC: parse.number,
    Family.DATE: parse.date,
    None: str.casefold,
}
