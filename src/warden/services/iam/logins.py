"""Login profiles: an IAM user's console password (Create/Get/Update/DeleteLoginProfile).

Invariants: the password is checked against the account password policy before it is
hashed, is stored only as an scrypt hash (``passwords.hash_password``), and never
appears in an answer, an error or a log. A user has at most one login profile.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from warden.services.context import CallContext
from warden.store.db import Store
from warden.store.schema import iam_login_profiles

from . import inputs
from .entities import Kind, caller_user, find
from .errors import EntityAlreadyExists, NoSuchEntity, ValidationError
from .password_policy import check_password, load
from .passwords import hash_password

_PASSWORD = re.compile(r"[\u0009\u000A\u000D\u0020-\u00FF]+")
_L = iam_login_profiles.c


def _missing(name: str) -> NoSuchEntity:
    return NoSuchEntity(message=f"Login Profile for User {name} cannot be found.")


def _profile_out(name: str, row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "UserName": name,
        "CreateDate": row["created_at"],
        "PasswordResetRequired": bool(row["password_reset_required"]),
    }


class LoginProfiles:
    def __init__(self, store: Store) -> None:
        self._store = store

    def _password_hash(self, ctx: CallContext, params: Mapping[str, Any]) -> str | None:
        password = inputs.text(params, "Password", max_len=128, pattern=_PASSWORD, echo=False)
        if password is None:
            return None
        with self._store.read() as conn:
            check_password(password, load(conn, ctx.account_id))
        # Hashing is slow on purpose: done before, not inside, the writing transaction.
        return hash_password(password)

    @staticmethod
    def _user_name(ctx: CallContext, params: Mapping[str, Any]) -> str:
        name = caller_user(ctx, params)
        if name is None:
            raise ValidationError(message="The root user's password is not a login profile.")
        return inputs.name({"UserName": name}, "UserName", 64)

    def create_login_profile(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        name = self._user_name(ctx, params)
        digest = self._password_hash(ctx, params)
        if digest is None:
            raise ValidationError(message="The request must contain the parameter Password")
        reset = bool(params.get("PasswordResetRequired", False))
        exists = EntityAlreadyExists(message=f"Login Profile for user {name} already exists.")
        with self._store.begin() as conn:
            user = find(conn, Kind.USER, ctx.account_id, name, lock=True)
            if conn.execute(sa.select(_L.user_id).where(_L.user_id == user["user_id"])).first():
                raise exists
            row = {
                "user_id": user["user_id"],
                "password_hash": digest,
                "password_reset_required": reset,
                "created_at": ctx.now,
                "password_last_changed": ctx.now,
            }
            conn.execute(iam_login_profiles.insert().values(**row))
        return {"LoginProfile": _profile_out(user["name"], row)}

    def get_login_profile(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        name = self._user_name(ctx, params)
        with self._store.read() as conn:
            user = find(conn, Kind.USER, ctx.account_id, name)
            row = (
                conn.execute(sa.select(iam_login_profiles).where(_L.user_id == user["user_id"]))
                .mappings()
                .first()
            )
        if row is None:
            raise _missing(user["name"])
        return {"LoginProfile": _profile_out(user["name"], row)}

    def update_login_profile(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        name = inputs.name(params, "UserName", 64)
        digest = self._password_hash(ctx, params)
        changes: dict[str, Any] = {}
        if digest is not None:
            changes.update(password_hash=digest, password_last_changed=ctx.now)
        if params.get("PasswordResetRequired") is not None:
            changes["password_reset_required"] = bool(params["PasswordResetRequired"])
        with self._store.begin() as conn:
            user = find(conn, Kind.USER, ctx.account_id, name, lock=True)
            query = iam_login_profiles.update().where(_L.user_id == user["user_id"])
            # An empty change still has to find the profile: set a column to itself.
            found = conn.execute(
                query.values(**changes) if changes else query.values(user_id=_L.user_id)
            ).rowcount
            if not found:
                raise _missing(user["name"])
        return {}

    def delete_login_profile(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        name = self._user_name(ctx, params)
        with self._store.begin() as conn:
            user = find(conn, Kind.USER, ctx.account_id, name, lock=True)
            gone = conn.execute(
                iam_login_profiles.delete().where(_L.user_id == user["user_id"])
            ).rowcount
            if not gone:
                raise _missing(user["name"])
        return {}
