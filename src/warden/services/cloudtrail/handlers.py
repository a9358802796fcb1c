"""CloudTrail ``LookupEvents`` over warden's audit trail.

Every API call warden answers (allowed, denied or failed) is an audit record; this
service reads them back in CloudTrail's event shape: the summary fields and the
full record as the ``CloudTrailEvent`` JSON string. As in CloudTrail, one lookup
attribute at most, a time range, newest first, at most 50 per page, and a
continuation token that is sealed (keyset on the record's sequence number).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import RowMapping

from warden.core.tokens import TokenSealer, context_of
from warden.services.context import AuthzEntry, CallContext, ServiceHandlers
from warden.services.ports import AuditFlush
from warden.store.db import Store
from warden.store.schema import audit_events, audit_resources

from .errors import (
    InvalidEventCategoryException,
    InvalidLookupAttributesException,
    InvalidMaxResultsException,
    InvalidNextTokenException,
    InvalidTimeRangeException,
)
from .records import cloudtrail_event, username_of

_COLUMNS = {
    "EventId": audit_events.c.event_id,
    "EventName": audit_events.c.event_name,
    "Username": audit_events.c.user_name,
    "EventSource": audit_events.c.event_source,
    "AccessKeyId": audit_events.c.access_key_id,
}
_KEYS = (*_COLUMNS, "ReadOnly", "ResourceType", "ResourceName")
RETENTION = timedelta(days=90)


class Trail:
    def __init__(self, store: Store, sealer: TokenSealer, audit: AuditFlush) -> None:
        self._store = store
        self._sealer = sealer
        self._audit = audit

    def lookup_events(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        where = [audit_events.c.account_id == ctx.account_id, audit_events.c.region == ctx.region]
        where.extend(self._attribute_filter(params.get("LookupAttributes") or []))
        where.extend(self._time_filter(ctx, params))
        if params.get("EventCategory") not in (None, "insight"):
            raise InvalidEventCategoryException(message="Event category is not valid.")
        if params.get("EventCategory") == "insight":
            return {"Events": []}  # warden records no Insights events
        limit = self._limit(params)
        bind = context_of("LookupEvents", ctx.account_id, ctx.region, _filters(params))
        token = params.get("NextToken")
        if token is not None:
            cursor = self._sealer.open(token, bind)
            if cursor is None or not cursor.isdigit():
                raise InvalidNextTokenException(message="Invalid NextToken.")
            where.append(audit_events.c.seq < int(cursor))
        self._audit.flush()
        query = (
            sa.select(audit_events)
            .where(*where)
            .order_by(audit_events.c.seq.desc())
            .limit(limit + 1)
        )
        with self._store.read() as conn:
            rows = list(conn.execute(query).mappings())
        out: dict[str, Any] = {"Events": [_summary(r) for r in rows[:limit]]}
        if len(rows) > limit:
            out["NextToken"] = self._sealer.seal(str(rows[limit - 1]["seq"]), bind)
        return out

    @staticmethod
    def _attribute_filter(attrs: list[Mapping[str, Any]]) -> list[sa.ColumnElement[bool]]:
        if len(attrs) > 1:
            raise InvalidLookupAttributesException(
                message="You can only specify one lookup attribute."
            )
        if not attrs:
            return []
        key, value = attrs[0].get("AttributeKey"), attrs[0].get("AttributeValue")
        if key not in _KEYS or not isinstance(value, str) or not 1 <= len(value) <= 2000:
            raise InvalidLookupAttributesException(
                message=f"Lookup attribute key {key!r} or its value is not valid."
            )
        if key in _COLUMNS:
            return [_COLUMNS[key] == value]
        if key == "ReadOnly":
            if value not in ("true", "false"):
                raise InvalidLookupAttributesException(
                    message="ReadOnly lookup attribute value must be true or false."
                )
            return [audit_events.c.read_only == (value == "true")]
        column = (
            audit_resources.c.resource_type
            if key == "ResourceType"
            else audit_resources.c.resource_name
        )
        ids = sa.select(audit_resources.c.event_id).where(column == value)
        return [audit_events.c.event_id.in_(ids)]

    @staticmethod
    def _time_filter(ctx: CallContext, params: Mapping[str, Any]) -> list[sa.ColumnElement[bool]]:
        start: datetime | None = params.get("StartTime")
        end: datetime | None = params.get("EndTime")
        if start is not None and end is not None and start > end:
            raise InvalidTimeRangeException(
                message="Start time must be before or equal to end time."
            )
        floor = ctx.now - RETENTION
        conds = [audit_events.c.event_time >= max(start or floor, floor)]
        if end is not None:
            conds.append(audit_events.c.event_time <= end)
        return conds

    @staticmethod
    def _limit(params: Mapping[str, Any]) -> int:
        limit = params.get("MaxResults", 50)
        if not isinstance(limit, int) or not 1 <= limit <= 50:
            raise InvalidMaxResultsException(
                message="Value for parameter MaxResults is not valid; it must be between 1 and 50."
            )
        return limit


def _filters(params: Mapping[str, Any]) -> Any:
    return [
        params.get("LookupAttributes"),
        params.get("StartTime"),
        params.get("EndTime"),
        params.get("MaxResults"),
    ]


def _summary(row: RowMapping) -> dict[str, Any]:
    resources = [
        {"ResourceType": t, "ResourceName": n}
        for n, t in zip(row["resource_arns"] or [], row["resource_types"] or [], strict=False)
    ]
    out: dict[str, Any] = {
        "EventId": row["event_id"],
        "EventName": row["event_name"],
        "ReadOnly": "true" if row["read_only"] else "false",
        "EventTime": row["event_time"],
        "EventSource": row["event_source"],
        "Resources": resources,
        "CloudTrailEvent": json.dumps(cloudtrail_event(row), separators=(",", ":")),
    }
    if row["access_key_id"]:
        out["AccessKeyId"] = row["access_key_id"]
    if username_of(row):
        out["Username"] = username_of(row)
    return out


def build(store: Store, sealer: TokenSealer, audit: AuditFlush) -> ServiceHandlers:
    trail = Trail(store, sealer, audit)
    return ServiceHandlers(
        name="cloudtrail",
        handlers={"LookupEvents": trail.lookup_events},
        authz={"LookupEvents": AuthzEntry("cloudtrail:LookupEvents", read_only=True)},
    )
