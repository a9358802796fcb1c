"""Small Protocols for what one part needs from another, wired in ``server/app.py``.

Services never import each other or the server; when one needs something that
lives elsewhere it names the need here and receives an implementation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from warden.core.redacted import Redacted


class AuditFlush(Protocol):
    def flush(self) -> None:
        """Block until every audit record accepted so far is committed to the store."""
        ...


@dataclass(frozen=True, slots=True)
class DataKey:
    """A fresh AES-256 data key: use ``plaintext`` once, store only ``ciphertext_blob``."""

    plaintext: Redacted[bytes]
    ciphertext_blob: bytes
    key_arn: str


class KeyUnavailable(Exception):
    """The KMS key cannot be used: missing, disabled or pending deletion (``reason`` says)."""

    def __init__(self, reason: str, *, code: str = "KMSInvalidStateException") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code  # the KMS error code AWS services surface for it


class DataKeys(Protocol):
    """Envelope encryption on behalf of another service, backed by KMS (wired in app.py).

    ``key_id`` is a key id, key ARN, alias name or alias ARN; None means the account's
    AWS-managed key for the calling service (``alias/aws/secretsmanager``), created on
    first use. The encryption context is bound into the ciphertext: decrypting with a
    different context fails.
    """

    def generate_data_key(
        self,
        *,
        account_id: str,
        region: str,
        key_id: str | None,
        managed_alias: str,
        encryption_context: Mapping[str, str],
    ) -> DataKey: ...

    def decrypt_data_key(
        self,
        *,
        account_id: str,
        region: str,
        ciphertext_blob: bytes,
        encryption_context: Mapping[str, str],
    ) -> tuple[Redacted[bytes], str]:
        """The data key and the ARN of the KMS key that sealed it; KeyUnavailable if not."""
        ...

    def resolve_key(
        self, *, account_id: str, region: str, key_id: str | None, managed_alias: str
    ) -> str:
        """The ARN of a usable key (creating the AWS-managed one if needed); KeyUnavailable."""
        ...
