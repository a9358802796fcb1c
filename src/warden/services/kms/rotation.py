"""Key rotation and the end of a key's life: new material versions, and deletion when due.

Invariants:
- Rotating makes version N+1 (``KeyStore.create``, idempotent) and then, in one
  transaction, moves the key from N to N+1 only if it is still at N and records the
  rotation. Two concurrent rotations cannot both win: the loser gets ConflictException;
  a crash between the steps leaves an unused version N+1 that the next attempt reuses.
- Old versions are never touched, so every earlier ciphertext still decrypts.
- Automatic rotation moves ``next_rotation_date`` to ``now + period`` (anchored at the
  rotation actually done, so a late sweep does not trigger a burst of catch-up rotations);
  on-demand rotation leaves the automatic schedule alone, as in AWS.
- ``delete_due`` destroys the material first, then the rows: a crash in between leaves a
  row whose deletion date has passed, which every lookup already treats as absent, and the
  next sweep finishes the job.

``rotate_due`` and ``delete_due`` are meant to be called periodically (by a job on the
store's queue); nothing here starts a thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from warden.services.context import CallContext
from warden.store.schema import KmsRotationType, kms_keys

from . import repository, requests
from .errors import (
    ConflictException,
    LimitExceededException,
    NotFoundException,
    UnsupportedOperationException,
    ValidationException,
    bound_message,
    enum_message,
)
from .keys import Keys, require_enabled
from .model import (
    DEFAULT_ROTATION_DAYS,
    MAX_ON_DEMAND_ROTATIONS,
    MAX_ROTATION_DAYS,
    MIN_ROTATION_DAYS,
    Key,
    material_id,
)


class Rotator:
    def __init__(self, keys: Keys) -> None:
        self._keys = keys

    def rotate(self, key: Key, kind: KmsRotationType) -> int:
        """Give ``key`` new material; the new current version."""
        now = self._keys.clock.now()
        old = key.current_material_version
        new = old + 1
        self._keys.keystore.create(key.key_id, new)
        values: dict[str, object] = {"current_material_version": new}
        if kind is KmsRotationType.AUTOMATIC:
            period = key.rotation_period_days or DEFAULT_ROTATION_DAYS
            values["next_rotation_date"] = now + timedelta(days=period)
        with self._keys.store.begin() as conn:
            moved = conn.execute(
                kms_keys.update()
                .where(kms_keys.c.key_id == key.key_id, kms_keys.c.current_material_version == old)
                .values(**values)
            ).rowcount
            if moved != 1:
                raise ConflictException(
                    message=f"{key.arn} is already being rotated; try again later."
                )
            repository.add_rotation(conn, key.key_id, new, kind, now)
        return new

    def rotate_due(self, now: datetime) -> list[str]:
        """Rotate every enabled key whose automatic rotation is due; the ids rotated."""
        with self._keys.store.read() as conn:
            due = repository.due_for_rotation(conn, now)
        done: list[str] = []
        for key_id in due:
            with self._keys.store.read() as conn:
                key = repository.by_id(conn, key_id, now)
            if key is None or not key.rotation_enabled:
                continue
            try:
                self.rotate(key, KmsRotationType.AUTOMATIC)
            except ConflictException:
                continue  # another node rotated it meanwhile
            done.append(key_id)
        return done

    def delete_due(self, now: datetime) -> list[str]:
        """Delete every key whose waiting period is over (material, aliases, row)."""
        with self._keys.store.read() as conn:
            due = repository.due_for_deletion(conn, now)
        for key_id in due:
            self._keys.keystore.destroy(key_id)
            with self._keys.store.begin() as conn:
                repository.delete_key(conn, key_id)
        return due

    def on_demand_count(self, key_id: str) -> int:
        with self._keys.store.read() as conn:
            rows = repository.rotations(conn, key_id)
        return sum(1 for r in rows if r.rotation_type is KmsRotationType.ON_DEMAND)


def rotation_update(
    key: Key, enabled: bool, period: int | None, now: datetime
) -> dict[str, object]:
    """The columns EnableKeyRotation / DisableKeyRotation set."""
    if not enabled:
        return {"rotation_enabled": False, "next_rotation_date": None}
    days = period or key.rotation_period_days or DEFAULT_ROTATION_DAYS
    if key.rotation_enabled and key.next_rotation_date is not None:
        # A new period on an enabled key counts from the same start as the old one.
        start = key.next_rotation_date - timedelta(
            days=key.rotation_period_days or DEFAULT_ROTATION_DAYS
        )
        next_date = max(start + timedelta(days=days), now)
    else:
        next_date = now + timedelta(days=days)
    return {"rotation_enabled": True, "rotation_period_days": days, "next_rotation_date": next_date}


_MATERIAL_CHOICES = ("ALL_KEY_MATERIAL", "ROTATIONS_ONLY")


def _period(params: Mapping[str, Any]) -> int | None:
    days = params.get("RotationPeriodInDays")
    if days is None:
        return None
    if not isinstance(days, int) or days < MIN_ROTATION_DAYS:
        relation, bound = "greater than or equal to", MIN_ROTATION_DAYS
    elif days > MAX_ROTATION_DAYS:
        relation, bound = "less than or equal to", MAX_ROTATION_DAYS
    else:
        return days
    raise ValidationException(message=bound_message("rotationPeriodInDays", days, relation, bound))


class RotationOps:
    """The rotation operations of the API."""

    def __init__(self, keys: Keys, rotator: Rotator) -> None:
        self._keys = keys
        self._rotator = rotator

    def _usable(self, ctx: CallContext, params: Mapping[str, Any], operation: str) -> Key:
        key = self._keys.lookup(params["KeyId"], ctx.account_id, ctx.region)
        if key.aws_managed:
            raise UnsupportedOperationException(
                message=f"{operation} is not supported on AWS managed key {key.arn}; "
                "AWS rotates AWS managed keys every year."
            )
        require_enabled(key)
        return key

    def _switch(self, ctx: CallContext, key: Key, enabled: bool, period: int | None) -> None:
        with self._keys.store.begin() as conn:
            current = repository.by_id(conn, key.key_id, ctx.now, lock=True)
            if current is None:
                raise NotFoundException(message=f"Key '{key.arn}' does not exist")
            require_enabled(current)
            repository.update_key(
                conn, key.key_id, **rotation_update(current, enabled, period, ctx.now)
            )

    def enable_key_rotation(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        period = _period(params)
        key = self._usable(ctx, params, "EnableKeyRotation")
        self._switch(ctx, key, True, period)
        return {}

    def disable_key_rotation(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        key = self._usable(ctx, params, "DisableKeyRotation")
        self._switch(ctx, key, False, None)
        return {}

    def get_key_rotation_status(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        key = self._keys.lookup(params["KeyId"], ctx.account_id, ctx.region)
        out: dict[str, Any] = {"KeyRotationEnabled": key.rotation_enabled, "KeyId": key.arn}
        if key.rotation_enabled:
            out["RotationPeriodInDays"] = key.rotation_period_days or DEFAULT_ROTATION_DAYS
            if key.next_rotation_date is not None:
                out["NextRotationDate"] = key.next_rotation_date
        return out

    def rotate_key_on_demand(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        key = self._usable(ctx, params, "RotateKeyOnDemand")
        if self._rotator.on_demand_count(key.key_id) >= MAX_ON_DEMAND_ROTATIONS:
            raise LimitExceededException(
                message=f"{key.arn} has reached the limit of {MAX_ON_DEMAND_ROTATIONS} "
                "on-demand rotations."
            )
        self._rotator.rotate(key, KmsRotationType.ON_DEMAND)
        return {"KeyId": key.key_id}

    def list_key_rotations(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        requests.limit(params, 1000)
        choice = params.get("IncludeKeyMaterial") or "ROTATIONS_ONLY"
        if choice not in _MATERIAL_CHOICES:
            raise ValidationException(
                message=enum_message("includeKeyMaterial", choice, _MATERIAL_CHOICES)
            )
        key = self._keys.lookup(params["KeyId"], ctx.account_id, ctx.region)
        with self._keys.store.read() as conn:
            done = repository.rotations(conn, key.key_id)
        entries: list[dict[str, Any]] = []
        if choice == "ALL_KEY_MATERIAL":
            entries.append(_material_entry(key, 1))
        for r in done:
            entries.append(
                {
                    **_material_entry(key, r.version),
                    "RotationDate": r.rotated_at,
                    "RotationType": r.rotation_type.value,
                }
            )
        page, more = ctx.page(entries)
        return {"Rotations": page, **more}


def _material_entry(key: Key, version: int) -> dict[str, Any]:
    current = version == key.current_material_version
    return {
        "KeyId": key.key_id,
        "KeyMaterialId": material_id(key.key_id, version),
        "KeyMaterialState": "CURRENT" if current else "NON_CURRENT",
    }
