"""Test doubles the RDS unit tests share: the data dir's CA, KMS without keys, KMS that
allows every key use, a pager that returns everything; and the fixed time they start at."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from warden.core.redacted import Redacted
from warden.engines.base import TlsMaterial
from warden.engines.postgres import certs
from warden.policy import Decision, Effect
from warden.services.context import CallContext
from warden.services.ports import DataKey, KeyUnavailable

ACCOUNT, REGION = "123456789012", "us-east-1"
T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


class LocalCa:
    """TEST DOUBLE for the data dir's CA: a real CA made for the test."""

    def __init__(self) -> None:
        self.cert, self.key = certs.make_ca("test CA", T0)

    def ca_pem(self) -> bytes:
        return self.cert

    def issue(self, common_name: str, names: Sequence[str], now: datetime) -> TlsMaterial:
        return certs.issue(self.cert, self.key, common_name, names, now)


class NoKeys:
    """TEST DOUBLE for ``DataKeys``: no key is usable (these tests encrypt nothing)."""

    def resolve_key(self, **_: Any) -> str:
        raise KeyUnavailable("no keys here")

    def generate_data_key(self, **_: Any) -> DataKey:
        raise KeyUnavailable("no keys here")

    def decrypt_data_key(self, **_: Any) -> tuple[Redacted[bytes], str]:
        raise KeyUnavailable("no keys here")


def allow_keys(ctx: CallContext, action: str, resource: str, **_: Any) -> Decision:
    """TEST DOUBLE for KMS's ``KeyAccess`` (the server's authorizer): every key use allowed."""
    return Decision(Effect.ALLOWED)


def whole_page(
    items: Sequence[Any], *, default_page: int = 100
) -> tuple[list[Any], dict[str, Any]]:
    return list(items), {}
