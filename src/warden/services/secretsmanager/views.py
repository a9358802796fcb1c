"""How secrets and versions appear in responses: only populated members, as AWS answers.

DescribeSecret and ListSecrets share one rendering (the list calls the label map
``SecretVersionsToStages``); a version without any label is deprecated and left out of both.
``NextRotationDate`` is the last second of the next rotation window, shown only while
rotation is enabled.
"""

from __future__ import annotations

import logging
from typing import Any

from warden.core.errors import AwsError

from .envelope import DEFAULT_KEY_LABEL
from .labels import Labels
from .model import SecretRecord, VersionRecord
from .schedule import RotationRules, rules_from_json, window_from

log = logging.getLogger("warden.secretsmanager")


def secret_view(record: SecretRecord, labels: Labels, *, listing: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"ARN": record.arn, "Name": record.name}
    optional: dict[str, Any] = {
        "Type": record.secret_type,
        "Description": record.description,
        "KmsKeyId": record.kms_key_id,
        "RotationEnabled": record.rotation_enabled,
        "RotationLambdaARN": record.rotation_lambda_arn,
        "LastRotatedDate": record.last_rotated_at,
        "LastChangedDate": record.last_changed_at,
        "LastAccessedDate": record.last_accessed_at,
        "DeletedDate": record.deleted_at,
        "OwningService": record.owning_service,
        "CreatedDate": record.created_at,
    }
    out.update({k: v for k, v in optional.items() if v is not None})
    rules = _rules(record)
    if rules is not None:
        out["RotationRules"] = rules.to_wire()
        if record.rotation_enabled and record.next_rotation_at is not None:
            out["NextRotationDate"] = window_from(rules, record.next_rotation_at).latest
    if record.external_rotation:
        if record.external_rotation.get("Metadata"):
            out["ExternalSecretRotationMetadata"] = record.external_rotation["Metadata"]
        if record.external_rotation.get("RoleArn"):
            out["ExternalSecretRotationRoleArn"] = record.external_rotation["RoleArn"]
    if record.tags is not None:
        out["Tags"] = [{"Key": k, "Value": v} for k, v in record.tags]
    stages = {version: list(names) for version, names in labels.by_version().items()}
    if stages:
        out["SecretVersionsToStages" if listing else "VersionIdsToStages"] = stages
    return out


def version_view(version: VersionRecord, labels: Labels) -> dict[str, Any]:
    out: dict[str, Any] = {"VersionId": version.version_id, "CreatedDate": version.created_at}
    names = labels.on(version.version_id)
    if names:
        out["VersionStages"] = list(names)
    if version.last_accessed_at is not None:
        out["LastAccessedDate"] = version.last_accessed_at
    if version.sealed is not None:
        out["KmsKeyIds"] = [version.kms_key_label or DEFAULT_KEY_LABEL]
    return out


def _rules(record: SecretRecord) -> RotationRules | None:
    try:
        return rules_from_json(record.rotation_rules)
    except (AwsError, ValueError, TypeError, KeyError):  # validated when stored; reads go on
        log.warning("unreadable rotation rules on %s", record.arn)
        return None
