"""The account password policy (Update/Get/DeleteAccountPasswordPolicy) and the check
of a new console password against it.

Invariants: an account has at most one policy row; without one, AWS's default policy
applies to new passwords (at least 8 characters, with at least three of upper case,
lower case, digits and symbols). Passwords are never echoed in an error message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from warden.services.context import CallContext
from warden.store.db import Store
from warden.store.schema import iam_password_policies

from . import inputs
from .errors import NoSuchEntity, PasswordPolicyViolation

SYMBOLS = frozenset("!@#$%^&*()_+-=[]{}|'")
_FLAGS = (
    "RequireSymbols",
    "RequireNumbers",
    "RequireUppercaseCharacters",
    "RequireLowercaseCharacters",
    "AllowUsersToChangePassword",
    "HardExpiry",
)
# (member, lowest, highest, value when the request omits it), as UpdateAccountPasswordPolicy
_NUMBERS = (
    ("MinimumPasswordLength", 6, 128, 6),
    ("MaxPasswordAge", 1, 1095, 0),
    ("PasswordReusePrevention", 1, 24, 0),
)
_DEFAULT_MIN = 8


def _number(params: Mapping[str, Any], member: str, low: int, high: int, absent: int) -> int:
    value = inputs.bounded_int(params, member, low, high)
    return absent if value is None else value


def load(conn: sa.Connection, account: str) -> Mapping[str, Any] | None:
    found = conn.execute(
        sa.select(iam_password_policies.c.policy).where(
            iam_password_policies.c.account_id == account
        )
    ).scalar()
    return dict(found) if isinstance(found, Mapping) else None


def check_password(password: str, policy: Mapping[str, Any] | None) -> None:
    """Raise ``PasswordPolicyViolation`` unless ``password`` satisfies ``policy``."""
    classes = {
        "RequireUppercaseCharacters": (any(c.isupper() for c in password), "uppercase letter"),
        "RequireLowercaseCharacters": (any(c.islower() for c in password), "lowercase letter"),
        "RequireNumbers": (any(c.isdigit() for c in password), "number"),
        "RequireSymbols": (any(c in SYMBOLS for c in password), "symbol"),
    }
    if policy is None:
        if len(password) < _DEFAULT_MIN or sum(ok for ok, _ in classes.values()) < 3:
            raise PasswordPolicyViolation(
                message="Password does not conform to the account password policy."
            )
        return
    minimum = int(policy.get("MinimumPasswordLength", 6))
    if len(password) < minimum:
        raise PasswordPolicyViolation(message=f"Password should have a minimum length of {minimum}")
    for flag, (ok, what) in classes.items():
        if policy.get(flag) and not ok:
            raise PasswordPolicyViolation(message=f"Password should have at least one {what}")


class PasswordPolicies:
    def __init__(self, store: Store) -> None:
        self._store = store

    def update_account_password_policy(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        policy: dict[str, Any] = {flag: bool(params.get(flag, False)) for flag in _FLAGS}
        for member, low, high, absent in _NUMBERS:
            policy[member] = _number(params, member, low, high, absent)
        table = iam_password_policies
        with self._store.begin() as conn:
            updated = conn.execute(
                table.update().where(table.c.account_id == ctx.account_id).values(policy=policy)
            ).rowcount
            if not updated:
                conn.execute(table.insert().values(account_id=ctx.account_id, policy=policy))
        return {}

    def get_account_password_policy(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        with self._store.read() as conn:
            policy = load(conn, ctx.account_id)
        if policy is None:
            raise NoSuchEntity(
                message=f"The Password Policy with domain name {ctx.account_id} cannot be found."
            )
        max_age = int(policy.get("MaxPasswordAge", 0))
        out: dict[str, Any] = {
            "MinimumPasswordLength": int(policy.get("MinimumPasswordLength", 6)),
            **{flag: bool(policy.get(flag, False)) for flag in _FLAGS if flag != "HardExpiry"},
            "ExpirePasswords": max_age > 0,
        }
        if max_age:
            out["MaxPasswordAge"] = max_age
            out["HardExpiry"] = bool(policy.get("HardExpiry", False))
        if policy.get("PasswordReusePrevention"):
            out["PasswordReusePrevention"] = int(policy["PasswordReusePrevention"])
        return {"PasswordPolicy": out}

    def delete_account_password_policy(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        table = iam_password_policies
        with self._store.begin() as conn:
            gone = conn.execute(table.delete().where(table.c.account_id == ctx.account_id)).rowcount
        if not gone:
            raise NoSuchEntity(
                message="The account policy with name PasswordPolicy cannot be found."
            )
        return {}
