"""Virtual MFA devices (TOTP, RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps).

Owns the ``iam_mfa_devices`` rows: creating a device (its serial is
``arn:aws:iam::ACCOUNT:mfa/PATH/NAME``), enabling it for a user with two consecutive
codes, resynchronising, deactivating, deleting, listing; and verifying a code for STS
(``mfa_codes.MfaVerifier``, the ``ports.MfaCodes`` implementation).

Invariants:
- The seed is stored only sealed by the key ring, its associated data bound to the
  serial number; it leaves the server once, in CreateVirtualMFADevice's answer.
- A code is accepted at most once: ``last_counter`` is the newest time step accepted,
  and the update that consumes a step is conditional on it, so two concurrent requests
  with the same code cannot both succeed.
- A device is "assigned" when ``enabled_at`` is set: ``user_id`` names the user, or is
  NULL for the root user. Unassigned devices have neither.
- Codes are matched one step either side of now, compared in constant time.

Not modelled: ``QRCodePNG`` (no QR encoder in the dependencies; clients get the
``Base32StringSeed``, which every authenticator app accepts typed in), and a device's
clock drift (no column for it: ResyncMFADevice checks two fresh consecutive codes within
the normal window and advances ``last_counter``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import RowMapping

from warden.core import totp
from warden.core.ids import IdFactory
from warden.core.principal import PrincipalType
from warden.services.context import CallContext
from warden.store.db import Store
from warden.store.keyring import KeyRing
from warden.store.schema import iam_mfa_devices, iam_users

from . import inputs
from .errors import (
    DeleteConflict,
    EntityAlreadyExists,
    LimitExceeded,
    NoSuchEntity,
    ValidationError,
)
from .mfa_codes import seed_aad
from .mfa_errors import ConcurrentModification, InvalidAuthenticationCode

SEED_BYTES = 40  # AWS's seeds are 64 base32 characters
MAX_DEVICES_PER_USER = 8
ISSUER = "warden"
ASSIGNMENT_STATUSES = ("Assigned", "Unassigned", "Any")

_SERIAL = re.compile(r"[\w+=/:,.@-]+")
_CODE = re.compile(r"[\d]+")
_NAME = re.compile(inputs.NAME_PATTERN)
_BAD_CODE = "Authentication code for device is not valid."


def _serial(params: Mapping[str, Any]) -> str:
    value = inputs.text(params, "SerialNumber", max_len=256, pattern=_SERIAL)
    if value is None:
        raise ValidationError(message="The request must contain the parameter SerialNumber")
    return value


def _codes(params: Mapping[str, Any]) -> tuple[str, str]:
    first = inputs.text(params, "AuthenticationCode1", max_len=6, pattern=_CODE, echo=False)
    second = inputs.text(params, "AuthenticationCode2", max_len=6, pattern=_CODE, echo=False)
    if first is None or second is None:
        raise ValidationError(message="The request must contain two authentication codes")
    return first, second


def _device_out(row: RowMapping) -> dict[str, Any]:
    out: dict[str, Any] = {"SerialNumber": row["serial_number"]}
    if row["enabled_at"] is not None:
        out["EnableDate"] = row["enabled_at"]
    if row["tags"]:
        out["Tags"] = list(row["tags"])
    return out


class MfaDevices:
    """The IAM MFA operations; each method is a handler ``(CallContext, params) -> output``."""

    def __init__(self, store: Store, ring: KeyRing, ids: IdFactory) -> None:
        self._store = store
        self._ring = ring
        self._ids = ids

    # -- handlers ------------------------------------------------------------------

    def create_virtual_mfa_device(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        name = inputs.name(params, "VirtualMFADeviceName", 226)
        path = inputs.path(params) or "/"
        tags = inputs.tags(params)
        serial = f"arn:aws:iam::{ctx.account_id}:mfa{path}{name}"
        seed = self._ids.token_bytes(SEED_BYTES)
        with self._store.begin() as conn:
            clash = conn.execute(
                sa.select(iam_mfa_devices.c.serial_number).where(
                    iam_mfa_devices.c.account_id == ctx.account_id,
                    sa.func.lower(iam_mfa_devices.c.serial_number) == serial.lower(),
                )
            ).first()
            if clash is not None:
                raise EntityAlreadyExists(
                    message="MFADevice entity at the same path and name already exists."
                )
            conn.execute(
                iam_mfa_devices.insert().values(
                    serial_number=serial,
                    account_id=ctx.account_id,
                    user_id=None,
                    seed_ciphertext=self._ring.seal(seed, aad=seed_aad(serial)),
                    enabled_at=None,
                    created_at=ctx.now,
                    tags=tags,
                    last_counter=0,
                )
            )
        device: dict[str, Any] = {
            "SerialNumber": serial,
            # A blob member: the client base64-decodes it back to the base32 text.
            "Base32StringSeed": totp.base32_seed(seed).encode("ascii"),
        }
        if tags:
            device["Tags"] = tags
        return {"VirtualMFADevice": device}

    def enable_mfa_device(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        user_name = _required_user_name(params)
        serial = _serial(params)
        first, second = _codes(params)
        with self._store.begin() as conn:
            user = _user(conn, ctx.account_id, user_name)
            device = self._device(conn, ctx.account_id, serial)
            if device["enabled_at"] is not None:
                raise EntityAlreadyExists(message="MFA Device is already in use.")
            count = conn.execute(
                sa.select(sa.func.count()).where(
                    iam_mfa_devices.c.user_id == user["user_id"],
                    iam_mfa_devices.c.enabled_at.is_not(None),
                )
            ).scalar_one()
            if count >= MAX_DEVICES_PER_USER:
                raise LimitExceeded(
                    message=f"Cannot exceed quota for MFADevicesPerUser: {MAX_DEVICES_PER_USER}"
                )
            counter = self._consecutive(device, first, second, ctx.now)
            done = conn.execute(
                iam_mfa_devices.update()
                .where(
                    iam_mfa_devices.c.serial_number == device["serial_number"],
                    iam_mfa_devices.c.enabled_at.is_(None),
                    iam_mfa_devices.c.last_counter < counter,
                )
                .values(user_id=user["user_id"], enabled_at=ctx.now, last_counter=counter)
            )
            if done.rowcount != 1:
                raise ConcurrentModification(message="The MFA device was modified concurrently.")
        return {}

    def resync_mfa_device(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        user_name = _required_user_name(params)
        serial = _serial(params)
        first, second = _codes(params)
        with self._store.begin() as conn:
            user = _user(conn, ctx.account_id, user_name)
            device = self._assigned(conn, ctx.account_id, serial, user)
            counter = self._consecutive(device, first, second, ctx.now)
            done = conn.execute(
                iam_mfa_devices.update()
                .where(
                    iam_mfa_devices.c.serial_number == device["serial_number"],
                    iam_mfa_devices.c.last_counter < counter,
                )
                .values(last_counter=counter)
            )
            if done.rowcount != 1:
                raise InvalidAuthenticationCode(message=_BAD_CODE)
        return {}

    def deactivate_mfa_device(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        serial = _serial(params)
        user_name = _optional_user_name(params)
        with self._store.begin() as conn:
            user = _caller_or_named(conn, ctx, user_name)
            device = self._assigned(conn, ctx.account_id, serial, user)
            # last_counter stays: codes already used must stay used if the device is re-enabled.
            conn.execute(
                iam_mfa_devices.update()
                .where(iam_mfa_devices.c.serial_number == device["serial_number"])
                .values(user_id=None, enabled_at=None)
            )
        return {}

    def delete_virtual_mfa_device(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        serial = _serial(params)
        with self._store.begin() as conn:
            device = self._device(conn, ctx.account_id, serial)
            if device["enabled_at"] is not None:
                raise DeleteConflict(message="MFA VirtualDevice in use. Must deactivate first.")
            conn.execute(
                iam_mfa_devices.delete().where(
                    iam_mfa_devices.c.serial_number == device["serial_number"],
                    iam_mfa_devices.c.enabled_at.is_(None),
                )
            )
        return {}

    def list_mfa_devices(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        user_name = _optional_user_name(params)
        with self._store.read() as conn:
            user = _caller_or_named(conn, ctx, user_name)
            owner = (
                iam_mfa_devices.c.user_id.is_(None)
                if user is None
                else iam_mfa_devices.c.user_id == user["user_id"]
            )
            rows = conn.execute(
                sa.select(iam_mfa_devices)
                .where(
                    iam_mfa_devices.c.account_id == ctx.account_id,
                    iam_mfa_devices.c.enabled_at.is_not(None),
                    owner,
                )
                .order_by(iam_mfa_devices.c.enabled_at, iam_mfa_devices.c.serial_number)
            ).mappings()
            shown = user["name"] if user is not None else ctx.account_id
            items = [
                {
                    "UserName": shown,
                    "SerialNumber": r["serial_number"],
                    "EnableDate": r["enabled_at"],
                }
                for r in rows
            ]
        page, extra = ctx.page(items)
        return {"MFADevices": page, **extra}

    def list_virtual_mfa_devices(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        status = params.get("AssignmentStatus") or "Any"
        if status not in ASSIGNMENT_STATUSES:
            raise ValidationError(
                message=f"1 validation error detected: Value '{status}' at 'assignmentStatus' "
                "failed to satisfy constraint: Member must satisfy enum value set: "
                "[Unassigned, Any, Assigned]"
            )
        query = (
            sa.select(
                iam_mfa_devices,
                iam_users.c.path,
                iam_users.c.name,
                iam_users.c.arn,
                iam_users.c.user_id.label("owner_id"),
                iam_users.c.created_at.label("owner_created_at"),
            )
            .select_from(
                iam_mfa_devices.outerjoin(
                    iam_users, iam_users.c.user_id == iam_mfa_devices.c.user_id
                )
            )
            .where(iam_mfa_devices.c.account_id == ctx.account_id)
            .order_by(iam_mfa_devices.c.serial_number)
        )
        if status == "Assigned":
            query = query.where(iam_mfa_devices.c.enabled_at.is_not(None))
        elif status == "Unassigned":
            query = query.where(iam_mfa_devices.c.enabled_at.is_(None))
        with self._store.read() as conn:
            rows = list(conn.execute(query).mappings())
        items = [_virtual_out(r, ctx.account_id) for r in rows]
        page, extra = ctx.page(items)
        return {"VirtualMFADevices": page, **extra}

    # -- helpers ---------------------------------------------------------------------

    def _device(self, conn: sa.Connection, account: str, serial: str) -> RowMapping:
        row = (
            conn.execute(
                sa.select(iam_mfa_devices).where(
                    iam_mfa_devices.c.account_id == account,
                    iam_mfa_devices.c.serial_number == serial,
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NoSuchEntity(
                message=f"VirtualMFADevice with serial number {serial} doesn't exist."
            )
        return row

    def _assigned(
        self, conn: sa.Connection, account: str, serial: str, user: RowMapping | None
    ) -> RowMapping:
        device = self._device(conn, account, serial)
        owner = user["user_id"] if user is not None else None
        if device["enabled_at"] is None or device["user_id"] != owner:
            who = user["name"] if user is not None else "root"
            raise NoSuchEntity(
                message=f"MFA Device with serial number {serial} does not exist for user {who}."
            )
        return device

    def _seed(self, device: RowMapping) -> bytes:
        return self._ring.unseal(
            bytes(device["seed_ciphertext"]), aad=seed_aad(device["serial_number"])
        )

    def _consecutive(self, device: RowMapping, first: str, second: str, now: datetime) -> int:
        counter = totp.match_consecutive(
            self._seed(device), first, second, totp.counter_at(now), after=device["last_counter"]
        )
        if counter is None:
            raise InvalidAuthenticationCode(message=_BAD_CODE)
        return counter


def _optional_user_name(params: Mapping[str, Any]) -> str | None:
    return inputs.text(params, "UserName", max_len=128, pattern=_NAME)


def _required_user_name(params: Mapping[str, Any]) -> str:
    value = _optional_user_name(params)
    if value is None:
        raise ValidationError(message="The request must contain the parameter UserName")
    return value


def _user(conn: sa.Connection, account: str, name: str) -> RowMapping:
    row = (
        conn.execute(
            sa.select(iam_users).where(
                iam_users.c.account_id == account, iam_users.c.name_lower == name.lower()
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NoSuchEntity(message=f"The user with name {name} cannot be found.")
    return row


def _caller_or_named(conn: sa.Connection, ctx: CallContext, name: str | None) -> RowMapping | None:
    """The named user; without a name, the calling user (None: the root user)."""
    if name is not None:
        return _user(conn, ctx.account_id, name)
    caller = ctx.principal
    if caller.type is PrincipalType.ROOT:
        return None
    if caller.type is PrincipalType.IAM_USER:
        return _user(conn, ctx.account_id, caller.name)
    raise ValidationError(message="Must specify userName when calling with non-User credentials")


def _virtual_out(row: RowMapping, account: str) -> dict[str, Any]:
    out = _device_out(row)
    if row["enabled_at"] is None:
        return out
    if row["user_id"] is None:  # the root user's device
        out["User"] = {
            "Path": "/",
            "UserName": account,
            "UserId": account,
            "Arn": f"arn:aws:iam::{account}:root",
            "CreateDate": row["enabled_at"],
        }
    else:
        out["User"] = {
            "Path": row["path"],
            "UserName": row["name"],
            "UserId": row["owner_id"],
            "Arn": row["arn"],
            "CreateDate": row["owner_created_at"],
        }
    return out
