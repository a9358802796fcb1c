"""Access keys: create (at most two per user), activate/deactivate, delete, list, last use.

Invariants: the secret is shown once, in the CreateAccessKey answer, and stored only
sealed by the key ring with the key id as associated data (``store.credentials.access_key_aad``,
exactly as ``bootstrap`` seals the first key), so a ciphertext moved to another row does
not open. A key belongs to an IAM user, or to the root user when ``user_id`` is NULL.
A key made Inactive or deleted stops authenticating within the credential cache's
lifetime (``identity.CACHE_SECONDS``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from warden.core.ids import IdFactory
from warden.services.context import CallContext
from warden.store.credentials import access_key_aad
from warden.store.db import Store
from warden.store.keyring import KeyRing
from warden.store.schema import AccessKeyStatus, access_keys, iam_users

from .entities import Kind, caller_user, count, find, listing
from .errors import InvalidInput, LimitExceeded, NoSuchEntity

MAX_KEYS = 2
ROOT_NAME = "root"  # CreateAccessKey's required UserName when the root user owns the key
_K = access_keys.c


def _no_key(akid: str) -> NoSuchEntity:
    return NoSuchEntity(message=f"The Access Key with id {akid} cannot be found")


class AccessKeys:
    def __init__(self, store: Store, ring: KeyRing, ids: IdFactory) -> None:
        self._store = store
        self._ring = ring
        self._ids = ids

    def _owner(
        self, conn: sa.Connection, ctx: CallContext, params: Mapping[str, Any], *, lock: bool
    ) -> tuple[str | None, str]:
        """(user id or None for root, the name AWS shows) of the key owner the call means."""
        name = caller_user(ctx, params)
        if name is None:
            return None, ROOT_NAME
        user = find(conn, Kind.USER, ctx.account_id, name, lock=lock)
        return user["user_id"], user["name"]

    @staticmethod
    def _of(account: str, owner: str | None) -> tuple[sa.ColumnElement[bool], ...]:
        who = _K.user_id.is_(None) if owner is None else _K.user_id == owner
        return (_K.account_id == account, who)

    def create_access_key(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        akid = self._ids.access_key_id("AKIA")
        secret = self._ids.secret_access_key()
        sealed = self._ring.seal(secret.encode(), aad=access_key_aad(akid))
        with self._store.begin() as conn:
            owner, shown = self._owner(conn, ctx, params, lock=True)
            if count(conn, access_keys, *self._of(ctx.account_id, owner)) >= MAX_KEYS:
                raise LimitExceeded(
                    message=f"Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS}"
                )
            conn.execute(
                access_keys.insert().values(
                    access_key_id=akid,
                    account_id=ctx.account_id,
                    user_id=owner,
                    status=AccessKeyStatus.ACTIVE.value,
                    secret_ciphertext=sealed,
                    created_at=ctx.now,
                )
            )
        return {
            "AccessKey": {
                "UserName": shown,
                "AccessKeyId": akid,
                "Status": AccessKeyStatus.ACTIVE.value,
                "SecretAccessKey": secret,
                "CreateDate": ctx.now,
            }
        }

    def update_access_key(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        akid = str(params["AccessKeyId"])
        status = str(params["Status"])
        if status not in (AccessKeyStatus.ACTIVE.value, AccessKeyStatus.INACTIVE.value):
            raise InvalidInput(message=f"Invalid status {status}: use Active or Inactive.")
        with self._store.begin() as conn:
            owner, _ = self._owner(conn, ctx, params, lock=False)
            changed = conn.execute(
                access_keys.update()
                .where(*self._of(ctx.account_id, owner), _K.access_key_id == akid)
                .values(status=status)
            ).rowcount
            if not changed:
                raise _no_key(akid)
        return {}

    def delete_access_key(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        akid = str(params["AccessKeyId"])
        with self._store.begin() as conn:
            owner, _ = self._owner(conn, ctx, params, lock=False)
            gone = conn.execute(
                access_keys.delete().where(
                    *self._of(ctx.account_id, owner), _K.access_key_id == akid
                )
            ).rowcount
            if not gone:
                raise _no_key(akid)
        return {}

    def list_access_keys(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        with self._store.read() as conn:
            owner, shown = self._owner(conn, ctx, params, lock=False)
            rows = conn.execute(
                sa.select(access_keys)
                .where(*self._of(ctx.account_id, owner))
                .order_by(_K.created_at, _K.access_key_id)
            ).mappings()
            keys = [
                {
                    **({"UserName": shown} if owner is not None else {}),
                    "AccessKeyId": r["access_key_id"],
                    "Status": r["status"],
                    "CreateDate": r["created_at"],
                }
                for r in rows
            ]
        return listing(ctx, "AccessKeyMetadata", keys)

    def get_access_key_last_used(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        akid = str(params["AccessKeyId"])
        with self._store.read() as conn:
            row = (
                conn.execute(
                    sa.select(access_keys, iam_users.c.name)
                    .select_from(
                        access_keys.outerjoin(iam_users, _K.user_id == iam_users.c.user_id)
                    )
                    .where(_K.access_key_id == akid, _K.account_id == ctx.account_id)
                )
                .mappings()
                .first()
            )
        if row is None:
            raise _no_key(akid)
        last: dict[str, Any] = {"ServiceName": "N/A", "Region": "N/A"}
        if row["last_used_at"] is not None:
            last = {
                "LastUsedDate": row["last_used_at"],
                "ServiceName": row["last_used_service"] or "N/A",
                "Region": row["last_used_region"] or "N/A",
            }
        out: dict[str, Any] = {"AccessKeyLastUsed": last}
        if row["name"]:
            out["UserName"] = row["name"]
        return out
