"""The policies that apply to a principal, compiled: what the authorizer evaluates.

For an IAM user: its inline and attached managed policies and those of its groups
(identity), and its permissions boundary. Managed policies resolve to their default
version: the AWS managed ones shipped with warden, customer managed ones from the
store. Compiled documents are cached by (policy, version), so a policy is parsed
once per version; a principal's set is re-read from the store after
``CACHE_SECONDS``, which is how long an IAM change takes to apply (AWS documents
its own changes as eventually consistent, typically within seconds).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from warden.core.clock import Clock
from warden.policy import CompiledPolicy, PolicyCache, PolicyError, PolicyType
from warden.store.db import Store
from warden.store.schema import (
    iam_attachments,
    iam_group_members,
    iam_inline_policies,
    iam_managed_policies,
    iam_policy_versions,
    iam_roles,
    iam_users,
)

from .managed_policies import aws_managed

CACHE_SECONDS = 2.0
log = logging.getLogger("warden.iam")


@dataclass(frozen=True, slots=True)
class PolicySet:
    identity: tuple[CompiledPolicy, ...]
    boundary: tuple[CompiledPolicy, ...] | None  # None: no boundary applies
    tags: Mapping[str, str]  # the principal's tags, for aws:PrincipalTag/*
    # A stored document that no longer compiles: its statements cannot be known, and one
    # of them may be a Deny, so the authorizer denies everything (fail closed).
    broken: bool = False


EMPTY = PolicySet((), None, {})


class PolicySets:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._compiled = PolicyCache()
        self._sets: dict[str, tuple[float, PolicySet]] = {}
        self._lock = threading.Lock()
        self._generation = 0

    def invalidate(self) -> None:
        """Forget every principal's policy set (compiled documents stay: they are immutable)."""
        with self._lock:
            self._sets.clear()
            # A load that read the store before this write must not cache what it read.
            self._generation += 1

    def for_user(self, user_id: str) -> PolicySet:
        return self._cached("user:" + user_id, lambda: self._load_user_policies(user_id))

    def for_role(self, role_id: str) -> PolicySet:
        return self._cached("role:" + role_id, lambda: self._load_role_policies(role_id))

    def _cached(self, key: str, load: Callable[[], PolicySet]) -> PolicySet:
        now = self._clock.monotonic()
        with self._lock:
            hit = self._sets.get(key)
            generation = self._generation
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        try:
            loaded = load()
        except PolicyError:
            log.error("a policy of %s does not compile; denying its calls", key)
            loaded = PolicySet((), None, {}, broken=True)
        with self._lock:
            if len(self._sets) > 10_000:
                self._sets.clear()
            if generation == self._generation:
                self._sets[key] = (now, loaded)
        return loaded

    def session(self, text: str) -> tuple[CompiledPolicy, ...] | None:
        """The session policies stored with a role session (a JSON document or a list of
        them); raises PolicyError when they cannot be compiled."""
        docs = json.loads(text)
        if isinstance(docs, dict):
            docs = [docs]
        if not isinstance(docs, list):
            raise PolicyError("session policy is not a document or a list")
        return tuple(
            self._compiled.get(f"session#{i}", json.dumps(d), d, policy_type=PolicyType.SESSION)
            for i, d in enumerate(docs)
        )

    def resource(self, policies: Sequence[tuple[str, str]]) -> tuple[CompiledPolicy, ...]:
        """Resource policies, compiled once per text; raises PolicyError when one cannot be."""
        return tuple(
            self._compiled.get(pid, text, text, policy_type=PolicyType.RESOURCE)
            for pid, text in policies
        )

    def _load_role_policies(self, role_id: str) -> PolicySet:
        with self._store.read(fresh=True) as conn:
            role = conn.execute(
                sa.select(iam_roles.c.permissions_boundary_arn, iam_roles.c.tags).where(
                    iam_roles.c.role_id == role_id
                )
            ).first()
            if role is None:
                return EMPTY
            identity = self._inline(conn, "role", role_id)
            for arn in self._attached(conn, "role", role_id):
                compiled = self._managed(conn, arn, PolicyType.IDENTITY)
                if compiled is not None:
                    identity.append(compiled)
            boundary: tuple[CompiledPolicy, ...] | None = None
            if role.permissions_boundary_arn:
                found = self._managed(conn, role.permissions_boundary_arn, PolicyType.BOUNDARY)
                boundary = (found,) if found is not None else ()
        return PolicySet(tuple(identity), boundary, _tags(role.tags))

    def _load_user_policies(self, user_id: str) -> PolicySet:
        with self._store.read(fresh=True) as conn:
            user = conn.execute(
                sa.select(iam_users.c.permissions_boundary_arn, iam_users.c.tags).where(
                    iam_users.c.user_id == user_id
                )
            ).first()
            if user is None:
                return EMPTY
            groups = list(
                conn.execute(
                    sa.select(iam_group_members.c.group_id).where(
                        iam_group_members.c.user_id == user_id
                    )
                ).scalars()
            )
            owners = [("user", user_id), *(("group", g) for g in groups)]
            identity: list[CompiledPolicy] = []
            for kind, owner in owners:
                identity.extend(self._inline(conn, kind, owner))
                for arn in self._attached(conn, kind, owner):
                    compiled = self._managed(conn, arn, PolicyType.IDENTITY)
                    if compiled is not None:
                        identity.append(compiled)
            boundary: tuple[CompiledPolicy, ...] | None = None
            if user.permissions_boundary_arn:
                found = self._managed(conn, user.permissions_boundary_arn, PolicyType.BOUNDARY)
                # A boundary that cannot be resolved allows nothing (fail closed).
                boundary = (found,) if found is not None else ()
        return PolicySet(tuple(identity), boundary, _tags(user.tags))

    def _inline(self, conn: sa.Connection, kind: str, owner: str) -> list[CompiledPolicy]:
        rows = conn.execute(
            sa.select(iam_inline_policies.c.policy_name, iam_inline_policies.c.document).where(
                iam_inline_policies.c.principal_type == kind,
                iam_inline_policies.c.principal_id == owner,
            )
        )
        out = []
        for name, document in rows:
            # An inline document is identified by its text: a new text is a new entry.
            key = f"{kind}/{owner}/{name}"
            out.append(self._compiled.get(key, document, document, policy_type=PolicyType.IDENTITY))
        return out

    @staticmethod
    def _attached(conn: sa.Connection, kind: str, owner: str) -> list[str]:
        return list(
            conn.execute(
                sa.select(iam_attachments.c.policy_arn).where(
                    iam_attachments.c.principal_type == kind,
                    iam_attachments.c.principal_id == owner,
                )
            ).scalars()
        )

    def _managed(
        self, conn: sa.Connection, arn: str, policy_type: PolicyType
    ) -> CompiledPolicy | None:
        shipped = aws_managed().get(arn)
        if shipped is not None:
            return self._compiled.get(
                arn, shipped.default_version_id, shipped.document, policy_type=policy_type
            )
        row = conn.execute(
            sa.select(
                iam_managed_policies.c.policy_id,
                iam_policy_versions.c.version_id,
                iam_policy_versions.c.document,
            )
            .join(
                iam_managed_policies, iam_managed_policies.c.arn == iam_policy_versions.c.policy_arn
            )
            .where(
                iam_managed_policies.c.arn == arn,
                iam_policy_versions.c.version_id == iam_managed_policies.c.default_version_id,
            )
        ).first()
        if row is None:
            return None
        # Keyed by the policy's unique id, not its ARN: a policy deleted and created again
        # under the same name has the same ARN and "v1", but a new id.
        return self._compiled.get(
            f"{arn}#{row.policy_id}", row.version_id, row.document, policy_type=policy_type
        )


def _tags(raw: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for tag in raw or []:
        if isinstance(tag, Mapping) and isinstance(tag.get("Key"), str):
            out[tag["Key"]] = str(tag.get("Value", ""))
    return out
