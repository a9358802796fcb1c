"""The EC2 service: the security group operations warden serves and their authz entries.

``build`` needs ``SecurityGroupUsers`` (RDS, wired in app.py) to refuse deleting a group in
use. ``SecurityGroupDirectory`` is what RDS receives as its ``SecurityGroups`` port.
"""

from __future__ import annotations

from warden.core.clock import Clock
from warden.core.ids import IdFactory
from warden.services.context import Handler, ServiceHandlers
from warden.services.ports import SecurityGroupUsers
from warden.store.db import Store

from .authz import build_authz
from .directory import SecurityGroupDirectory as SecurityGroupDirectory
from .groups import GroupOps


def build(store: Store, clock: Clock, ids: IdFactory, users: SecurityGroupUsers) -> ServiceHandlers:
    ops = GroupOps(store, clock, ids, users)
    handlers: dict[str, Handler] = {
        "CreateSecurityGroup": ops.create_security_group,
        "DescribeSecurityGroups": ops.describe_security_groups,
        "DeleteSecurityGroup": ops.delete_security_group,
        "AuthorizeSecurityGroupIngress": ops.authorize_security_group_ingress,
        "RevokeSecurityGroupIngress": ops.revoke_security_group_ingress,
        "DescribeSecurityGroupRules": ops.describe_security_group_rules,
    }
    return ServiceHandlers(name="ec2", handlers=handlers, authz=build_authz(store))
