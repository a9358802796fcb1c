"""Applying a rotated master password: RDS's ``ports.ManagedRotation`` for the secrets of
the clusters whose master password it manages (``master_secret``).

Secrets Manager's rotation executor calls ``set_secret`` with the ``AWSPENDING`` password
before that version becomes ``AWSCURRENT``. RDS makes it the cluster's desired master
password, sealed on the cluster row exactly as an API password reset does, so the
reconciler applies it and its drift check expects it (it never "restores" the old one),
then waits until the reconciler has applied it to the running writer. A cluster with no
running instance keeps the password pending, and its next start applies it.
``test_secret`` checks the password is the cluster's, and inside PostgreSQL when the
writer runs.

Invariants: a password reaches only the cluster whose own secret carries it (found by the
secret's ARN; the write is compare-and-set against what was read); the username must be
the master's; both steps are idempotent (a rotation resumed after a crash converges);
no message contains a password.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa

from warden.core.redacted import Redacted
from warden.engines.base import Engine
from warden.engines.errors import EngineError, LoginFailed
from warden.store.schema import rds_clusters as clusters_t

from . import repository as repo
from .core import Deps
from .model import Cluster, Instance, Server, Status
from .secrets import Purpose

POLL_SECONDS = 0.2
APPLY_TIMEOUT_POLLS = 300  # a minute: the reconciler applies a password within seconds
_RUNNING = {Status.CREATING, Status.AVAILABLE, Status.MODIFYING, Status.RESETTING,
            Status.REBOOTING, Status.STARTING}  # fmt: skip


class MasterPasswordRotation:
    def __init__(
        self,
        deps: Deps,
        engine: Engine,
        *,
        pause: Callable[[float], None] = time.sleep,
        polls: int = APPLY_TIMEOUT_POLLS,
    ) -> None:
        self.deps = deps
        self.engine = engine
        self._pause = pause
        self._polls = polls

    def set_secret(self, *, secret_arn: str, username: str, password: Redacted[str]) -> None:
        cluster, _ = self._cluster(secret_arn, username)
        if not self._holds(cluster, password):
            self._store(cluster, secret_arn, password)
        for _ in range(self._polls):
            cluster, members = self._cluster(secret_arn, username)
            if not self._holds(cluster, password):
                raise EngineError("The master password was changed by another request")
            if not cluster.volume.password_pending:
                return
            if not any(m.status in _RUNNING for m in members):
                return  # no server runs: its next start applies the password
            self._pause(POLL_SECONDS)
        raise EngineError("Timed out waiting for the DB cluster to apply the new master password")

    def test_secret(self, *, secret_arn: str, username: str, password: Redacted[str]) -> None:
        cluster, members = self._cluster(secret_arn, username)
        if not self._holds(cluster, password):
            raise LoginFailed("The password is not the DB cluster's master password")
        if cluster.volume.password_pending:
            return  # no server runs (see set_secret): nothing to log in to yet
        writer = next((m for m in members if m.status is Status.AVAILABLE), None)
        if writer is None:
            return
        spec = self.deps.specs.spec(Server(writer, cluster))
        if not self.engine.password_matches(spec, username, password):
            raise LoginFailed("The DB cluster's writer does not accept the master password")

    def _cluster(self, secret_arn: str, username: str) -> tuple[Cluster, list[Instance]]:
        with self.deps.store.read() as conn:
            cluster = repo.cluster_by_secret(conn, secret_arn)
            members = repo.members(conn, [cluster.resource_id]) if cluster is not None else []
        if cluster is None or cluster.status is Status.DELETING:
            raise EngineError("No DB cluster manages its master password with this secret")
        if username != cluster.volume.master_username:
            raise EngineError("The secret's username is not the DB cluster's master username")
        return cluster, members

    def _holds(self, cluster: Cluster, password: Redacted[str]) -> bool:
        """Whether ``password`` is the cluster's desired master password."""
        volume = cluster.volume
        current = self.deps.sealer.open_text(Purpose.MASTER, volume.owner, volume.master_password)
        return current == password

    def _store(self, cluster: Cluster, secret_arn: str, password: Redacted[str]) -> None:
        sealed = self.deps.sealer.seal(Purpose.MASTER, cluster.resource_id, password)
        with self.deps.store.begin() as conn:
            changed = conn.execute(
                sa.update(clusters_t)
                .where(
                    clusters_t.c.resource_id == cluster.resource_id,
                    clusters_t.c.master_secret_arn == secret_arn,
                    clusters_t.c.master_password == cluster.volume.master_password,
                )
                .values(master_password=sealed, password_pending=True)
            ).rowcount
        if changed != 1:
            raise EngineError("The DB cluster changed while its master password was rotated")
