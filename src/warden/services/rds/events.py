"""RDS events: what happened to clusters and instances, and DescribeEvents.

Events are written by the reconciler as it converges (created, restarted, stopped, started,
deleted, master password reset, master password changed inside the database) in the same
transaction as the status change they report. RDS keeps events for 14 days; so does warden
(``prune``). DescribeEvents defaults to the last hour, as RDS does.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from warden.services.context import CallContext

from . import inputs
from . import repository as repo
from .core import Deps
from .errors import InvalidParameterCombination, InvalidParameterValue

RETENTION = timedelta(days=14)
_DEFAULT_WINDOW = timedelta(minutes=60)
SOURCE_TYPES = frozenset(
    {"db-instance", "db-parameter-group", "db-security-group", "db-snapshot", "db-cluster",
     "db-cluster-snapshot", "custom-engine-version", "db-proxy", "blue-green-deployment",
     "db-shard-group", "zero-etl"}
)  # fmt: skip
CATEGORIES = frozenset(
    {"availability", "backup", "configuration change", "creation", "deletion", "failover",
     "failure", "low storage", "maintenance", "notification", "read replica", "recovery",
     "restoration", "security", "security patching"}
)  # fmt: skip


def _window(params: Mapping[str, Any], now: datetime) -> tuple[datetime, datetime]:
    """[start, end] from StartTime, EndTime and Duration (minutes), as RDS combines them."""
    start: datetime | None = params.get("StartTime")
    end: datetime | None = params.get("EndTime")
    duration = params.get("Duration")
    if duration is not None and (not isinstance(duration, int) or duration < 0):
        raise InvalidParameterValue(message=f"Invalid value {duration} for Duration")
    span = timedelta(minutes=duration) if duration is not None else _DEFAULT_WINDOW
    if start is None:
        end = end or now
        return end - span, end
    if end is None:
        end = start + span if duration is not None else now
    if end < start:
        raise InvalidParameterValue(message="EndTime must be later than StartTime")
    return start, end


class EventOps:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def describe_events(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        inputs.max_records(params)
        if params.get("Filters"):
            raise InvalidParameterValue(message="Filters are not supported by DescribeEvents")
        source_type, source_id = params.get("SourceType"), params.get("SourceIdentifier")
        if source_type is not None and source_type not in SOURCE_TYPES:
            raise InvalidParameterValue(message=f"Invalid source type: {source_type}")
        if source_id and not source_type:
            raise InvalidParameterCombination(
                message="SourceType is required when SourceIdentifier is specified."
            )
        categories = {str(c).lower() for c in params.get("EventCategories") or []}
        unknown = categories - CATEGORIES
        if unknown:
            raise InvalidParameterValue(message=f"Invalid event categories: {sorted(unknown)}")
        start, end = _window(params, ctx.now)
        start = max(start, ctx.now - RETENTION)
        with self.deps.store.read() as conn:
            rows = repo.events(conn, ctx.account_id, ctx.region, start, end)
        wanted_id = str(source_id).lower() if source_id else None
        chosen = [
            row
            for row in rows
            if (source_type is None or row["source_type"] == source_type)
            and (wanted_id is None or wanted_id in (row["source_id"], row["source_arn"].lower()))
            and (not categories or categories & set(row["categories"]))
        ]
        page, more = ctx.page(chosen)
        return {"Events": [_view(row) for row in page], **more}


def _view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "SourceIdentifier": row["source_id"],
        "SourceType": row["source_type"],
        "Message": row["message"],
        "EventCategories": list(row["categories"]),
        "Date": row["created_at"],
        "SourceArn": row["source_arn"],
    }
