"""Small Protocols for what one part needs from another, wired in ``server/app.py``.

Services never import each other or the server; when one needs something that
lives elsewhere it names the need here and receives an implementation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from warden.core.principal import Principal
from warden.core.redacted import Redacted
from warden.policy import ContextValue
from warden.services.context import CallContext


class AuditFlush(Protocol):
    def flush(self) -> None:
        """Block until every audit record accepted so far is committed to the store."""
        ...


class MfaCodes(Protocol):
    """IAM's MFA devices, as STS needs them (GetSessionToken / AssumeRole with TokenCode)."""

    def verify(self, principal: Principal, serial_number: str, code: str, now: datetime) -> bool:
        """Whether ``code`` is a valid, unused one-time code of the MFA device
        ``serial_number`` enabled for ``principal``. A code that verifies is consumed:
        it is never accepted again."""
        ...


class CallerKeys(Protocol):
    """The global condition keys of a call, as the authorizer sets them, for policies a
    service evaluates itself (STS evaluates a role's trust policy)."""

    def keys(self, ctx: CallContext) -> Mapping[str, ContextValue]:
        """``aws:PrincipalArn``, ``aws:userid``, ``aws:PrincipalTag/*``, ``aws:SourceIp``, …"""
        ...


class ManagedDocuments(Protocol):
    """IAM's managed policies, for session policies passed by ARN (AssumeRole PolicyArns)."""

    def document(self, account_id: str, arn: str) -> str | None:
        """The default version's document of the AWS managed policy ``arn`` or of the
        account's customer managed policy ``arn``; None when there is no such policy."""
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


class SecurityGroups(Protocol):
    """EC2's security groups, as RDS needs them (clusters name them in VpcSecurityGroupIds;
    their ingress rules become each DB instance's pg_hba.conf)."""

    def default_group(self, account_id: str, region: str) -> str:
        """The id of the region's default group, created on first use (it admits only
        127.0.0.1/32)."""
        ...

    def unknown(self, account_id: str, region: str, group_ids: Sequence[str]) -> tuple[str, ...]:
        """Those of ``group_ids`` that name no security group of the account and region."""
        ...

    def ingress_cidrs(
        self, account_id: str, region: str, group_ids: Sequence[str], port: int
    ) -> tuple[str, ...]:
        """The CIDRs the groups admit to TCP ``port``: the union of their ingress rules."""
        ...


class SecurityGroupUsers(Protocol):
    """Who uses a security group (RDS), so that EC2 refuses to delete one in use."""

    def users_of(self, account_id: str, region: str, group_id: str) -> tuple[str, ...]:
        """The ARNs of the resources that use the group (empty when none does)."""
        ...
