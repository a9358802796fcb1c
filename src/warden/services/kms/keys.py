"""Finding, creating and checking KMS keys: what handlers and DataKeys share.

Invariants:
- A key's first material version exists (``KeyStore.create``) before its row is written,
  so every visible key can encrypt.
- AWS-managed keys (``alias/aws/secretsmanager``, ``alias/aws/rds``) are created on first
  use, once per account and region even when several threads or nodes race: the alias row
  is the arbiter, and a loser discards its key and uses the winner's.
- Only ``Enabled`` keys are used for cryptography; ``require_enabled`` raises AWS's error
  for the others (DisabledException, KMSInvalidStateException).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from warden.core.clock import Clock
from warden.core.ids import IdFactory
from warden.store.db import Store
from warden.store.schema import KmsKeyManager, KmsKeyState

from . import repository
from .errors import DisabledException, KMSInvalidStateException, NotFoundException
from .keypolicy import default_policy, managed_policy
from .keystore import KeyStore
from .model import (
    DEFAULT_ROTATION_DAYS,
    ENCRYPT_DECRYPT,
    SYMMETRIC_DEFAULT,
    Key,
    KeyRef,
    RefKind,
    Tags,
    key_arn,
    parse_ref,
)


@dataclass(frozen=True, slots=True)
class ManagedKey:
    service: str  # the service whose kms:ViaService the key policy admits
    description: str


MANAGED = {
    "alias/aws/secretsmanager": ManagedKey(
        "secretsmanager",
        "Default key that protects my Secrets Manager data when no other key is defined",
    ),
    "alias/aws/rds": ManagedKey(
        "rds", "Default key that protects my RDS database volumes when no other key is defined"
    ),
}


def not_found(ref: KeyRef) -> NotFoundException:
    if ref.kind is RefKind.ALIAS:
        return NotFoundException(message=f"Alias {ref.arn} is not found.")
    return NotFoundException(message=f"Key '{ref.arn}' does not exist")


def require_enabled(key: Key) -> None:
    if key.state is KmsKeyState.DISABLED:
        raise DisabledException(message=f"{key.arn} is disabled.")
    if key.state is KmsKeyState.PENDING_DELETION:
        raise KMSInvalidStateException(message=f"{key.arn} is pending deletion.")


class Keys:
    def __init__(self, store: Store, keystore: KeyStore, clock: Clock, ids: IdFactory) -> None:
        self.store = store
        self.keystore = keystore
        self.clock = clock
        self._ids = ids

    @staticmethod
    def ref(text: str, account_id: str, region: str) -> KeyRef:
        """``text`` as a key reference; NotFoundException ("Invalid keyId") if malformed."""
        ref = parse_ref(text, account_id, region)
        if ref is None:
            raise NotFoundException(message=f"Invalid keyId {text}")
        return ref

    def get(self, ref: KeyRef, *, create_managed: bool = False) -> Key:
        """The live key ``ref`` names; the AWS-managed key of a predefined alias is created
        when ``create_managed`` (DescribeKey and AWS services do that); else NotFound."""
        with self.store.read() as conn:
            key = repository.find(conn, ref, self.clock.now())
        if key is not None:
            return key
        if create_managed and ref.kind is RefKind.ALIAS and ref.name in MANAGED:
            return self.managed(ref.account_id, ref.region, ref.name)
        raise not_found(ref)

    def lookup(self, text: str, account_id: str, region: str) -> Key:
        return self.get(self.ref(text, account_id, region))

    def create(
        self,
        account_id: str,
        region: str,
        *,
        description: str = "",
        policy: str | None = None,
        tags: Tags = (),
    ) -> Key:
        key = self._new(account_id, region, description, policy, tags, KmsKeyManager.CUSTOMER)
        with self.store.begin() as conn:
            repository.insert_key(conn, key)
        return key

    def managed(self, account_id: str, region: str, alias_name: str) -> Key:
        """The account's AWS-managed key behind ``alias_name``, created on first use."""
        spec = MANAGED.get(alias_name)
        if spec is None:
            raise NotFoundException(
                message=f"Alias {KeyRef(RefKind.ALIAS, account_id, region, alias_name).arn} "
                "is not found."
            )
        ref = KeyRef(RefKind.ALIAS, account_id, region, alias_name)
        with self.store.read() as conn:
            found = repository.find(conn, ref, self.clock.now())
        if found is not None:
            return found
        policy = managed_policy(account_id, region, spec.service)
        key = self._new(account_id, region, spec.description, policy, (), KmsKeyManager.AWS)
        try:
            with self.store.begin() as conn:
                repository.insert_key(conn, key)
                repository.insert_alias(
                    conn, account_id, region, alias_name, key.key_id, key.created_at
                )
        except IntegrityError:
            # Another request made it first: use that one, and drop our unused material.
            self.keystore.destroy(key.key_id)
            with self.store.read() as conn:
                winner = repository.find(conn, ref, self.clock.now())
            if winner is None:
                raise
            return winner
        return key

    def _new(
        self,
        account_id: str,
        region: str,
        description: str,
        policy: str | None,
        tags: Tags,
        manager: KmsKeyManager,
    ) -> Key:
        key_id = str(uuid.UUID(bytes=self._ids.token_bytes(16), version=4))
        now = self.clock.now()
        aws = manager is KmsKeyManager.AWS
        self.keystore.create(key_id, 1)
        return Key(
            key_id=key_id,
            account_id=account_id,
            region=region,
            arn=key_arn(account_id, region, key_id),
            description=description,
            state=KmsKeyState.ENABLED,
            key_manager=manager,
            key_usage=ENCRYPT_DECRYPT,
            key_spec=SYMMETRIC_DEFAULT,
            created_at=now,
            deletion_date=None,
            policy=policy or default_policy(account_id),
            tags=tags,
            # AWS rotates its managed keys every year, and nobody can turn that off.
            rotation_enabled=aws,
            rotation_period_days=DEFAULT_ROTATION_DAYS if aws else None,
            next_rotation_date=now + timedelta(days=DEFAULT_ROTATION_DAYS) if aws else None,
            current_material_version=1,
        )

    def aliases_of(self, key_id: str) -> Sequence[str]:
        with self.store.read() as conn:
            return repository.alias_names(conn, key_id)
