"""One statement compiled for evaluation: its resource matcher, principal test and
conditions, and whether it applies to a request.

Failure rules (DESIGN §3): an Allow statement applies only when everything about it
is well-formed and matches; a Deny applies when anything about it is malformed
(missing ``Action``, a malformed condition, no ``Principal`` in a resource policy),
so a broken Deny denies rather than silently allowing.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

from .conditions import CompiledCondition, compile_condition
from .context import RequestContext
from .document import ListElement, PrincipalElement, Statement, StatementEffect
from .variables import Template, parse_template
from .wildcard import Glob, action_glob, resource_glob, tokens


class PrincipalMatch(enum.Enum):
    """How a resource policy's ``Principal`` named the caller (decides what it grants)."""

    NONE = "none"
    DIRECT = "direct"  # "*", the user ARN, the role-session ARN, the federated-user ARN
    ROLE = "role"  # the role ARN of an assumed-role session: boundary and session still apply
    ACCOUNT = "account"  # the account: delegates to the account's identity policies


def statement_id(policy_id: str, statement: Statement) -> str:
    """``policy#Sid``, or ``policy#[index]`` for a statement without a Sid."""
    return f"{policy_id}#{statement.sid}" if statement.sid else f"{policy_id}#[{statement.index}]"


_MEMO_LIMIT = 512  # ARNs (and variable values) remembered per matcher; cleared when full


@dataclass(frozen=True, slots=True)
class ResourceMatcher:
    """``Resource``/``NotResource`` compiled. Whether the static patterns match an ARN is
    memoised per ARN (it depends on nothing else); a pattern with variables is compiled
    once per set of substituted values."""

    negated: bool
    any_resource: bool  # a literal "*" among non-negated patterns
    static: tuple[Glob, ...]
    templates: tuple[Template, ...]
    _memo: dict[str, bool] = field(default_factory=dict, repr=False, compare=False)
    _globs: dict[tuple[int, tuple[str, ...]], Glob] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def build(cls, element: ListElement, variables: bool) -> ResourceMatcher:
        static: list[Glob] = []
        templates: list[Template] = []
        for pattern in element.patterns:
            if variables and "${" in pattern:
                templates.append(parse_template(pattern))
            else:
                static.append(resource_glob(tokens(pattern)))
        any_resource = not element.negated and "*" in element.patterns
        return cls(element.negated, any_resource, tuple(static), tuple(templates))

    def matches(self, resource: str, ctx: RequestContext) -> bool:
        if self.any_resource:
            return True
        memo = self._memo
        hit = memo.get(resource)
        if hit is None:
            hit = any(p.matches(resource) for p in self.static)
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            memo[resource] = hit
        if not hit and self.templates:
            hit = any(self._template_hits(i, resource, ctx) for i in range(len(self.templates)))
        return hit is not self.negated

    def _template_hits(self, index: int, resource: str, ctx: RequestContext) -> bool:
        template = self.templates[index]
        values = template.values(ctx.single)
        if values is None:  # an unresolved variable matches no resource
            return False
        key = (index, values)
        glob = self._globs.get(key)
        if glob is None:
            glob = resource_glob(template.tokens_with(values))
            if len(self._globs) >= _MEMO_LIMIT:
                self._globs.clear()
            self._globs[key] = glob
        return bool(glob.matches(resource))


@dataclass(frozen=True, slots=True)
class CompiledStatement:
    policy_id: str
    statement: Statement
    id: str
    deny: bool
    resources: ResourceMatcher | None
    conditions: tuple[CompiledCondition, ...]
    action_patterns: tuple[Glob, ...]
    # None when every resource matches (no element, or a literal "*"): the fast path.
    resource_test: Callable[[str, RequestContext], bool] | None = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        matcher = self.resources
        test = None if matcher is None or matcher.any_resource else matcher.matches
        object.__setattr__(self, "resource_test", test)

    @classmethod
    def build(
        cls, policy_id: str, statement: Statement, variables: bool, resource_required: bool
    ) -> CompiledStatement:
        """``resource_required``: identity-style policies, where an Allow without
        ``Resource`` is malformed and grants nothing (resource policies may omit it)."""
        action = statement.action
        deny = statement.effect is StatementEffect.DENY
        resources: ResourceMatcher | None = None
        if statement.resource is not None:
            resources = ResourceMatcher.build(statement.resource, variables)
        elif resource_required and not deny:
            resources = ResourceMatcher(False, False, (), ())  # matches nothing
        return cls(
            policy_id=policy_id,
            statement=statement,
            id=statement_id(policy_id, statement),
            deny=deny,
            resources=resources,
            conditions=tuple(
                compile_condition(c, variables=variables) for c in statement.conditions
            ),
            action_patterns=()
            if action is None
            else tuple(action_glob(p) for p in action.patterns),
        )

    def matches_action(self, action: str) -> bool:
        element = self.statement.action
        if element is None:
            return self.deny  # malformed: a Deny without actions denies everything
        hit = any(p.matches(action) for p in self.action_patterns)
        return hit is not element.negated

    def matches_resource(self, resource: str, ctx: RequestContext) -> bool:
        return self.resources is None or self.resources.matches(resource, ctx)

    def applies(self, ctx: RequestContext, resource: str) -> bool:
        """Resource and conditions both match (the action is the caller's business).
        Never raises: anything unexpected makes a Deny apply and an Allow not."""
        try:
            test = self.resource_test
            if test is not None and not test(resource, ctx):
                return False
            for condition in self.conditions:
                outcome = condition.check(ctx)
                if outcome is None:
                    outcome = self.deny  # malformed: fail closed
                if not outcome:
                    return False
            return True
        except Exception:  # fail closed
            return self.deny

    def conditions_hold(self, ctx: RequestContext) -> bool:
        for condition in self.conditions:
            outcome = condition.evaluate(ctx)
            if outcome is None:
                outcome = self.deny  # malformed: fail closed
            if not outcome:
                return False
        return True

    def principal_match(self, ctx: RequestContext, has_boundary: bool) -> PrincipalMatch:
        element = self.statement.principal
        if element is None:
            return PrincipalMatch.DIRECT if self.deny else PrincipalMatch.NONE
        if not element.negated:
            return principal_named(element, ctx)
        if not self.deny:  # Allow + NotPrincipal: granted to whoever it does not name
            named = principal_named(element, ctx)
            return PrincipalMatch.DIRECT if named is PrincipalMatch.NONE else PrincipalMatch.NONE
        # Deny + NotPrincipal (IAM User Guide, "NotPrincipal"): AWS may check the account,
        # then the role, then the session, so the caller is exempt only when each of them
        # is listed; and the Deny always applies to a principal with a permissions boundary.
        if has_boundary or not _fully_listed(element, ctx):
            return PrincipalMatch.DIRECT
        return PrincipalMatch.NONE


def _fully_listed(element: PrincipalElement, ctx: RequestContext) -> bool:
    if element.wildcard or "*" in element.aws:
        return True
    caller, role, account = ctx.caller, ctx.principal_arn, ctx.principal_account
    listed = element.aws
    if not caller or caller not in listed:
        return False
    if role and role != caller and role not in listed:
        return False
    return bool(account) and any(_names_account(v, account) for v in listed)


def principal_named(element: PrincipalElement, ctx: RequestContext) -> PrincipalMatch:
    """Whether ``element``'s values name the caller, ignoring ``NotPrincipal`` negation."""
    if element.wildcard or "*" in element.aws:
        return PrincipalMatch.DIRECT
    caller, role = ctx.caller, ctx.principal_arn
    if caller and caller in element.aws:
        return PrincipalMatch.DIRECT
    if role and role != caller and role in element.aws:
        return PrincipalMatch.ROLE
    account = ctx.principal_account
    if account and any(_names_account(v, account) for v in element.aws):
        return PrincipalMatch.ACCOUNT
    return PrincipalMatch.NONE


def _names_account(value: str, account: str) -> bool:
    if value == account:
        return True
    return value.startswith("arn:") and value.endswith(f":iam::{account}:root")
