"""An audit row in CloudTrail's event record format (``CloudTrailEvent``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import RowMapping


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _camel(value: Any) -> Any:
    """Member names as CloudTrail writes them: the first letter lower-cased, recursively
    (``SecretId`` → ``secretId``, RDS's ``DBClusterIdentifier`` → ``dBClusterIdentifier``)."""
    if isinstance(value, dict):
        return {(k[:1].lower() + k[1:]) if k else k: _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


def username_of(row: RowMapping) -> str:
    if row["principal_type"] == "Root":
        return "root"
    return str(row["user_name"] or "")


def _identity(row: RowMapping) -> dict[str, Any]:
    if not row["principal_arn"]:
        return {"type": "Unknown"}
    ident: dict[str, Any] = {
        "type": row["principal_type"],
        "arn": row["principal_arn"],
        "accountId": row["account_id"],
    }
    if row["access_key_id"]:
        ident["accessKeyId"] = row["access_key_id"]
    if row["principal_type"] == "IAMUser":
        ident["userName"] = row["user_name"]
    return ident


def cloudtrail_event(row: RowMapping) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventVersion": "1.08",
        "userIdentity": _identity(row),
        "eventTime": _iso(row["event_time"]),
        "eventSource": row["event_source"],
        "eventName": row["event_name"],
        "awsRegion": row["region"],
        "sourceIPAddress": row["source_ip"],
        "userAgent": row["user_agent"],
        "requestParameters": _camel(row["request_parameters"]),
        "responseElements": None,
        "requestID": row["request_id"],
        "eventID": row["event_id"],
        "readOnly": bool(row["read_only"]),
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": row["account_id"],
        "eventCategory": "Management",
    }
    if row["error_code"]:
        event["errorCode"] = row["error_code"]
        event["errorMessage"] = row["error_message"]
    if row["resource_arns"]:
        event["resources"] = [
            {"ARN": arn, "accountId": row["account_id"], "type": rtype}
            for arn, rtype in zip(row["resource_arns"], row["resource_types"] or [], strict=False)
        ]
    return event
