"""``SecurityGroups`` (services/ports.py) for RDS: the default group, existence, ingress.

RDS calls ``ingress_cidrs`` for every running DB instance on each reconciler pass, so it is
one read of the groups' rules; the answer is canonical, sorted and deduplicated, so the
caller can compare it with what it last applied.
"""

from __future__ import annotations

from collections.abc import Sequence

from warden.core.clock import Clock
from warden.core.ids import IdFactory
from warden.store.db import Store

from . import repository as repo


class SecurityGroupDirectory:
    def __init__(self, store: Store, clock: Clock, ids: IdFactory) -> None:
        self._store = store
        self._clock = clock
        self._ids = ids

    def default_group(self, account_id: str, region: str) -> str:
        group = repo.default_group(self._store, self._ids, account_id, region, self._clock.now())
        return group.group_id

    def unknown(self, account_id: str, region: str, group_ids: Sequence[str]) -> tuple[str, ...]:
        with self._store.read() as conn:
            known = {g.group_id for g in repo.list_groups(conn, account_id, region)}
        return tuple(g for g in group_ids if g not in known)

    def ingress_cidrs(
        self, account_id: str, region: str, group_ids: Sequence[str], port: int
    ) -> tuple[str, ...]:
        with self._store.read() as conn:
            known = {g.group_id for g in repo.list_groups(conn, account_id, region)}
            rules = repo.rules(conn, [g for g in group_ids if g in known])
        return tuple(sorted({r.key.cidr for r in rules if r.key.admits_tcp(port)}))
