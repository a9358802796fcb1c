"""KMS domain values: a key as stored, how a request names a key, and the names of things.

Invariants:
- A key is named by its id (a UUID), its ARN, an alias name (``alias/…``) or an alias ARN;
  ``parse_ref`` turns any of these into a ``KeyRef`` scoped to one account and region, and
  refuses everything else (None).
- A key in ``PendingDeletion`` whose deletion date has passed is gone: ``Key.gone`` says so,
  and lookups treat it as absent whether or not the sweeper has deleted its row yet.
- Key material ids are derived from (key id, version) and reveal nothing about the material.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from warden.core.arn import Arn
from warden.store.schema import KmsKeyManager, KmsKeyState

SYMMETRIC_DEFAULT = "SYMMETRIC_DEFAULT"
ENCRYPT_DECRYPT = "ENCRYPT_DECRYPT"
ORIGIN = "AWS_KMS"
DEFAULT_POLICY_NAME = "default"
DEFAULT_ROTATION_DAYS = 365
MIN_ROTATION_DAYS, MAX_ROTATION_DAYS = 90, 2560
MIN_PENDING_DAYS, MAX_PENDING_DAYS = 7, 30
MAX_ON_DEMAND_ROTATIONS = 25
MAX_TAGS = 50
ALIAS_PREFIX = "alias/"
AWS_ALIAS_PREFIX = "alias/aws/"
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
ALIAS_NAME = re.compile(r"alias/[a-zA-Z0-9/_-]+")


class RefKind(enum.Enum):
    KEY = "key"
    ALIAS = "alias"


@dataclass(frozen=True, slots=True)
class KeyRef:
    """A key as a request names it, resolved to the account and region it lives in."""

    kind: RefKind
    account_id: str
    region: str
    name: str  # the key id, or the alias name ("alias/…")

    @property
    def arn(self) -> str:
        if self.kind is RefKind.KEY:
            return key_arn(self.account_id, self.region, self.name)
        return alias_arn(self.account_id, self.region, self.name)


def key_arn(account_id: str, region: str, key_id: str) -> str:
    return f"arn:aws:kms:{region}:{account_id}:key/{key_id}"


def alias_arn(account_id: str, region: str, alias_name: str) -> str:
    return f"arn:aws:kms:{region}:{account_id}:{alias_name}"


def parse_ref(text: str, account_id: str, region: str) -> KeyRef | None:
    """``text`` as a key reference in the caller's account and region; None if malformed."""
    if text.startswith("arn:"):
        try:
            arn = Arn.parse(text)
        except ValueError:
            return None
        if arn.service != "kms" or not arn.region or not arn.account:
            return None
        if arn.resource.startswith("key/") and _UUID.fullmatch(arn.resource[4:]):
            return KeyRef(RefKind.KEY, arn.account, arn.region, arn.resource[4:].lower())
        if arn.resource.startswith(ALIAS_PREFIX) and len(arn.resource) > len(ALIAS_PREFIX):
            return KeyRef(RefKind.ALIAS, arn.account, arn.region, arn.resource)
        return None
    if text.startswith(ALIAS_PREFIX) and len(text) > len(ALIAS_PREFIX):
        return KeyRef(RefKind.ALIAS, account_id, region, text)
    if _UUID.fullmatch(text):
        return KeyRef(RefKind.KEY, account_id, region, text.lower())
    return None


def material_id(key_id: str, version: int) -> str:
    """The 64-hex ``KeyMaterialId`` AWS reports for one version of a key's material."""
    return hashlib.sha256(f"warden-kms-material:{key_id}:{version}".encode()).hexdigest()


Tags = tuple[tuple[str, str], ...]


def tags_from_json(raw: Sequence[Mapping[str, str]] | None) -> Tags:
    return tuple((t["TagKey"], t["TagValue"]) for t in raw or ())


def tags_to_json(tags: Tags) -> list[dict[str, str]]:
    return [{"TagKey": k, "TagValue": v} for k, v in tags]


@dataclass(frozen=True, slots=True)
class Key:
    key_id: str
    account_id: str
    region: str
    arn: str
    description: str
    state: KmsKeyState
    key_manager: KmsKeyManager
    key_usage: str
    key_spec: str
    created_at: datetime
    deletion_date: datetime | None
    policy: str
    tags: Tags
    rotation_enabled: bool
    rotation_period_days: int | None
    next_rotation_date: datetime | None
    current_material_version: int

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Key:
        return cls(
            key_id=row["key_id"],
            account_id=row["account_id"],
            region=row["region"],
            arn=row["arn"],
            description=row["description"],
            state=KmsKeyState(row["state"]),
            key_manager=KmsKeyManager(row["key_manager"]),
            key_usage=row["key_usage"],
            key_spec=row["key_spec"],
            created_at=row["created_at"],
            deletion_date=row["deletion_date"],
            policy=row["policy"],
            tags=tags_from_json(row["tags"]),
            rotation_enabled=bool(row["rotation_enabled"]),
            rotation_period_days=row["rotation_period_days"],
            next_rotation_date=row["next_rotation_date"],
            current_material_version=row["current_material_version"],
        )

    @property
    def aws_managed(self) -> bool:
        return self.key_manager is KmsKeyManager.AWS

    def gone(self, now: datetime) -> bool:
        return (
            self.state is KmsKeyState.PENDING_DELETION
            and self.deletion_date is not None
            and self.deletion_date <= now
        )

    @property
    def tag_map(self) -> dict[str, str]:
        return dict(self.tags)

    def metadata(self) -> dict[str, Any]:
        """``KeyMetadata`` as DescribeKey, CreateKey and friends answer it."""
        out: dict[str, Any] = {
            "AWSAccountId": self.account_id,
            "KeyId": self.key_id,
            "Arn": self.arn,
            "CreationDate": self.created_at,
            "Enabled": self.state is KmsKeyState.ENABLED,
            "Description": self.description,
            "KeyUsage": self.key_usage,
            "KeyState": self.state.value,
            "Origin": ORIGIN,
            "KeyManager": self.key_manager.value,
            "CustomerMasterKeySpec": self.key_spec,
            "KeySpec": self.key_spec,
            "EncryptionAlgorithms": [SYMMETRIC_DEFAULT],
            "MultiRegion": False,
            "CurrentKeyMaterialId": material_id(self.key_id, self.current_material_version),
        }
        if self.state is KmsKeyState.PENDING_DELETION and self.deletion_date is not None:
            out["DeletionDate"] = self.deletion_date
        return out
