"""The RDS service, composed: the API's handlers and authz entries, the reconciler that owns
the PostgreSQL processes, and what EC2 asks of RDS (which resources use a security group).

``build`` is called once by the server with the engine, warden's CA, the EC2 security
groups (``SecurityGroups`` port), KMS (``DataKeys``) and Secrets Manager (``ServiceSecrets``,
for managed master passwords). ``Rds.service`` goes into the pipeline, ``Rds.reconciler``
and ``Rds.snapshots`` (the snapshot worker) into the workers, ``Rds.group_users`` to EC2,
``Rds.master_passwords`` to Secrets Manager's rotation executors.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warden.core.clock import Clock
from warden.core.ids import IdFactory
from warden.engines.base import Engine
from warden.services.context import CallContext, Handler, ServiceHandlers
from warden.services.ports import DataKeys, SecurityGroups, ServiceSecrets
from warden.store.db import Store
from warden.store.keyring import KeyRing

from . import repository as repo
from .authz import build_authz
from .clusters import ClusterOps
from .convergence import DRIFT_CHECK_SECONDS
from .core import Deps
from .events import EventOps
from .instances import InstanceOps
from .master_rotation import MasterPasswordRotation
from .parameters import parameter_group_handlers
from .reconciler import Reconciler
from .restores import RestoreOps
from .secrets import Sealer
from .snapshot_worker import SnapshotOptions, SnapshotWorker
from .snapshots import SnapshotOps
from .specs import CertificateAuthority, Specs
from .tagging import TagOps


class GroupUsers:
    """``SecurityGroupUsers`` for EC2: the clusters and standalone instances naming a group."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def users_of(self, account_id: str, region: str, group_id: str) -> tuple[str, ...]:
        with self._store.read() as conn:
            clusters = repo.clusters(conn, account_id, region)
            instances = repo.instances(conn, account_id, region)
        found = [c.arn for c in clusters if group_id in c.volume.settings.security_groups]
        found += [
            i.arn
            for i in instances
            if i.volume is not None and group_id in i.volume.settings.security_groups
        ]
        return tuple(found)


@dataclass(frozen=True)
class Rds:
    service: ServiceHandlers
    reconciler: Reconciler
    group_users: GroupUsers
    master_passwords: MasterPasswordRotation  # ManagedRotation of the "rds" secrets
    snapshots: SnapshotWorker  # takes, copies and restores snapshots; automated backups
    wake_reconciler: threading.Event  # set after every change the API accepts
    wake_snapshots: threading.Event


def build(
    store: Store,
    ring: KeyRing,
    clock: Clock,
    ids: IdFactory,
    *,
    engine: Engine,
    engine_version: str,
    data_keys: DataKeys,
    groups: SecurityGroups,
    ca: CertificateAuthority,
    root: Path,
    host: str,
    drift_seconds: float = DRIFT_CHECK_SECONDS,
    secrets: ServiceSecrets | None = None,
    snapshot_options: SnapshotOptions | None = None,
) -> Rds:
    sealer = Sealer(ring)
    specs = Specs(root, sealer, groups, ca, host)
    deps = Deps(store, clock, ids, sealer, specs, data_keys, engine_version, secrets)
    clusters, instances = ClusterOps(deps), InstanceOps(deps)
    events, tags = EventOps(deps), TagOps(deps)
    handlers: dict[str, Handler] = {
        "CreateDBCluster": clusters.create_db_cluster,
        "DescribeDBClusters": clusters.describe_db_clusters,
        "ModifyDBCluster": clusters.modify_db_cluster,
        "DeleteDBCluster": clusters.delete_db_cluster,
        "StartDBCluster": clusters.start_db_cluster,
        "StopDBCluster": clusters.stop_db_cluster,
        "CreateDBInstance": instances.create_db_instance,
        "DescribeDBInstances": instances.describe_db_instances,
        "ModifyDBInstance": instances.modify_db_instance,
        "DeleteDBInstance": instances.delete_db_instance,
        "RebootDBInstance": instances.reboot_db_instance,
        "DescribeEvents": events.describe_events,
        "AddTagsToResource": tags.add_tags_to_resource,
        "RemoveTagsFromResource": tags.remove_tags_from_resource,
        "ListTagsForResource": tags.list_tags_for_resource,
        **parameter_group_handlers(deps, engine),
        **SnapshotOps(deps).handlers(),
        "RestoreDBClusterFromSnapshot": RestoreOps(deps).restore_db_cluster_from_snapshot,
    }
    wake = (threading.Event(), threading.Event())  # the reconciler's, the snapshot worker's
    service = ServiceHandlers(
        name="rds",
        handlers={op: _waking(h, wake) if _changes(op) else h for op, h in handlers.items()},
        authz=build_authz(store, engine_version),
    )
    reconciler = Reconciler(deps, engine, drift_seconds=drift_seconds)
    return Rds(
        service, reconciler, GroupUsers(store), MasterPasswordRotation(deps, engine),
        SnapshotWorker(deps, engine, snapshot_options), *wake,
    )  # fmt: skip


def _changes(operation: str) -> bool:
    return not operation.startswith(("Describe", "List"))


def _waking(handler: Handler, events: tuple[threading.Event, ...]) -> Handler:
    """``handler``, then the workers wake: what it changed converges now, not at the next
    idle tick (a new instance is being created within milliseconds of the call)."""

    def call(ctx: CallContext, params: Mapping[str, Any]) -> Mapping[str, Any]:
        out = handler(ctx, params)
        for event in events:
            event.set()
        return out

    return call
