"""One statement compiled for evaluation: its resource matcher, principal test and
conditions, and whether it applies to a request.

Failure rules (DESIGN §3): an Allow statement applies only when everything about it
is well-formed and matches; a Deny applies when anything about it is malformed
(missing ``Action``, a malformed condition, no ``Principal`` in a resource policy),
so a broken Deny denies rather than silently allowing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class ResourceMatcher:
    negated: bool
    any_resource: bool  # a literal "*" among non-negated patterns
    static: tuple[Glob, ...]
    templates: tuple[Template, ...]

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
        hit = any(p.matches(resource) for p in self.static) or any(
            _template_hits(t, resource, ctx) for t in self.templates
        )
        return hit is not self.negated


def _template_hits(template: Template, resource: str, ctx: RequestContext) -> bool:
    toks = template.render_tokens(ctx.single)
    return toks is not None and bool(resource_glob(toks).matches(resource))


@dataclass(frozen=True, slots=True)
class CompiledStatement:
    policy_id: str
    statement: Statement
    id: str
    deny: bool
    resources: ResourceMatcher | None
    conditions: tuple[CompiledCondition, ...]
    action_patterns: tuple[Glob, ...]

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
        named = principal_named(element, ctx)
        if not element.negated:
            return named
        # IAM User Guide (permissions boundaries): a Deny with NotPrincipal always
        # denies a principal that has a permissions boundary, whatever it lists.
        if named is PrincipalMatch.NONE or (self.deny and has_boundary):
            return PrincipalMatch.DIRECT
        return PrincipalMatch.NONE


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
