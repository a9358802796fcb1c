"""Authorization of API calls from a principal's attached policies.

Interim scope (until the policy engine of the IAM issue lands): the only policy
document an account can hold is the AWS-managed ``AdministratorAccess``
(``Allow * on *``), attached directly or through a group. A principal holding it
is allowed; root is allowed everything in its account, as in AWS; every other
principal is implicitly denied. This fails closed: nothing is allowed that AWS
would deny for the same attachments.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import sqlalchemy as sa

from warden.core.clock import Clock
from warden.core.principal import Principal, PrincipalType
from warden.policy.decision import Decision, Effect
from warden.store.db import Store
from warden.store.schema import iam_attachments, iam_group_members

from .bootstrap import ADMIN_POLICY_ARN

CACHE_SECONDS = 2.0


class Authorizer:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def decide(self, principal: Principal, action: str, resources: Sequence[str]) -> Decision:
        if principal.type is PrincipalType.ROOT:
            return Decision(Effect.ALLOWED, deciding=("root",))
        if principal.type is not PrincipalType.IAM_USER:
            return Decision(Effect.IMPLICIT_DENY)
        if ADMIN_POLICY_ARN in self._policies_of_user(principal.user_id):
            return Decision(Effect.ALLOWED, deciding=(ADMIN_POLICY_ARN,))
        return Decision(Effect.IMPLICIT_DENY)

    def _policies_of_user(self, user_id: str) -> frozenset[str]:
        now = self._clock.monotonic()
        with self._lock:
            hit = self._cache.get(user_id)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        groups = sa.select(iam_group_members.c.group_id).where(
            iam_group_members.c.user_id == user_id
        )
        query = sa.select(iam_attachments.c.policy_arn).where(
            sa.or_(
                sa.and_(
                    iam_attachments.c.principal_type == "user",
                    iam_attachments.c.principal_id == user_id,
                ),
                sa.and_(
                    iam_attachments.c.principal_type == "group",
                    iam_attachments.c.principal_id.in_(groups),
                ),
            )
        )
        with self._store.read() as conn:
            arns = frozenset(conn.execute(query).scalars())
        with self._lock:
            self._cache[user_id] = (now, arns)
        return arns
