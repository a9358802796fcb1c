"""STS: who am I (GetCallerIdentity) and temporary credentials (GetSessionToken).

Temporary credentials are an ``ASIA`` key, a 40-character secret sealed by the key
ring, and a session token of which only the SHA-256 digest is stored. They carry
the caller's identity and expire after ``DurationSeconds``; the caller's own
permissions apply to them, as in AWS.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from warden.core.clock import Clock
from warden.core.ids import IdFactory
from warden.core.principal import PrincipalType
from warden.services.context import AuthzEntry, CallContext, ServiceHandlers
from warden.store.db import Store
from warden.store.keyring import KeyRing
from warden.store.schema import sts_credentials

from .errors import AccessDenied, ValidationError

_USER_MAX = 129_600
_ROOT_MAX = 3_600


def _aad(access_key_id: str) -> bytes:
    # Same binding as IAM's long-term keys: the ciphertext only opens for this key id.
    return b"warden:access-key:" + access_key_id.encode()


def _token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _bound_message(value: int, relation: str, bound: int) -> str:
    return (
        f"1 validation error detected: Value '{value}' at 'durationSeconds' failed to satisfy "
        f"constraint: Member must have value {relation} {bound}"
    )


class Sts:
    def __init__(self, store: Store, ring: KeyRing, clock: Clock, ids: IdFactory) -> None:
        self._store = store
        self._ring = ring
        self._clock = clock
        self._ids = ids

    def get_caller_identity(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        p = ctx.principal
        return {"UserId": p.user_id, "Account": p.account_id, "Arn": p.arn}

    def get_session_token(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        p = ctx.principal
        if p.temporary:
            raise AccessDenied(message="Cannot call GetSessionToken with session credentials")
        if p.type not in (PrincipalType.IAM_USER, PrincipalType.ROOT):
            raise AccessDenied(message="Only IAM users and the root user can call GetSessionToken")
        is_root = p.type is PrincipalType.ROOT
        seconds = params.get("DurationSeconds", _ROOT_MAX if is_root else 43_200)
        if not isinstance(seconds, int):
            raise ValidationError(message="DurationSeconds must be an integer")
        if seconds < 900:
            raise ValidationError(message=_bound_message(seconds, "greater than or equal to", 900))
        if seconds > _USER_MAX:
            raise ValidationError(
                message=_bound_message(seconds, "less than or equal to", _USER_MAX)
            )
        if is_root:
            # AWS: the root user's sessions are capped at one hour, silently.
            seconds = min(seconds, _ROOT_MAX)
        if "SerialNumber" in params or "TokenCode" in params:
            # No MFA device can be registered yet, so no code can be valid.
            raise AccessDenied(
                message="MultiFactorAuthentication failed with invalid MFA one time pass code."
            )
        akid = self._ids.access_key_id("ASIA")
        secret = self._ids.secret_access_key()
        token = base64.b64encode(self._ids.token_bytes(96)).decode()
        expires = ctx.now + timedelta(seconds=seconds)
        with self._store.begin() as conn:
            conn.execute(
                sts_credentials.insert().values(
                    access_key_id=akid,
                    account_id=p.account_id,
                    secret_ciphertext=self._ring.seal(secret.encode(), aad=_aad(akid)),
                    token_digest=_token_digest(token),
                    principal_arn=p.arn,
                    principal_type=p.type.value,
                    source_user_id=p.user_id,
                    mfa_authenticated=False,
                    tags=[],
                    issued_at=ctx.now,
                    expires_at=expires,
                )
            )
        return {
            "Credentials": {
                "AccessKeyId": akid,
                "SecretAccessKey": secret,
                "SessionToken": token,
                "Expiration": expires,
            }
        }


def build(store: Store, ring: KeyRing, clock: Clock, ids: IdFactory) -> ServiceHandlers:
    sts = Sts(store, ring, clock, ids)
    return ServiceHandlers(
        name="sts",
        handlers={
            "GetCallerIdentity": sts.get_caller_identity,
            "GetSessionToken": sts.get_session_token,
        },
        authz={
            "GetCallerIdentity": AuthzEntry(
                "sts:GetCallerIdentity", read_only=True, always_allowed=True
            ),
            "GetSessionToken": AuthzEntry("sts:GetSessionToken", read_only=True),
        },
    )
