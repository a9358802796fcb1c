"""The IAM service: the operations warden serves and their authz entries."""

from __future__ import annotations

from warden.services.context import Handler, ServiceHandlers
from warden.store.db import Store

from .authz import AUTHZ
from .reads import IamReads


def build(store: Store) -> ServiceHandlers:
    reads = IamReads(store)
    handlers: dict[str, Handler] = {
        "GetUser": reads.get_user,
        "ListUsers": reads.list_users,
        "ListGroups": reads.list_groups,
        "GetGroup": reads.get_group,
        "ListGroupsForUser": reads.list_groups_for_user,
        "ListAccessKeys": reads.list_access_keys,
        "GetAccessKeyLastUsed": reads.get_access_key_last_used,
        "ListAttachedUserPolicies": reads.list_attached_user_policies,
        "ListAttachedGroupPolicies": reads.list_attached_group_policies,
    }
    return ServiceHandlers(name="iam", handlers=handlers, authz=AUTHZ)
