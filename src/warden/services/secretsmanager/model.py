"""The secret and its versions as frozen values, read from and written to the store.

A ``SecretRecord`` is the secret's metadata; ``VersionRecord`` is one version, whose value is
only ever held sealed (``SealedValue``) or absent (the AWSPENDING placeholder of a rotation
that has not produced a value yet). Staging labels live in ``labels.Labels``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .envelope import SealedValue


@dataclass(frozen=True, slots=True)
class SecretRecord:
    arn: str
    account_id: str
    region: str
    name: str
    created_at: datetime
    last_changed_at: datetime
    description: str | None = None
    kms_key_id: str | None = None  # as the caller gave it; None: aws/secretsmanager
    secret_type: str | None = None
    owning_service: str | None = None  # set: managed by that service (e.g. "rds")
    tags: tuple[tuple[str, str], ...] | None = None  # None: never tagged
    resource_policy: str | None = None
    rotation_enabled: bool | None = None  # None: never configured for rotation
    rotation_lambda_arn: str | None = None
    rotation_rules: dict[str, Any] | None = None
    external_rotation: dict[str, Any] | None = None
    next_rotation_at: datetime | None = None  # the next window's start
    last_rotated_at: datetime | None = None
    last_accessed_at: datetime | None = None  # date resolution (midnight UTC)
    deleted_at: datetime | None = None  # when DeleteSecret scheduled the deletion
    deletion_at: datetime | None = None  # when the secret may be purged

    @property
    def scheduled_for_deletion(self) -> bool:
        return self.deleted_at is not None

    def tag_map(self) -> dict[str, str]:
        return dict(self.tags or ())


@dataclass(frozen=True, slots=True)
class VersionRecord:
    version_id: str
    created_at: datetime
    sealed: SealedValue | None
    kms_key_label: str | None = None  # ListSecretVersionIds' KmsKeyIds entry
    last_accessed_at: datetime | None = None

    @property
    def has_value(self) -> bool:
        return self.sealed is not None
