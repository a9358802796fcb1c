"""Small Protocols for what one part needs from another, wired in ``server/app.py``.

Services never import each other or the server; when one needs something that
lives elsewhere it names the need here and receives an implementation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
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


class KeyAccessDenied(KeyUnavailable):
    """The caller may not use the KMS key through the service (its key policy or IAM)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, code="AccessDeniedException")


class DataKeys(Protocol):
    """Envelope encryption on behalf of another service, backed by KMS (wired in app.py).

    With ``caller``, the call is made for that API call's principal, as AWS services do:
    KMS authorizes ``kms:GenerateDataKey`` / ``kms:Decrypt`` for it with ``kms:ViaService``
    naming the calling service (so a key policy that admits the account through the
    service, as the AWS-managed keys' do, suffices) and raises ``KeyAccessDenied`` when the
    key policy and IAM do not allow it. Without ``caller``, the service acts for itself
    (rotation, reconciling), after having authorized whoever asked for it.

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
        caller: CallContext | None = None,
    ) -> DataKey: ...

    def decrypt_data_key(
        self,
        *,
        account_id: str,
        region: str,
        ciphertext_blob: bytes,
        encryption_context: Mapping[str, str],
        caller: CallContext | None = None,
    ) -> tuple[Redacted[bytes], str]:
        """The data key and the ARN of the KMS key that sealed it; KeyUnavailable if not."""
        ...

    def resolve_key(
        self,
        *,
        account_id: str,
        region: str,
        key_id: str | None,
        managed_alias: str,
        caller: CallContext | None = None,
        uses: tuple[str, ...] = ("kms:CreateGrant",),
        via: str | None = None,
    ) -> str:
        """The ARN of a usable key (creating the AWS-managed one if needed); KeyUnavailable.
        With ``caller``: a key about to be used for that principal's resource: KMS
        authorizes each of ``uses`` for it, through ``via`` (a service name; the calling
        service's by default). An encrypted cluster's key is ``kms:CreateGrant`` through
        rds, as AWS services ask; the key of a secret RDS creates in Secrets Manager for
        the caller is ``kms:GenerateDataKey`` and ``kms:Decrypt`` through secretsmanager."""
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


# -- secrets another service owns (RDS-managed master passwords) ---------------------------


@dataclass(frozen=True, slots=True)
class ServiceSecret:
    """A secret a service asks Secrets Manager to create and own (``OwningService``).

    ``name`` identifies it: asking again for a name the same service owns returns that
    secret unchanged, so a request repeated after a crash never makes a second one.
    """

    account_id: str
    region: str
    name: str
    owning_service: str
    value: Redacted[str]  # the first version's SecretString
    kms_key_id: str | None  # None: the account's aws/secretsmanager key
    description: str
    tags: tuple[tuple[str, str], ...]
    rotation_days: int  # managed rotation every N days


class ServiceSecretState(StrEnum):
    ACTIVE = "active"
    ROTATING = "rotating"  # a rotation is in progress
    IMPAIRED = "impaired"  # usable, but its last rotation failed for good
    ABSENT = "absent"  # no such live secret


class ServiceSecretError(Exception):
    """Secrets Manager could not do what the owning service asked; ``reason`` says why
    (safe to show: never a secret value)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RotationInProgress(ServiceSecretError):
    """A rotation of the secret has started and not finished yet."""


class ServiceSecrets(Protocol):
    """Secrets Manager, as a service that owns secrets there needs it (wired in app.py).

    Only the owning service changes or deletes its secrets; users may read them and
    change their rotation schedule. Every method is idempotent.
    """

    def ensure(self, secret: ServiceSecret) -> str:
        """The ARN of the live secret ``secret.name`` owned by ``secret.owning_service``,
        created (value, tags, rotation schedule) if there is none. ``ServiceSecretError``
        when the name belongs to someone else or KMS refuses the key."""
        ...

    def rotate(self, account_id: str, region: str, arn: str) -> None:
        """Start a rotation now (the owning service sets the new credentials through its
        ``ManagedRotation``); ``RotationInProgress`` while one runs."""
        ...

    def state(self, account_id: str, region: str, arn: str) -> ServiceSecretState: ...

    def delete(self, account_id: str, region: str, arn: str) -> None:
        """Delete the secret without a recovery window (nothing to do when it is gone)."""
        ...

    def owned(self, owning_service: str) -> tuple[tuple[str, str, str, str], ...]:
        """(account id, region, name, ARN) of every live secret the service owns."""
        ...


class ManagedRotation(Protocol):
    """A service that owns secrets (``OwningService``) and applies their new credentials
    itself when Secrets Manager rotates them (RDS sets a cluster's master password)."""

    def set_secret(self, *, secret_arn: str, username: str, password: Redacted[str]) -> None:
        """Make ``password`` the user's password; raise ``EngineError`` when that fails."""
        ...

    def test_secret(self, *, secret_arn: str, username: str, password: Redacted[str]) -> None:
        """Check the credentials are the user's; raise ``EngineError`` when they are not."""
        ...
