"""Shared set-up for the KMS unit tests: a real store and key ring, a fixed clock, an id
factory that remembers every random byte string it handed out, and call contexts."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from warden.core.clock import FixedClock
from warden.core.ids import RandomIds
from warden.core.principal import Principal, PrincipalType
from warden.services.context import CallContext
from warden.services.kms.handlers import Kms
from warden.store.db import Store
from warden.store.keyring import KeyRing
from warden.store.schema import accounts

ACCOUNT = "123456789012"
REGION = "us-east-1"
T0 = datetime(2030, 1, 1, tzinfo=UTC)
ADMIN = Principal(
    arn=f"arn:aws:iam::{ACCOUNT}:user/admin",
    type=PrincipalType.IAM_USER,
    account_id=ACCOUNT,
    user_id="AIDAADMINADMINADMIN00",
    access_key_id="AKIAADMINADMINADMIN0",
    name="admin",
)


class RecordingIds(RandomIds):
    """Random ids that remember every token (key material and data keys among them)."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: list[bytes] = []

    def token_bytes(self, n: int) -> bytes:
        out = super().token_bytes(n)
        self.tokens.append(out)
        return out


@dataclass
class Env:
    data_dir: Path
    store: Store
    ring: KeyRing
    clock: FixedClock
    ids: RecordingIds
    kms: Kms

    def ctx(self, principal: Principal = ADMIN, operation: str = "") -> CallContext:
        return CallContext(
            request_id=str(uuid.uuid4()),
            account_id=ACCOUNT,
            region=REGION,
            service="kms",
            operation=operation,
            principal=principal,
            source_ip="127.0.0.1",
            user_agent="tests",
            secure=True,
            now=self.clock.now(),
            page=_whole_page,
        )

    def call(self, operation: str, **params: Any) -> Mapping[str, Any]:
        return self.kms.service.handlers[operation](self.ctx(operation=operation), params)


def _whole_page(
    items: Sequence[Any], *, default_page: int = 100
) -> tuple[list[Any], dict[str, Any]]:
    return list(items), {"Truncated": False}


def make_env(data_dir: Path, store_url: str | None = None) -> Env:
    store = Store.open(store_url) if store_url else Store.sqlite_in(data_dir)
    ring = KeyRing.create(data_dir)
    with store.begin() as conn:
        conn.execute(
            sa.insert(accounts).values(
                account_id=ACCOUNT, created_at=T0, root_password_hash="x", root_user_id=ACCOUNT
            )
        )
    clock = FixedClock(T0)
    ids = RecordingIds()
    return Env(data_dir, store, ring, clock, ids, Kms(store, ring, clock, ids))
