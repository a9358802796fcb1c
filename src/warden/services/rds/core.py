"""What every RDS operation shares: dependencies, finding resources, recording events.

Ordering invariant (as in Secrets Manager): KMS is asked (``DataKeys``) outside the store's
writing transactions, because KMS may write to the same store (it creates ``aws/rds`` on
first use) and SQLite allows one writer at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from warden.core.clock import Clock
from warden.core.ids import IdFactory
from warden.services.context import CallContext
from warden.services.ports import DataKeys, ServiceSecrets
from warden.store.db import Store

from . import repository as repo
from .errors import cluster_not_found, instance_not_found
from .model import Cluster, Instance, Server, SourceType
from .secrets import Sealer
from .specs import Specs

MANAGED_KEY = "alias/aws/rds"


@dataclass(frozen=True)
class Deps:
    store: Store
    clock: Clock
    ids: IdFactory
    sealer: Sealer
    specs: Specs
    data_keys: DataKeys
    engine_version: str  # the running PostgreSQL's ("17.4")
    secrets: ServiceSecrets | None = None  # Secrets Manager (None: no managed passwords)


def find_cluster(
    conn: Connection, ctx: CallContext, identifier: str, *, for_update: bool = False
) -> Cluster:
    found = repo.cluster(conn, ctx.account_id, ctx.region, identifier, for_update=for_update)
    if found is None:
        raise cluster_not_found(identifier)
    return found


def find_instance(
    conn: Connection, ctx: CallContext, identifier: str, *, for_update: bool = False
) -> Instance:
    found = repo.instance(conn, ctx.account_id, ctx.region, identifier, for_update=for_update)
    if found is None:
        raise instance_not_found(identifier)
    return found


def server_of(conn: Connection, instance: Instance) -> Server:
    cluster = repo.cluster_by_id(conn, instance.cluster_id) if instance.cluster_id else None
    return Server(instance, cluster)


def record_event(
    conn: Connection,
    ids: IdFactory,
    *,
    kind: SourceType,
    resource: Cluster | Instance,
    message: str,
    categories: Sequence[str],
    at: datetime,
) -> None:
    repo.insert_event(
        conn,
        event_id=ids.request_id(),
        account_id=resource.account_id,
        region=resource.region,
        source_type=kind,
        source_id=resource.identifier,
        source_arn=resource.arn,
        message=message,
        categories=categories,
        at=at,
    )
