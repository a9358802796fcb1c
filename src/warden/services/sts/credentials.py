"""Minting temporary credentials: one ``sts_credentials`` row per session.

A session is an ``ASIA`` key, a 40-character secret sealed by the key ring (associated
data bound to the key id, the same binding as IAM's long-term keys, so the identity
resolver opens both alike) and a session token of which only the SHA-256 digest is
stored. The plaintext secret and token exist only in the answer to the caller.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from warden.core.ids import IdFactory
from warden.store.credentials import access_key_aad, token_digest
from warden.store.keyring import KeyRing
from warden.store.schema import sts_credentials

TOKEN_BYTES = 96


@dataclass(frozen=True, slots=True)
class Session:
    """What a new session is: who it acts as and what limits it."""

    account_id: str
    principal_arn: str  # the caller's ARN for GetSessionToken; the assumed-role ARN for roles
    principal_type: str  # PrincipalType value
    source_user_id: str  # who asked for it (the caller's unique id)
    issued_at: datetime
    duration_seconds: int
    role_id: str | None = None
    session_name: str | None = None
    mfa_auth_time: datetime | None = None  # set when the caller proved MFA (now or earlier)
    session_policy: str | None = None  # JSON list of session policy documents
    tags: Sequence[Mapping[str, Any]] = field(default_factory=tuple)

    @property
    def expires_at(self) -> datetime:
        return self.issued_at + timedelta(seconds=self.duration_seconds)


def issue(conn: sa.Connection, ring: KeyRing, ids: IdFactory, session: Session) -> dict[str, Any]:
    """Store ``session`` and answer its ``Credentials`` member (the only plaintext copy)."""
    akid = ids.access_key_id("ASIA")
    secret = ids.secret_access_key()
    token = base64.b64encode(ids.token_bytes(TOKEN_BYTES)).decode()
    conn.execute(
        sts_credentials.insert().values(
            access_key_id=akid,
            account_id=session.account_id,
            secret_ciphertext=ring.seal(secret.encode(), aad=access_key_aad(akid)),
            token_digest=token_digest(token),
            principal_arn=session.principal_arn,
            principal_type=session.principal_type,
            source_user_id=session.source_user_id,
            role_id=session.role_id,
            session_name=session.session_name,
            mfa_authenticated=session.mfa_auth_time is not None,
            mfa_auth_time=session.mfa_auth_time,
            session_policy=session.session_policy,
            tags=[dict(t) for t in session.tags],
            issued_at=session.issued_at,
            expires_at=session.expires_at,
        )
    )
    return {
        "AccessKeyId": akid,
        "SecretAccessKey": secret,
        "SessionToken": token,
        "Expiration": session.expires_at,
    }
