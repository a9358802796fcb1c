"""Verifying a one-time code for STS: the ``ports.MfaCodes`` implementation over the
virtual MFA devices that ``mfa.py`` manages.

A code verifies only for a device enabled for the calling principal (an IAM user's,
or the root user's: ``user_id`` NULL), within one TOTP step of now, and above the
device's ``last_counter``; the update that consumes the step is conditional on it, so
a code is accepted once even under concurrent requests.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from warden.core import totp
from warden.core.principal import Principal, PrincipalType
from warden.store.db import Store
from warden.store.keyring import KeyRing
from warden.store.schema import iam_mfa_devices


def seed_aad(serial_number: str) -> bytes:
    # The sealed seed opens only for this device: a ciphertext copied to another row fails.
    return b"warden:mfa-seed:" + serial_number.encode()


class MfaVerifier:
    """``ports.MfaCodes`` over the stored devices: STS's MFA check."""

    def __init__(self, store: Store, ring: KeyRing) -> None:
        self._store = store
        self._ring = ring

    def verify(self, principal: Principal, serial_number: str, code: str, now: datetime) -> bool:
        if principal.type is PrincipalType.IAM_USER:
            owner = iam_mfa_devices.c.user_id == principal.user_id
        elif principal.type is PrincipalType.ROOT:
            owner = iam_mfa_devices.c.user_id.is_(None)
        else:
            return False
        with self._store.begin() as conn:
            device = (
                conn.execute(
                    sa.select(iam_mfa_devices).where(
                        iam_mfa_devices.c.account_id == principal.account_id,
                        iam_mfa_devices.c.serial_number == serial_number,
                        iam_mfa_devices.c.enabled_at.is_not(None),
                        owner,
                    )
                )
                .mappings()
                .first()
            )
            if device is None:
                return False
            seed = self._ring.unseal(
                bytes(device["seed_ciphertext"]), aad=seed_aad(device["serial_number"])
            )
            counter = totp.match(seed, code, totp.counter_at(now), after=device["last_counter"])
            if counter is None:
                return False
            consumed = conn.execute(
                iam_mfa_devices.update()
                .where(
                    iam_mfa_devices.c.serial_number == device["serial_number"],
                    iam_mfa_devices.c.last_counter < counter,
                )
                .values(last_counter=counter)
            )
            return consumed.rowcount == 1
