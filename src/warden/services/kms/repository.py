"""KMS metadata in the store: keys, aliases and completed rotations (SQLAlchemy Core).

Every function takes the caller's connection, so the caller decides the transaction.
Lookups take ``now`` and treat a key whose deletion date has passed as absent (its row may
linger until ``delete_key`` runs); listings skip such keys too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from warden.store.prepared import Prepared
from warden.store.schema import (
    KmsKeyState,
    KmsRotationType,
    kms_aliases,
    kms_key_rotations,
    kms_keys,
)

from .model import Key, KeyRef, RefKind, alias_arn, tags_to_json


@dataclass(frozen=True, slots=True)
class Alias:
    account_id: str
    region: str
    name: str
    key_id: str
    created_at: datetime
    updated_at: datetime

    @property
    def arn(self) -> str:
        return alias_arn(self.account_id, self.region, self.name)

    def entry(self) -> dict[str, Any]:
        return {
            "AliasName": self.name,
            "AliasArn": self.arn,
            "TargetKeyId": self.key_id,
            "CreationDate": self.created_at,
            "LastUpdatedDate": self.updated_at,
        }


@dataclass(frozen=True, slots=True)
class Rotation:
    version: int
    rotation_type: KmsRotationType
    rotated_at: datetime


def _live(key: Key | None, now: datetime) -> Key | None:
    return None if key is None or key.gone(now) else key


_BY_ID = Prepared(sa.select(kms_keys).where(kms_keys.c.key_id == sa.bindparam("key_id")))


def by_id(conn: Connection, key_id: str, now: datetime, *, lock: bool = False) -> Key | None:
    if lock:
        query = sa.select(kms_keys).where(kms_keys.c.key_id == key_id).with_for_update()
        row: Mapping[Any, Any] | None = conn.execute(query).mappings().first()
    else:
        row = _BY_ID.first(conn, key_id=key_id)
    return _live(Key.from_row(row) if row else None, now)


def find(conn: Connection, ref: KeyRef, now: datetime, *, lock: bool = False) -> Key | None:
    """The live key ``ref`` names in its account and region, or None."""
    if ref.kind is RefKind.KEY:
        found = by_id(conn, ref.name, now, lock=lock)
        if found is None or (found.account_id, found.region) != (ref.account_id, ref.region):
            return None
        return found
    alias = alias_named(conn, ref.account_id, ref.region, ref.name)
    return by_id(conn, alias.key_id, now, lock=lock) if alias else None


def insert_key(conn: Connection, key: Key) -> None:
    conn.execute(
        kms_keys.insert().values(
            key_id=key.key_id,
            account_id=key.account_id,
            region=key.region,
            arn=key.arn,
            description=key.description,
            state=key.state.value,
            key_manager=key.key_manager.value,
            key_usage=key.key_usage,
            key_spec=key.key_spec,
            created_at=key.created_at,
            deletion_date=key.deletion_date,
            policy=key.policy,
            tags=tags_to_json(key.tags),
            rotation_enabled=key.rotation_enabled,
            rotation_period_days=key.rotation_period_days,
            next_rotation_date=key.next_rotation_date,
            current_material_version=key.current_material_version,
        )
    )


def update_key(conn: Connection, key_id: str, **values: Any) -> int:
    """Set columns of one key; the number of rows changed (0 or 1)."""
    result = conn.execute(kms_keys.update().where(kms_keys.c.key_id == key_id).values(**values))
    return int(result.rowcount)


def list_keys(conn: Connection, account_id: str, region: str, now: datetime) -> list[Key]:
    rows = conn.execute(
        sa.select(kms_keys)
        .where(kms_keys.c.account_id == account_id, kms_keys.c.region == region)
        .order_by(kms_keys.c.created_at, kms_keys.c.key_id)
    ).mappings()
    return [k for k in (Key.from_row(r) for r in rows) if not k.gone(now)]


def _alias(row: Any) -> Alias:
    return Alias(
        row.account_id, row.region, row.alias_name, row.key_id, row.created_at, row.updated_at
    )


def alias_named(conn: Connection, account_id: str, region: str, name: str) -> Alias | None:
    row = conn.execute(
        sa.select(kms_aliases).where(
            kms_aliases.c.account_id == account_id,
            kms_aliases.c.region == region,
            kms_aliases.c.alias_name == name,
        )
    ).first()
    return _alias(row) if row else None


def aliases(
    conn: Connection, account_id: str, region: str, now: datetime, key_id: str | None = None
) -> list[Alias]:
    """The aliases of live keys in the account and region (of one key if given), by name."""
    query = (
        sa.select(kms_aliases, kms_keys.c.state, kms_keys.c.deletion_date)
        .join(kms_keys, kms_keys.c.key_id == kms_aliases.c.key_id)
        .where(kms_aliases.c.account_id == account_id, kms_aliases.c.region == region)
        .order_by(kms_aliases.c.alias_name)
    )
    if key_id is not None:
        query = query.where(kms_aliases.c.key_id == key_id)
    return [
        _alias(r)
        for r in conn.execute(query)
        if not (
            r.state == KmsKeyState.PENDING_DELETION.value
            and r.deletion_date is not None
            and r.deletion_date <= now
        )
    ]


# Every use of a key through a service (GetSecretValue's data key) reads its aliases.
_ALIAS_NAMES = Prepared(
    sa.select(kms_aliases.c.alias_name).where(kms_aliases.c.key_id == sa.bindparam("key_id"))
)


def alias_names(conn: Connection, key_id: str) -> list[str]:
    return sorted(r["alias_name"] for r in _ALIAS_NAMES.rows(conn, key_id=key_id))


def insert_alias(
    conn: Connection, account_id: str, region: str, name: str, key_id: str, now: datetime
) -> None:
    conn.execute(
        kms_aliases.insert().values(
            account_id=account_id,
            region=region,
            alias_name=name,
            key_id=key_id,
            created_at=now,
            updated_at=now,
        )
    )


def _alias_where(account_id: str, region: str, name: str) -> Sequence[sa.ColumnElement[bool]]:
    return (
        kms_aliases.c.account_id == account_id,
        kms_aliases.c.region == region,
        kms_aliases.c.alias_name == name,
    )


def retarget_alias(
    conn: Connection, account_id: str, region: str, name: str, key_id: str, now: datetime
) -> None:
    conn.execute(
        kms_aliases.update()
        .where(*_alias_where(account_id, region, name))
        .values(key_id=key_id, updated_at=now)
    )


def delete_alias(conn: Connection, account_id: str, region: str, name: str) -> None:
    conn.execute(kms_aliases.delete().where(*_alias_where(account_id, region, name)))


def rotations(conn: Connection, key_id: str) -> list[Rotation]:
    rows = conn.execute(
        sa.select(kms_key_rotations)
        .where(kms_key_rotations.c.key_id == key_id)
        .order_by(kms_key_rotations.c.version)
    )
    return [Rotation(r.version, KmsRotationType(r.rotation_type), r.rotated_at) for r in rows]


def add_rotation(
    conn: Connection, key_id: str, version: int, kind: KmsRotationType, now: datetime
) -> None:
    conn.execute(
        kms_key_rotations.insert().values(
            key_id=key_id, version=version, rotation_type=kind.value, rotated_at=now
        )
    )


def due_for_rotation(conn: Connection, now: datetime) -> list[str]:
    """Enabled keys with automatic rotation on whose next rotation date has come."""
    return list(
        conn.execute(
            sa.select(kms_keys.c.key_id)
            .where(
                kms_keys.c.rotation_enabled.is_(True),
                kms_keys.c.next_rotation_date <= now,
                kms_keys.c.state == KmsKeyState.ENABLED.value,
            )
            .order_by(kms_keys.c.next_rotation_date)
        ).scalars()
    )


def due_for_deletion(conn: Connection, now: datetime) -> list[str]:
    return list(
        conn.execute(
            sa.select(kms_keys.c.key_id).where(
                kms_keys.c.state == KmsKeyState.PENDING_DELETION.value,
                kms_keys.c.deletion_date <= now,
            )
        ).scalars()
    )


def delete_key(conn: Connection, key_id: str) -> None:
    """The key row; its aliases and rotation records go with it (ON DELETE CASCADE)."""
    conn.execute(kms_aliases.delete().where(kms_aliases.c.key_id == key_id))
    conn.execute(kms_key_rotations.delete().where(kms_key_rotations.c.key_id == key_id))
    conn.execute(kms_keys.delete().where(kms_keys.c.key_id == key_id))
