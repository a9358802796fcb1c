"""Reading and writing secrets, versions and staging labels: SQL over one Connection.

The caller owns the transaction. Writers lock the secret row first (``for_update``: ``SELECT
… FOR UPDATE`` on PostgreSQL; SQLite's writing transactions already hold the database lock), so
concurrent writes to one secret serialise and labels never diverge. A secret whose recovery
window has passed is treated as gone everywhere, and purged when its name is reused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warden.store.prepared import Prepared
from warden.store.schema import (
    secretsmanager_secrets as secrets_t,
)
from warden.store.schema import (
    secretsmanager_stages as stages_t,
)
from warden.store.schema import (
    secretsmanager_versions as versions_t,
)

from .envelope import SealedValue, ValueKind
from .labels import Labels
from .model import SecretRecord, VersionRecord
from .names import SecretRef


def _live(now: datetime | sa.BindParameter[datetime]) -> sa.ColumnElement[bool]:
    return sa.or_(secrets_t.c.deletion_at.is_(None), secrets_t.c.deletion_at > now)


def _finder(column: sa.Column[str], *, for_update: bool) -> Prepared:
    query = sa.select(secrets_t).where(
        column == sa.bindparam("ref"),
        secrets_t.c.account_id == sa.bindparam("account"),
        secrets_t.c.region == sa.bindparam("region"),
        _live(sa.bindparam("now", type_=secrets_t.c.deletion_at.type)),
    )
    return Prepared(query.with_for_update() if for_update else query)


# (by ARN, by name) for reading, then for writing (locking the row).
_FIND = {
    lock: (_finder(secrets_t.c.arn, for_update=lock), _finder(secrets_t.c.name, for_update=lock))
    for lock in (False, True)
}
_VERSION = Prepared(
    sa.select(versions_t).where(
        versions_t.c.secret_arn == sa.bindparam("arn"),
        versions_t.c.version_id == sa.bindparam("version_id"),
    )
)
_LABELS = Prepared(sa.select(stages_t).where(stages_t.c.secret_arn == sa.bindparam("arn")))


def find(
    conn: Connection,
    account_id: str,
    region: str,
    ref: SecretRef,
    now: datetime,
    *,
    for_update: bool = False,
) -> SecretRecord | None:
    """The secret a SecretId names: full ARN first, then the name (or partial ARN)."""
    by_arn, by_name = _FIND[for_update]
    for query, value in ((by_arn, ref.arn), (by_name, ref.name)):
        if value is None:
            continue
        row = query.first(conn, ref=value, account=account_id, region=region, now=now)
        if row is not None:
            return _secret(row)
    return None


def list_live(conn: Connection, account_id: str, region: str, now: datetime) -> list[SecretRecord]:
    query = sa.select(secrets_t).where(
        secrets_t.c.account_id == account_id, secrets_t.c.region == region, _live(now)
    )
    return [_secret(row) for row in conn.execute(query).mappings()]


def purge_expired_name(
    conn: Connection, account_id: str, region: str, name: str, now: datetime
) -> None:
    conn.execute(
        sa.delete(secrets_t).where(
            secrets_t.c.account_id == account_id,
            secrets_t.c.region == region,
            secrets_t.c.name == name,
            secrets_t.c.deletion_at <= now,
        )
    )


def name_taken(conn: Connection, account_id: str, region: str, name: str) -> SecretRecord | None:
    query = sa.select(secrets_t).where(
        secrets_t.c.account_id == account_id,
        secrets_t.c.region == region,
        secrets_t.c.name == name,
    )
    row = conn.execute(query).mappings().first()
    return None if row is None else _secret(row)


def insert(conn: Connection, record: SecretRecord) -> None:
    conn.execute(sa.insert(secrets_t).values(_secret_values(record)))


def update(conn: Connection, arn: str, **values: Any) -> None:
    if "tags" in values and values["tags"] is not None:
        values["tags"] = _tags_json(values["tags"])
    conn.execute(sa.update(secrets_t).where(secrets_t.c.arn == arn).values(**values))


def delete(conn: Connection, arn: str) -> None:
    conn.execute(sa.delete(secrets_t).where(secrets_t.c.arn == arn))


def versions(conn: Connection, arn: str) -> list[VersionRecord]:
    query = (
        sa.select(versions_t)
        .where(versions_t.c.secret_arn == arn)
        .order_by(versions_t.c.created_at, versions_t.c.version_id)
    )
    return [_version(row) for row in conn.execute(query).mappings()]


def version(conn: Connection, arn: str, version_id: str) -> VersionRecord | None:
    row = _VERSION.first(conn, arn=arn, version_id=version_id)
    return None if row is None else _version(row)


def versions_in(conn: Connection, arn: str, version_ids: Iterable[str]) -> list[VersionRecord]:
    """The named versions of one secret that exist (one query)."""
    query = sa.select(versions_t).where(
        versions_t.c.secret_arn == arn, versions_t.c.version_id.in_(list(version_ids))
    )
    return [_version(row) for row in conn.execute(query).mappings()]


def insert_version(conn: Connection, arn: str, record: VersionRecord) -> None:
    conn.execute(
        sa.insert(versions_t).values(
            secret_arn=arn,
            version_id=record.version_id,
            created_at=record.created_at,
            kms_key_label=record.kms_key_label,
            **_sealed_values(record.sealed),
        )
    )


def set_value(
    conn: Connection, arn: str, version_id: str, sealed: SealedValue, kms_key_label: str
) -> None:
    conn.execute(
        sa.update(versions_t)
        .where(versions_t.c.secret_arn == arn, versions_t.c.version_id == version_id)
        .values(kms_key_label=kms_key_label, **_sealed_values(sealed))
    )


def delete_versions(conn: Connection, arn: str, version_ids: Iterable[str]) -> None:
    ids = list(version_ids)
    if ids:
        conn.execute(
            sa.delete(versions_t).where(
                versions_t.c.secret_arn == arn, versions_t.c.version_id.in_(ids)
            )
        )


def touch_accessed(conn: Connection, arn: str, version_id: str, day: datetime) -> None:
    """Record a read at date resolution; a no-op write is skipped (most reads are)."""
    conn.execute(
        sa.update(secrets_t)
        .where(
            secrets_t.c.arn == arn,
            sa.or_(secrets_t.c.last_accessed_at.is_(None), secrets_t.c.last_accessed_at < day),
        )
        .values(last_accessed_at=day)
    )
    conn.execute(
        sa.update(versions_t)
        .where(
            versions_t.c.secret_arn == arn,
            versions_t.c.version_id == version_id,
            sa.or_(versions_t.c.last_accessed_at.is_(None), versions_t.c.last_accessed_at < day),
        )
        .values(last_accessed_at=day)
    )


def labels(conn: Connection, arn: str) -> Labels:
    return Labels.of({row["stage"]: row["version_id"] for row in _LABELS.rows(conn, arn=arn)})


def labels_for(conn: Connection, arns: Iterable[str]) -> dict[str, Labels]:
    wanted = list(arns)
    if not wanted:
        return {}
    query = sa.select(stages_t).where(stages_t.c.secret_arn.in_(wanted))
    found: dict[str, dict[str, str]] = {}
    for row in conn.execute(query).mappings():
        found.setdefault(row["secret_arn"], {})[row["stage"]] = row["version_id"]
    return {arn: Labels.of(mapping) for arn, mapping in found.items()}


def save_labels(conn: Connection, arn: str, before: Labels, after: Labels) -> None:
    old, new = before.as_dict(), after.as_dict()
    gone = [label for label in old if old[label] != new.get(label)]
    if gone:
        conn.execute(
            sa.delete(stages_t).where(stages_t.c.secret_arn == arn, stages_t.c.stage.in_(gone))
        )
    added = [
        {"secret_arn": arn, "stage": label, "version_id": version}
        for label, version in new.items()
        if old.get(label) != version
    ]
    if added:
        conn.execute(sa.insert(stages_t), added)


def _secret(row: Mapping[Any, Any]) -> SecretRecord:
    tags = row["tags"]
    return SecretRecord(
        arn=row["arn"],
        account_id=row["account_id"],
        region=row["region"],
        name=row["name"],
        created_at=row["created_at"],
        last_changed_at=row["last_changed_at"],
        description=row["description"],
        kms_key_id=row["kms_key_id"],
        secret_type=row["secret_type"],
        owning_service=row["owning_service"],
        tags=None if tags is None else tuple((t["Key"], t["Value"]) for t in tags),
        resource_policy=row["resource_policy"],
        rotation_enabled=row["rotation_enabled"],
        rotation_lambda_arn=row["rotation_lambda_arn"],
        rotation_rules=row["rotation_rules"],
        external_rotation=row["external_rotation"],
        next_rotation_at=row["next_rotation_at"],
        last_rotated_at=row["last_rotated_at"],
        last_accessed_at=row["last_accessed_at"],
        deleted_at=row["deleted_at"],
        deletion_at=row["deletion_at"],
    )


def _secret_values(record: SecretRecord) -> dict[str, Any]:
    return {
        "arn": record.arn,
        "account_id": record.account_id,
        "region": record.region,
        "name": record.name,
        "description": record.description,
        "kms_key_id": record.kms_key_id,
        "secret_type": record.secret_type,
        "owning_service": record.owning_service,
        "tags": None if record.tags is None else _tags_json(record.tags),
        "resource_policy": record.resource_policy,
        "rotation_enabled": record.rotation_enabled,
        "rotation_lambda_arn": record.rotation_lambda_arn,
        "rotation_rules": record.rotation_rules,
        "external_rotation": record.external_rotation,
        "next_rotation_at": record.next_rotation_at,
        "last_rotated_at": record.last_rotated_at,
        "last_changed_at": record.last_changed_at,
        "last_accessed_at": record.last_accessed_at,
        "created_at": record.created_at,
        "deleted_at": record.deleted_at,
        "deletion_at": record.deletion_at,
    }


def _tags_json(tags: Iterable[tuple[str, str]]) -> list[Mapping[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags]


def _version(row: Mapping[Any, Any]) -> VersionRecord:
    sealed = None
    if row["ciphertext"] is not None:
        sealed = SealedValue(
            kind=ValueKind(row["value_kind"]),
            ciphertext=bytes(row["ciphertext"]),
            data_key_blob=bytes(row["data_key"]),
            kms_key_arn=row["kms_key_arn"],
        )
    return VersionRecord(
        version_id=row["version_id"],
        created_at=row["created_at"],
        sealed=sealed,
        kms_key_label=row["kms_key_label"],
        last_accessed_at=row["last_accessed_at"],
    )


def _sealed_values(sealed: SealedValue | None) -> dict[str, Any]:
    if sealed is None:
        return {"value_kind": None, "ciphertext": None, "data_key": None, "kms_key_arn": None}
    return {
        "value_kind": sealed.kind.value,
        "ciphertext": sealed.ciphertext,
        "data_key": sealed.data_key_blob,
        "kms_key_arn": sealed.kms_key_arn,
    }
