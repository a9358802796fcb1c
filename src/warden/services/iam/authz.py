"""Authz entries for the IAM operations warden serves (Service Authorization Reference).

IAM resources are global: their ARNs have no region. A user's ARN includes its
path; here the path is taken as ``/`` when the request names only the user (the
policy engine of the IAM issue resolves real paths).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from warden.core.arn import iam_arn
from warden.services.context import AuthzEntry, Scope


def _named(
    kind: str, member: str, *, default_caller: bool = False
) -> Callable[[Scope, Mapping[str, Any]], Sequence[str]]:
    def resources(scope: Scope, params: Mapping[str, Any]) -> Sequence[str]:
        name = params.get(member)
        if name is None:
            return (scope.principal_arn,) if default_caller else ("*",)
        return (iam_arn(scope.account_id, kind, str(name)),)

    return resources


def _user(default_caller: bool = False) -> Callable[[Scope, Mapping[str, Any]], Sequence[str]]:
    return _named("user", "UserName", default_caller=default_caller)


AUTHZ: dict[str, AuthzEntry] = {
    "GetUser": AuthzEntry("iam:GetUser", _user(default_caller=True), read_only=True),
    "ListUsers": AuthzEntry("iam:ListUsers", read_only=True),
    "ListGroups": AuthzEntry("iam:ListGroups", read_only=True),
    "GetGroup": AuthzEntry("iam:GetGroup", _named("group", "GroupName"), read_only=True),
    "ListGroupsForUser": AuthzEntry("iam:ListGroupsForUser", _user(), read_only=True),
    "ListAccessKeys": AuthzEntry("iam:ListAccessKeys", _user(default_caller=True), read_only=True),
    "GetAccessKeyLastUsed": AuthzEntry("iam:GetAccessKeyLastUsed", read_only=True),
    "ListAttachedUserPolicies": AuthzEntry("iam:ListAttachedUserPolicies", _user(), read_only=True),
    "ListAttachedGroupPolicies": AuthzEntry(
        "iam:ListAttachedGroupPolicies", _named("group", "GroupName"), read_only=True
    ),
}
