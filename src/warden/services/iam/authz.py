"""Authz entries for the IAM operations warden serves (Service Authorization Reference).

IAM resources are global: their ARNs have no region. A user, group or role ARN
includes its path: the request's ``Path`` when it gives one (Create*), otherwise ``/``
(the request names only the entity). Calls that may omit ``UserName`` act on the
caller, so their resource is the caller's ARN. Resource functions never raise: they
run before the handler validates the input.

Condition keys from the request: ``iam:PolicyARN`` for attaching and detaching,
``iam:PermissionsBoundary`` where the request sets a boundary, ``aws:TagKeys`` for
untagging (``aws:RequestTag/*`` and ``aws:TagKeys`` of ``Tags`` are the pipeline's).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from warden.core.arn import iam_arn
from warden.services.context import AuthzEntry, ConditionFn, ResourceFn, Scope

Resources = Callable[[Scope, Mapping[str, Any]], Sequence[str]]


def _path(params: Mapping[str, Any], member: str | None) -> str:
    value = params.get(member) if member else None
    return value if isinstance(value, str) and value.startswith("/") else "/"


def _entity(
    kind: str, member: str, *, path: str | None = None, default_caller: bool = False
) -> ResourceFn:
    def resources(scope: Scope, params: Mapping[str, Any]) -> Sequence[str]:
        name = params.get(member)
        if name is None:
            return (scope.principal_arn,) if default_caller else ("*",)
        return (iam_arn(scope.account_id, kind, str(name), _path(params, path)),)

    return resources


def _policy(scope: Scope, params: Mapping[str, Any]) -> Sequence[str]:
    return (str(params.get("PolicyArn") or "*"),)


def _new_policy(scope: Scope, params: Mapping[str, Any]) -> Sequence[str]:
    name = str(params.get("PolicyName", ""))
    return (iam_arn(scope.account_id, "policy", name, _path(params, "Path")),)


def _keys(**members: str) -> ConditionFn:
    """Condition keys taken from request members: ``{condition key: member}``."""

    def conditions(scope: Scope, params: Mapping[str, Any]) -> Mapping[str, Any]:
        return {key: params[m] for key, m in members.items() if params.get(m) is not None}

    return conditions


_USER = _entity("user", "UserName")
_CALLER = _entity("user", "UserName", default_caller=True)
_GROUP = _entity("group", "GroupName")
_ROLE = _entity("role", "RoleName")
_POLICY_KEY = _keys(**{"iam:PolicyARN": "PolicyArn"})
_BOUNDARY_KEY = _keys(**{"iam:PermissionsBoundary": "PermissionsBoundary"})
_TAG_KEYS = _keys(**{"aws:TagKeys": "TagKeys"})


def _read(op: str, resources: ResourceFn | None = None) -> AuthzEntry:
    if resources is None:
        return AuthzEntry(f"iam:{op}", read_only=True)
    return AuthzEntry(f"iam:{op}", resources, read_only=True)


def _write(op: str, resources: ResourceFn, conditions: ConditionFn | None = None) -> AuthzEntry:
    return AuthzEntry(f"iam:{op}", resources, conditions=conditions)


def _per_entity() -> dict[str, AuthzEntry]:
    """Attached and inline policies of users, groups and roles: the same nine per kind."""
    out: dict[str, AuthzEntry] = {}
    for kind, res in (("User", _USER), ("Group", _GROUP), ("Role", _ROLE)):
        out[f"Attach{kind}Policy"] = _write(f"Attach{kind}Policy", res, _POLICY_KEY)
        out[f"Detach{kind}Policy"] = _write(f"Detach{kind}Policy", res, _POLICY_KEY)
        out[f"ListAttached{kind}Policies"] = _read(f"ListAttached{kind}Policies", res)
        out[f"Put{kind}Policy"] = _write(f"Put{kind}Policy", res)
        out[f"Delete{kind}Policy"] = _write(f"Delete{kind}Policy", res)
        out[f"Get{kind}Policy"] = _read(f"Get{kind}Policy", res)
        out[f"List{kind}Policies"] = _read(f"List{kind}Policies", res)
    return out


AUTHZ: dict[str, AuthzEntry] = {
    # users
    "CreateUser": _write("CreateUser", _entity("user", "UserName", path="Path"), _BOUNDARY_KEY),
    "DeleteUser": _write("DeleteUser", _USER),
    "UpdateUser": _write("UpdateUser", _USER),
    "GetUser": _read("GetUser", _CALLER),
    "ListUsers": _read("ListUsers"),
    "TagUser": _write("TagUser", _USER),
    "UntagUser": _write("UntagUser", _USER, _TAG_KEYS),
    "ListUserTags": _read("ListUserTags", _USER),
    "PutUserPermissionsBoundary": _write("PutUserPermissionsBoundary", _USER, _BOUNDARY_KEY),
    "DeleteUserPermissionsBoundary": _write("DeleteUserPermissionsBoundary", _USER),
    # groups
    "CreateGroup": _write("CreateGroup", _entity("group", "GroupName", path="Path")),
    "DeleteGroup": _write("DeleteGroup", _GROUP),
    "UpdateGroup": _write("UpdateGroup", _GROUP),
    "GetGroup": _read("GetGroup", _GROUP),
    "ListGroups": _read("ListGroups"),
    "AddUserToGroup": _write("AddUserToGroup", _GROUP),
    "RemoveUserFromGroup": _write("RemoveUserFromGroup", _GROUP),
    "ListGroupsForUser": _read("ListGroupsForUser", _USER),
    # managed policies
    "CreatePolicy": _write("CreatePolicy", _new_policy),
    "GetPolicy": _read("GetPolicy", _policy),
    "ListPolicies": _read("ListPolicies"),
    "DeletePolicy": _write("DeletePolicy", _policy),
    "CreatePolicyVersion": _write("CreatePolicyVersion", _policy),
    "GetPolicyVersion": _read("GetPolicyVersion", _policy),
    "ListPolicyVersions": _read("ListPolicyVersions", _policy),
    "DeletePolicyVersion": _write("DeletePolicyVersion", _policy),
    "SetDefaultPolicyVersion": _write("SetDefaultPolicyVersion", _policy),
    "ListEntitiesForPolicy": _read("ListEntitiesForPolicy", _policy),
    "TagPolicy": _write("TagPolicy", _policy),
    "UntagPolicy": _write("UntagPolicy", _policy, _TAG_KEYS),
    "ListPolicyTags": _read("ListPolicyTags", _policy),
    # attached and inline policies
    **_per_entity(),
    # access keys
    "CreateAccessKey": _write("CreateAccessKey", _CALLER),
    "UpdateAccessKey": _write("UpdateAccessKey", _CALLER),
    "DeleteAccessKey": _write("DeleteAccessKey", _CALLER),
    "ListAccessKeys": _read("ListAccessKeys", _CALLER),
    "GetAccessKeyLastUsed": _read("GetAccessKeyLastUsed"),
    # console passwords and the account password policy
    "CreateLoginProfile": _write("CreateLoginProfile", _CALLER),
    "GetLoginProfile": _read("GetLoginProfile", _CALLER),
    "UpdateLoginProfile": _write("UpdateLoginProfile", _CALLER),
    "DeleteLoginProfile": _write("DeleteLoginProfile", _CALLER),
    "UpdateAccountPasswordPolicy": AuthzEntry("iam:UpdateAccountPasswordPolicy"),
    "GetAccountPasswordPolicy": _read("GetAccountPasswordPolicy"),
    "DeleteAccountPasswordPolicy": AuthzEntry("iam:DeleteAccountPasswordPolicy"),
    # roles
    "CreateRole": _write("CreateRole", _entity("role", "RoleName", path="Path"), _BOUNDARY_KEY),
    "GetRole": _read("GetRole", _ROLE),
    "ListRoles": _read("ListRoles"),
    "DeleteRole": _write("DeleteRole", _ROLE),
    "UpdateRole": _write("UpdateRole", _ROLE),
    "UpdateRoleDescription": _write("UpdateRoleDescription", _ROLE),
    "UpdateAssumeRolePolicy": _write("UpdateAssumeRolePolicy", _ROLE),
    "TagRole": _write("TagRole", _ROLE),
    "UntagRole": _write("UntagRole", _ROLE, _TAG_KEYS),
    "ListRoleTags": _read("ListRoleTags", _ROLE),
    "PutRolePermissionsBoundary": _write("PutRolePermissionsBoundary", _ROLE, _BOUNDARY_KEY),
    "DeleteRolePermissionsBoundary": _write("DeleteRolePermissionsBoundary", _ROLE),
    # the account
    "GetAccountSummary": _read("GetAccountSummary"),
}
