"""Reading and writing DB clusters, instances and events: SQL over one Connection.

The caller owns the transaction. Status changes made by the reconciler are compare-and-set
(``set_status`` names the statuses it expects), so an API call that changed the status
meanwhile (a delete during a create) wins and the reconciler acts on it at its next pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from warden.store.prepared import Prepared
from warden.store.schema import rds_clusters as clusters_t
from warden.store.schema import rds_events as events_t
from warden.store.schema import rds_instances as instances_t

from .model import (
    Cluster,
    DbSettings,
    Instance,
    InstanceOptions,
    MasterSecret,
    SourceType,
    Status,
    Volume,
)

Table = sa.Table


def _tags(tags: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags]


def _untag(raw: Any) -> tuple[tuple[str, str], ...]:
    return tuple((t["Key"], t["Value"]) for t in raw or [])


def volume_values(volume: Volume) -> dict[str, Any]:
    return {
        "port": volume.port,
        "master_username": volume.master_username,
        "master_password": volume.master_password,
        "password_pending": volume.password_pending,
        "password_drift": volume.password_drift,
        "admin_password": volume.admin_password,
        "tls_cert": volume.tls_cert,
        "tls_key": volume.tls_key,
        "volume_ready": volume.ready,
        "settings": volume.settings.to_json(),
    }


def _volume(row: Mapping[Any, Any], owner: str) -> Volume | None:
    if row["port"] is None:
        return None
    return Volume(
        owner=owner,
        port=row["port"],
        master_username=row["master_username"],
        master_password=bytes(row["master_password"]),
        admin_password=bytes(row["admin_password"]),
        tls_cert=row["tls_cert"],
        tls_key=bytes(row["tls_key"]),
        settings=DbSettings.from_json(dict(row["settings"] or {})),
        password_pending=bool(row["password_pending"]),
        password_drift=bool(row["password_drift"]),
        ready=bool(row["volume_ready"]),
    )


def _cluster(row: Mapping[Any, Any]) -> Cluster:
    volume = _volume(row, row["resource_id"])
    if volume is None:  # pragma: no cover - NOT NULL columns
        raise ValueError("a cluster row without its volume")
    return Cluster(
        resource_id=row["resource_id"],
        account_id=row["account_id"],
        region=row["region"],
        identifier=row["identifier"],
        arn=row["arn"],
        engine=row["engine"],
        engine_version=row["engine_version"],
        status=Status(row["status"]),
        volume=volume,
        created_at=row["created_at"],
        tags=_untag(row["tags"]),
        master_secret=_master_secret(row),
    )


def _master_secret(row: Mapping[Any, Any]) -> MasterSecret | None:
    if row["master_secret_name"] is None:
        return None
    return MasterSecret(
        name=row["master_secret_name"],
        kms_key_id=row["master_secret_kms_key_id"],
        arn=row["master_secret_arn"],
    )


def master_secret_values(secret: MasterSecret | None) -> dict[str, Any]:
    """The cluster columns of its managed master secret (all NULL: not managed)."""
    return {
        "master_secret_name": secret.name if secret else None,
        "master_secret_kms_key_id": secret.kms_key_id if secret else None,
        "master_secret_arn": secret.arn if secret else None,
    }


def _instance(row: Mapping[Any, Any]) -> Instance:
    return Instance(
        resource_id=row["resource_id"],
        account_id=row["account_id"],
        region=row["region"],
        identifier=row["identifier"],
        arn=row["arn"],
        cluster_id=row["cluster_id"],
        engine=row["engine"],
        engine_version=row["engine_version"],
        instance_class=row["instance_class"],
        status=Status(row["status"]),
        options=InstanceOptions.from_json(dict(row["options"] or {})),
        created_at=row["created_at"],
        volume=_volume(row, row["resource_id"]),
        tags=_untag(row["tags"]),
    )


# -- clusters -----------------------------------------------------------------------------


def insert_cluster(conn: Connection, cluster: Cluster) -> None:
    conn.execute(
        sa.insert(clusters_t).values(
            resource_id=cluster.resource_id,
            account_id=cluster.account_id,
            region=cluster.region,
            identifier=cluster.identifier,
            arn=cluster.arn,
            engine=cluster.engine,
            engine_version=cluster.engine_version,
            status=cluster.status.value,
            tags=_tags(cluster.tags),
            created_at=cluster.created_at,
            **volume_values(cluster.volume),
            **master_secret_values(cluster.master_secret),
        )
    )


# The reads every describe call and authorization makes, compiled once (store.prepared).
def _in_account(table: Table) -> sa.ColumnElement[bool]:
    return sa.and_(
        table.c.account_id == sa.bindparam("account"), table.c.region == sa.bindparam("region")
    )


def _named(table: Table) -> Prepared:
    """The row of one identifier in an account and region."""
    return Prepared(
        sa.select(table).where(_in_account(table), table.c.identifier == sa.bindparam("identifier"))
    )


def _all_in(table: Table) -> Prepared:
    """The rows of an account and region, by identifier."""
    return Prepared(sa.select(table).where(_in_account(table)).order_by(table.c.identifier))


_CLUSTER, _CLUSTERS = _named(clusters_t), _all_in(clusters_t)
_INSTANCE, _INSTANCES = _named(instances_t), _all_in(instances_t)


def cluster(
    conn: Connection, account_id: str, region: str, identifier: str, *, for_update: bool = False
) -> Cluster | None:
    if not for_update:
        found = _CLUSTER.first(conn, account=account_id, region=region, identifier=identifier)
        return None if found is None else _cluster(found)
    query = sa.select(clusters_t).where(
        clusters_t.c.account_id == account_id,
        clusters_t.c.region == region,
        clusters_t.c.identifier == identifier,
    )
    row = conn.execute(query.with_for_update()).mappings().first()
    return None if row is None else _cluster(row)


def cluster_by_id(conn: Connection, resource_id: str) -> Cluster | None:
    query = sa.select(clusters_t).where(clusters_t.c.resource_id == resource_id)
    row = conn.execute(query).mappings().first()
    return None if row is None else _cluster(row)


def clusters(
    conn: Connection, account_id: str | None = None, region: str | None = None
) -> list[Cluster]:
    """The clusters of one account and region (all of them when not given)."""
    if account_id is not None:
        return [_cluster(r) for r in _CLUSTERS.rows(conn, account=account_id, region=region)]
    query = sa.select(clusters_t).order_by(clusters_t.c.identifier)
    return [_cluster(row) for row in conn.execute(query).mappings()]


def cluster_by_secret(conn: Connection, secret_arn: str) -> Cluster | None:
    """The cluster whose managed master secret is ``secret_arn``."""
    query = sa.select(clusters_t).where(clusters_t.c.master_secret_arn == secret_arn)
    row = conn.execute(query).mappings().first()
    return None if row is None else _cluster(row)


def update_cluster(conn: Connection, resource_id: str, **values: Any) -> None:
    conn.execute(
        sa.update(clusters_t).where(clusters_t.c.resource_id == resource_id).values(**values)
    )


def delete_cluster(conn: Connection, resource_id: str) -> None:
    conn.execute(sa.delete(clusters_t).where(clusters_t.c.resource_id == resource_id))


# -- instances ----------------------------------------------------------------------------


def insert_instance(conn: Connection, instance: Instance) -> None:
    volume = volume_values(instance.volume) if instance.volume is not None else {}
    conn.execute(
        sa.insert(instances_t).values(
            resource_id=instance.resource_id,
            account_id=instance.account_id,
            region=instance.region,
            identifier=instance.identifier,
            arn=instance.arn,
            cluster_id=instance.cluster_id,
            engine=instance.engine,
            engine_version=instance.engine_version,
            instance_class=instance.instance_class,
            status=instance.status.value,
            options=instance.options.to_json(),
            tags=_tags(instance.tags),
            created_at=instance.created_at,
            **volume,
        )
    )


def instance(
    conn: Connection, account_id: str, region: str, identifier: str, *, for_update: bool = False
) -> Instance | None:
    if not for_update:
        found = _INSTANCE.first(conn, account=account_id, region=region, identifier=identifier)
        return None if found is None else _instance(found)
    query = sa.select(instances_t).where(
        instances_t.c.account_id == account_id,
        instances_t.c.region == region,
        instances_t.c.identifier == identifier,
    )
    row = conn.execute(query.with_for_update()).mappings().first()
    return None if row is None else _instance(row)


def instances(
    conn: Connection, account_id: str | None = None, region: str | None = None
) -> list[Instance]:
    if account_id is not None:
        return [_instance(r) for r in _INSTANCES.rows(conn, account=account_id, region=region)]
    query = sa.select(instances_t).order_by(instances_t.c.identifier)
    return [_instance(row) for row in conn.execute(query).mappings()]


def members(conn: Connection, cluster_ids: Sequence[str]) -> list[Instance]:
    if not cluster_ids:
        return []
    query = (
        sa.select(instances_t)
        .where(instances_t.c.cluster_id.in_(list(cluster_ids)))
        .order_by(instances_t.c.identifier)
    )
    return [_instance(row) for row in conn.execute(query).mappings()]


def update_instance(conn: Connection, resource_id: str, **values: Any) -> None:
    conn.execute(
        sa.update(instances_t).where(instances_t.c.resource_id == resource_id).values(**values)
    )


def delete_instance(conn: Connection, resource_id: str) -> None:
    conn.execute(sa.delete(instances_t).where(instances_t.c.resource_id == resource_id))


def set_status(
    conn: Connection,
    kind: SourceType,
    resource_id: str,
    new: Status,
    expected: Iterable[Status],
    **values: Any,
) -> bool:
    """Compare-and-set: change the status only if it is still one of ``expected``."""
    table = clusters_t if kind is SourceType.CLUSTER else instances_t
    result = conn.execute(
        sa.update(table)
        .where(table.c.resource_id == resource_id, table.c.status.in_([s.value for s in expected]))
        .values(status=new.value, **values)
    )
    return result.rowcount == 1


def used_ports(conn: Connection) -> set[int]:
    """Every port a volume of this store owns (any account, region or state)."""
    found = set(conn.execute(sa.select(clusters_t.c.port)).scalars())
    found |= {p for p in conn.execute(sa.select(instances_t.c.port)).scalars() if p is not None}
    return found


def clear_pending(conn: Connection, kind: SourceType, owner: str, sealed: bytes) -> bool:
    """Mark the master password applied, if it is still the one that was applied."""
    table = clusters_t if kind is SourceType.CLUSTER else instances_t
    result = conn.execute(
        sa.update(table)
        .where(table.c.resource_id == owner, table.c.master_password == sealed)
        .values(password_pending=False, password_drift=False)
    )
    return result.rowcount == 1


def set_volume(conn: Connection, kind: SourceType, owner: str, **values: Any) -> None:
    table = clusters_t if kind is SourceType.CLUSTER else instances_t
    conn.execute(sa.update(table).where(table.c.resource_id == owner).values(**values))


# -- events -------------------------------------------------------------------------------


def insert_event(
    conn: Connection,
    *,
    event_id: str,
    account_id: str,
    region: str,
    source_type: SourceType,
    source_id: str,
    source_arn: str,
    message: str,
    categories: Sequence[str],
    at: datetime,
) -> None:
    conn.execute(
        sa.insert(events_t).values(
            event_id=event_id,
            account_id=account_id,
            region=region,
            source_type=source_type.value,
            source_id=source_id,
            source_arn=source_arn,
            message=message,
            categories=list(categories),
            created_at=at,
        )
    )


def events(
    conn: Connection, account_id: str, region: str, start: datetime, end: datetime
) -> list[RowMapping]:
    query = (
        sa.select(events_t)
        .where(
            events_t.c.account_id == account_id,
            events_t.c.region == region,
            events_t.c.created_at >= start,
            events_t.c.created_at <= end,
        )
        .order_by(events_t.c.created_at, events_t.c.event_id)
    )
    return list(conn.execute(query).mappings())


def prune_events(conn: Connection, before: datetime) -> int:
    result = conn.execute(sa.delete(events_t).where(events_t.c.created_at < before))
    return int(result.rowcount or 0)
