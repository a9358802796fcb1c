"""Who holds an access key: resolving credentials to a principal for SigV4.

Secrets are stored sealed by the key ring (associated data binds each ciphertext
to its access key id); they are unsealed only here, kept in a short-lived
in-memory cache so a signature check does not cost a store read and an AES
decryption, and never logged. A key made Inactive or deleted stops working within
``CACHE_SECONDS``. Temporary (``ASIA``) keys carry a session token whose SHA-256
digest is compared in constant time.
"""

from __future__ import annotations

import hmac
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from warden.core.arn import root_arn
from warden.core.clock import Clock
from warden.core.principal import Principal, PrincipalType
from warden.core.redacted import Redacted
from warden.store.credentials import access_key_aad, token_digest
from warden.store.db import Store
from warden.store.keyring import KeyRing, UnsealError
from warden.store.schema import access_keys, iam_roles, iam_users, sts_credentials

CACHE_SECONDS = 2.0
log = logging.getLogger("warden.iam")


def _name_from_arn(arn: str, ptype: PrincipalType) -> str:
    if ptype is PrincipalType.IAM_USER:
        return arn.rsplit("/", 1)[-1]
    return ""


def _session_tags(raw: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(
        (str(t["Key"]), str(t.get("Value", ""))) for t in raw if isinstance(t, dict) and "Key" in t
    )


class CredentialProblem(Exception):
    """The key exists but cannot be used: ``kind`` is expired_token or invalid_token."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True, slots=True)
class ResolvedKey:
    principal: Principal
    secret: Redacted[str]
    token_digest: bytes | None
    expires_at: datetime | None
    fetched_at: float


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class Identities:
    def __init__(self, store: Store, ring: KeyRing, clock: Clock) -> None:
        self._store = store
        self._ring = ring
        self._clock = clock
        self._cache: dict[str, ResolvedKey] = {}
        self._lock = threading.Lock()
        self._generation = 0

    def resolve(self, access_key_id: str, session_token: str | None) -> ResolvedKey | None:
        """The key's principal and secret, or None if no such active key exists.

        Raises CredentialProblem for a temporary key whose token is missing, wrong or expired.
        """
        key = self._cached(access_key_id) or self._load(access_key_id)
        if key is None:
            return None
        if key.token_digest is not None:
            if session_token is None or not hmac.compare_digest(
                token_digest(session_token), key.token_digest
            ):
                raise CredentialProblem(
                    "invalid_token", "The security token included in the request is invalid."
                )
            if key.expires_at is not None and key.expires_at <= self._clock.now():
                raise CredentialProblem(
                    "expired_token", "The security token included in the request is expired"
                )
        elif session_token is not None:
            raise CredentialProblem(
                "invalid_token", "The security token included in the request is invalid."
            )
        return key

    def clear(self) -> None:
        """An IAM write happened: resolve every key afresh (a deactivated key stops at once)."""
        with self._lock:
            self._cache.clear()
            # A load that read the store before this write must not cache what it read.
            self._generation += 1

    def forget(self, access_key_id: str) -> None:
        with self._lock:
            self._cache.pop(access_key_id, None)

    def _cached(self, access_key_id: str) -> ResolvedKey | None:
        with self._lock:
            hit = self._cache.get(access_key_id)
        if hit is not None and self._clock.monotonic() - hit.fetched_at < CACHE_SECONDS:
            return hit
        return None

    def _load(self, access_key_id: str) -> ResolvedKey | None:
        with self._lock:
            generation = self._generation
        try:
            if access_key_id.startswith("ASIA"):
                key = self._load_temporary(access_key_id)
            else:
                key = self._load_long_term(access_key_id)
        except UnsealError:
            # A stored secret that does not decrypt is not a usable key (fail closed, no 500).
            log.error("the stored secret of access key %s does not decrypt", access_key_id)
            return None
        if key is not None:
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                if generation == self._generation:
                    self._cache[access_key_id] = key
        return key

    def _load_long_term(self, akid: str) -> ResolvedKey | None:
        query = (
            sa.select(access_keys, iam_users.c.name, iam_users.c.arn)
            .select_from(
                access_keys.outerjoin(iam_users, access_keys.c.user_id == iam_users.c.user_id)
            )
            .where(access_keys.c.access_key_id == akid, access_keys.c.status == "Active")
        )
        with self._store.read(fresh=True) as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        secret = self._ring.unseal(row["secret_ciphertext"], aad=access_key_aad(akid)).decode()
        account = row["account_id"]
        if row["user_id"] is None:
            principal = Principal(
                arn=root_arn(account),
                type=PrincipalType.ROOT,
                account_id=account,
                user_id=account,
                access_key_id=akid,
                name="",
            )
        else:
            principal = Principal(
                arn=row["arn"],
                type=PrincipalType.IAM_USER,
                account_id=account,
                user_id=row["user_id"],
                access_key_id=akid,
                name=row["name"],
            )
        return ResolvedKey(principal, Redacted(secret), None, None, self._clock.monotonic())

    def _load_temporary(self, akid: str) -> ResolvedKey | None:
        query = (
            sa.select(
                sts_credentials,
                iam_roles.c.arn.label("role_arn"),
                iam_users.c.user_id.label("live_user_id"),
            )
            .select_from(
                sts_credentials.outerjoin(
                    iam_roles, iam_roles.c.role_id == sts_credentials.c.role_id
                ).outerjoin(iam_users, iam_users.c.user_id == sts_credentials.c.source_user_id)
            )
            .where(sts_credentials.c.access_key_id == akid)
        )
        with self._store.read(fresh=True) as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        if row["role_id"] and row["role_arn"] is None:
            return None  # the role was deleted: its sessions stop working
        if row["principal_type"] == PrincipalType.IAM_USER.value and row["live_user_id"] is None:
            return None  # so was the user whose GetSessionToken made this session
        secret = self._ring.unseal(row["secret_ciphertext"], aad=access_key_aad(akid)).decode()
        ptype = PrincipalType(row["principal_type"])
        if row["role_id"]:
            user_id = f"{row['role_id']}:{row['session_name']}"
        else:
            user_id = row["source_user_id"] or row["account_id"]
        principal = Principal(
            arn=row["principal_arn"],
            type=ptype,
            account_id=row["account_id"],
            user_id=user_id,
            access_key_id=akid,
            name=row["session_name"] or _name_from_arn(row["principal_arn"], ptype),
            temporary=True,
            mfa_authenticated=bool(row["mfa_authenticated"]),
            mfa_auth_time=_utc(row["mfa_auth_time"]),
            principal_arn=row["role_arn"] or "",
            role_id=row["role_id"] or "",
            session_policy=row["session_policy"],
            session_tags=_session_tags(row["tags"]),
        )
        return ResolvedKey(
            principal,
            Redacted(secret),
            bytes(row["token_digest"]),
            _utc(row["expires_at"]),
            self._clock.monotonic(),
        )
