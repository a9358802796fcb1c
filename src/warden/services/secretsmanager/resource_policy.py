"""A secret's resource-based policy: Put/Get/Delete/ValidateResourcePolicy.

Documents are parsed and checked by ``warden.policy`` as resource policies (a ``Principal``
in every statement). The stored policy is what the authorizer evaluates next to the caller's
identity policies, so a Deny in it refuses even a caller whose identity policy allows.

"Public" (refused when ``BlockPublicPolicy`` is set) means a statement that allows a wildcard
principal (``"*"``, ``{"AWS": "*"}`` or any ``NotPrincipal``) with no positive condition on a
key that narrows who the caller is (account, organization, ARN, source network...). Only the
``default`` policy name exists, as in AWS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warden.policy import PolicyError, PolicyKind, check
from warden.policy.document import PolicyDocument, Statement, StatementEffect
from warden.services.context import CallContext

from . import repository as repo
from .core import SecretsBase
from .errors import (
    InvalidParameterException,
    MalformedPolicyDocumentException,
    PublicPolicyException,
    too_long,
)

MAX_POLICY = 20_480
PUBLIC = (
    "This resource policy grants public access to the secret, and BlockPublicPolicy is set. "
    "Remove the wildcard principal or add a condition that limits who can access the secret."
)
_NARROWING_KEYS = frozenset(
    {
        "aws:principalaccount",
        "aws:principalarn",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:principalservicename",
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:sourceip",
        "aws:sourceowner",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:userid",
        "aws:username",
    }
)


def parse_policy(text: str) -> PolicyDocument:
    if len(text) > MAX_POLICY:
        raise too_long("resourcePolicy", MAX_POLICY)
    try:
        return check(text, PolicyKind.RESOURCE)
    except PolicyError as exc:
        raise MalformedPolicyDocumentException(message=exc.reason) from None


def is_public(document: PolicyDocument) -> bool:
    return any(_public_statement(s) for s in document.statements)


def _public_statement(statement: Statement) -> bool:
    principal = statement.principal
    if statement.effect is not StatementEffect.ALLOW or principal is None:
        return False
    wildcard = principal.negated or principal.wildcard or "*" in principal.aws
    if not wildcard:
        return False
    return not any(
        clause.key.lower() in _NARROWING_KEYS and "Not" not in clause.operator
        for clause in statement.conditions
    )


def _policy_name(params: Mapping[str, Any]) -> None:
    name = params.get("PolicyName")
    if name is not None and name != "default":
        raise InvalidParameterException(
            message="You can only attach the default resource policy: PolicyName must be default."
        )


class ResourcePolicies(SecretsBase):
    def put_resource_policy(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        _policy_name(params)
        text = str(params["ResourcePolicy"])
        document = parse_policy(text)
        if params.get("BlockPublicPolicy") and is_public(document):
            raise PublicPolicyException(message=PUBLIC)
        with self.deps.store.begin() as conn:
            record = self.resolve(conn, ctx, params["SecretId"], for_update=True)
            repo.update(conn, record.arn, resource_policy=text, last_changed_at=ctx.now)
        return {"ARN": record.arn, "Name": record.name}

    def get_resource_policy(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        _policy_name(params)
        with self.deps.store.read() as conn:
            record = self.resolve(conn, ctx, params["SecretId"])
        out: dict[str, Any] = {"ARN": record.arn, "Name": record.name}
        if record.resource_policy is not None:
            out["ResourcePolicy"] = record.resource_policy
        return out

    def delete_resource_policy(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        _policy_name(params)
        with self.deps.store.begin() as conn:
            record = self.resolve(conn, ctx, params["SecretId"], for_update=True)
            repo.update(conn, record.arn, resource_policy=None, last_changed_at=ctx.now)
        return {"ARN": record.arn, "Name": record.name}

    def validate_resource_policy(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        if params.get("SecretId") is not None:
            with self.deps.store.read() as conn:
                self.resolve(conn, ctx, params["SecretId"])
        text = str(params["ResourcePolicy"])
        errors: list[dict[str, str]] = []
        try:
            document = parse_policy(text)
        except MalformedPolicyDocumentException as exc:
            errors.append({"CheckName": "SYNTAX_CHECKING", "ErrorMessage": exc.message})
        else:
            if is_public(document):
                errors.append(
                    {
                        "CheckName": "BROAD_ACCESS_CHECKING",
                        "ErrorMessage": "The policy grants access to a wildcard principal "
                        "without a condition that limits who can use it.",
                    }
                )
        return {"PolicyValidationPassed": not errors, "ValidationErrors": errors}
