"""The IAM service: the operations warden serves and their authz entries."""

from __future__ import annotations

from warden.core.clock import Clock
from warden.core.ids import IdFactory
from warden.services.context import Handler, ServiceHandlers
from warden.store.db import Store
from warden.store.keyring import KeyRing

from .attachments import Attachments
from .authz import AUTHZ
from .entities import Kind
from .extra import build_extra
from .groups import Groups
from .inline import InlinePolicies
from .keys import AccessKeys
from .logins import LoginProfiles
from .password_policy import PasswordPolicies
from .policies import Policies
from .policy_lists import PolicyLists
from .reads import IamReads
from .roles import Roles
from .summary import Summary
from .tagging import Tagging
from .users import Users


def _per_entity(store: Store) -> dict[str, Handler]:
    """Attached and inline policies, and tags and boundaries, of each kind of entity."""
    attached, inline, tagging = Attachments(store), InlinePolicies(store), Tagging(store)
    out: dict[str, Handler] = {}
    for kind in Kind:
        k = kind.value.capitalize()
        out |= {
            f"Attach{k}Policy": attached.attach(kind),
            f"Detach{k}Policy": attached.detach(kind),
            f"ListAttached{k}Policies": attached.list_attached(kind),
            f"Put{k}Policy": inline.put(kind),
            f"Get{k}Policy": inline.get(kind),
            f"Delete{k}Policy": inline.delete(kind),
            f"List{k}Policies": inline.list(kind),
        }
    for kind in (Kind.USER, Kind.ROLE):
        k = kind.value.capitalize()
        out |= {
            f"Tag{k}": tagging.tag(kind),
            f"Untag{k}": tagging.untag(kind),
            f"List{k}Tags": tagging.list_tags(kind),
            f"Put{k}PermissionsBoundary": tagging.put_boundary(kind),
            f"Delete{k}PermissionsBoundary": tagging.delete_boundary(kind),
        }
    out |= {
        "TagPolicy": tagging.tag_policy,
        "UntagPolicy": tagging.untag_policy,
        "ListPolicyTags": tagging.list_policy_tags,
    }
    return out


def build(store: Store, ring: KeyRing, clock: Clock, ids: IdFactory) -> ServiceHandlers:
    """Every IAM operation warden serves: the core entities here, MFA devices, the
    credential report and the simulator from ``extra``. Handlers take the time from
    ``CallContext.now``; ``ring`` seals new access keys (and MFA seeds)."""
    extra_handlers, extra_authz = build_extra(store, ring, clock, ids)
    reads = IamReads(store)
    users, groups, roles = Users(store, ids), Groups(store, ids), Roles(store, ids)
    policies, lists = Policies(store, ids), PolicyLists(store)
    keys, logins = AccessKeys(store, ring, ids), LoginProfiles(store)
    passwords, summary = PasswordPolicies(store), Summary(store)
    handlers: dict[str, Handler] = {
        "CreateUser": users.create_user,
        "DeleteUser": users.delete_user,
        "UpdateUser": users.update_user,
        "GetUser": reads.get_user,
        "ListUsers": users.list_users,
        "CreateGroup": groups.create_group,
        "DeleteGroup": groups.delete_group,
        "UpdateGroup": groups.update_group,
        "GetGroup": reads.get_group,
        "ListGroups": groups.list_groups,
        "AddUserToGroup": groups.add_user_to_group,
        "RemoveUserFromGroup": groups.remove_user_from_group,
        "ListGroupsForUser": reads.list_groups_for_user,
        "CreatePolicy": policies.create_policy,
        "GetPolicy": policies.get_policy,
        "DeletePolicy": policies.delete_policy,
        "CreatePolicyVersion": policies.create_policy_version,
        "GetPolicyVersion": policies.get_policy_version,
        "ListPolicyVersions": policies.list_policy_versions,
        "DeletePolicyVersion": policies.delete_policy_version,
        "SetDefaultPolicyVersion": policies.set_default_policy_version,
        "ListPolicies": lists.list_policies,
        "ListEntitiesForPolicy": lists.list_entities_for_policy,
        "CreateAccessKey": keys.create_access_key,
        "UpdateAccessKey": keys.update_access_key,
        "DeleteAccessKey": keys.delete_access_key,
        "ListAccessKeys": keys.list_access_keys,
        "GetAccessKeyLastUsed": keys.get_access_key_last_used,
        "CreateLoginProfile": logins.create_login_profile,
        "GetLoginProfile": logins.get_login_profile,
        "UpdateLoginProfile": logins.update_login_profile,
        "DeleteLoginProfile": logins.delete_login_profile,
        "UpdateAccountPasswordPolicy": passwords.update_account_password_policy,
        "GetAccountPasswordPolicy": passwords.get_account_password_policy,
        "DeleteAccountPasswordPolicy": passwords.delete_account_password_policy,
        "CreateRole": roles.create_role,
        "GetRole": roles.get_role,
        "ListRoles": roles.list_roles,
        "DeleteRole": roles.delete_role,
        "UpdateRole": roles.update_role,
        "UpdateRoleDescription": roles.update_role_description,
        "UpdateAssumeRolePolicy": roles.update_assume_role_policy,
        "GetAccountSummary": summary.get_account_summary,
        **_per_entity(store),
        **extra_handlers,
    }
    return ServiceHandlers(name="iam", handlers=handlers, authz={**AUTHZ, **extra_authz})
