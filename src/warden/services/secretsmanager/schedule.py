"""Rotation rules: validation of ``RotationRules`` and the rotation windows they define (pure).

A schedule is ``AutomaticallyAfterDays`` (N days after the last rotation), ``rate(N hours|days)``
or ``cron(Minutes Hours Day-of-month Month Day-of-week Year)`` with Secrets Manager's
restrictions: minutes must be ``0`` (windows open on the hour), year must be ``*``, exactly one
of day-of-month and day-of-week is ``?``, rotation at most every four hours, hour increments
restart each day (``cron(0 4/12 * * ? *)`` is 04:00 and 16:00). All times are UTC.

A window opens at a scheduled hour and closes after ``Duration`` hours; without one it closes
after an hour for schedules in hours and at the end of the UTC day for schedules in days. A
window may not run into the next UTC day or the next window. ``DescribeSecret`` reports the
window's last second as ``NextRotationDate`` ("the latest date that rotation will occur").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from .cron import Cron, CronError, parse_cron
from .errors import InvalidParameterException, ValidationException, out_of_range, too_long

MIN_INTERVAL_HOURS = 4
MAX_RATE_DAYS = 999
_EXPRESSION_CHARS = re.compile(r"[0-9A-Za-z()#?*\-/, ]+")
_RATE = re.compile(r"rate\((\d+) (hours?|days?)\)")
_CRON = re.compile(r"cron\((.*)\)")
_DURATION = re.compile(r"[0-9]+h")
BOTH = "You cannot specify both rotation frequency and schedule expression together."


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime  # exclusive

    @property
    def latest(self) -> datetime:
        return self.end - timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class RotationRules:
    """Validated rules, as given (``to_wire`` adds what DescribeSecret derives)."""

    after_days: int | None = None
    expression: str | None = None
    duration_hours: int | None = None
    rate_hours: int | None = None  # rate(N hours)
    rate_days: int | None = None  # rate(N days), or AutomaticallyAfterDays
    cron: Cron | None = None

    @property
    def in_hours(self) -> bool:
        return self.rate_hours is not None or (self.cron is not None and self.cron.hourly)

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.rate_days is not None:
            out["AutomaticallyAfterDays"] = self.rate_days
        if self.expression is not None:
            out["ScheduleExpression"] = self.expression
        if self.duration_hours is not None:
            out["Duration"] = f"{self.duration_hours}h"
        return out

    def to_json(self) -> dict[str, Any]:
        """What the store keeps: the request's own members."""
        out: dict[str, Any] = {}
        if self.after_days is not None:
            out["AutomaticallyAfterDays"] = self.after_days
        if self.expression is not None:
            out["ScheduleExpression"] = self.expression
        if self.duration_hours is not None:
            out["Duration"] = f"{self.duration_hours}h"
        return out


def parse_rules(raw: Mapping[str, Any]) -> RotationRules:
    """Validate ``RotationRules`` as RotateSecret does; raise the error AWS answers."""
    days = raw.get("AutomaticallyAfterDays")
    expression = raw.get("ScheduleExpression")
    duration = raw.get("Duration")
    if days is not None and expression is not None:
        raise InvalidParameterException(message=BOTH)
    if days is not None:
        member = "rotationRules.automaticallyAfterDays"
        if days < 1:
            raise out_of_range(member, days, "greater than or equal to", 1)
        if days > 1000:
            raise out_of_range(member, days, "less than or equal to", 1000)
    hours = _duration(duration) if duration is not None else None
    if expression is not None:
        rules = _expression(expression, hours)
    elif days is not None:
        rules = RotationRules(after_days=days, duration_hours=hours, rate_days=days)
    else:
        raise InvalidParameterException(
            message="RotationRules must contain either AutomaticallyAfterDays or "
            "ScheduleExpression."
        )
    _check_window(rules)
    return rules


def rules_from_json(doc: Mapping[str, Any] | None) -> RotationRules | None:
    """Rules the store kept (validated when they were written)."""
    return parse_rules(doc) if doc else None


def _duration(value: str) -> int:
    if not 2 <= len(value) <= 3:
        raise ValidationException(
            message="1 validation error detected: Value at 'rotationRules.duration' failed to "
            "satisfy constraint: Member must have length between 2 and 3"
        )
    if not _DURATION.fullmatch(value):
        raise ValidationException(
            message=f"1 validation error detected: Value '{value}' at 'rotationRules.duration' "
            "failed to satisfy constraint: Member must satisfy regular expression pattern: "
            "[0-9]+h"
        )
    hours = int(value[:-1])
    if not 1 <= hours <= 24:
        raise InvalidParameterException(
            message="The rotation window Duration must be between 1h and 24h."
        )
    return hours


def _expression(expression: str, duration: int | None) -> RotationRules:
    if len(expression) > 256:
        raise too_long("rotationRules.scheduleExpression", 256, expression)
    if not _EXPRESSION_CHARS.fullmatch(expression):
        raise ValidationException(
            message=f"1 validation error detected: Value '{expression}' at "
            "'rotationRules.scheduleExpression' failed to satisfy constraint: Member must "
            r"satisfy regular expression pattern: [0-9A-Za-z\(\)#\?\*\-\/, ]+"
        )
    rate = _RATE.fullmatch(expression)
    if rate is not None:
        value, unit = int(rate.group(1)), rate.group(2)
        if unit.startswith("hour"):
            if not MIN_INTERVAL_HOURS <= value <= 23:
                raise InvalidParameterException(
                    message="A rate() schedule in hours must be between rate(4 hours) and "
                    "rate(23 hours): you can rotate a secret as often as every four hours."
                )
            return RotationRules(expression=expression, duration_hours=duration, rate_hours=value)
        if not 1 <= value <= MAX_RATE_DAYS:
            raise InvalidParameterException(
                message=f"A rate() schedule in days must be between 1 and {MAX_RATE_DAYS} days."
            )
        return RotationRules(expression=expression, duration_hours=duration, rate_days=value)
    cron = _CRON.fullmatch(expression)
    if cron is None:
        raise InvalidParameterException(
            message=f"Invalid ScheduleExpression {expression}: use rate(Value Unit) with hours "
            "or days, or cron(Minutes Hours Day-of-month Month Day-of-week Year)."
        )
    try:
        parsed = parse_cron(cron.group(1))
    except CronError as exc:
        raise InvalidParameterException(
            message=f"Invalid cron expression in ScheduleExpression: {exc}"
        ) from None
    if parsed.min_gap_hours < MIN_INTERVAL_HOURS:
        raise InvalidParameterException(
            message="You can rotate a secret as often as every four hours: the cron "
            "expression schedules rotations closer together than that."
        )
    return RotationRules(expression=expression, duration_hours=duration, cron=parsed)


def _check_window(rules: RotationRules) -> None:
    hours = rules.duration_hours
    if hours is None:
        return
    if rules.rate_hours is not None and hours > rules.rate_hours:
        raise InvalidParameterException(
            message="The rotation window can't extend into the next rotation window: "
            "Duration must not exceed the hours between rotations."
        )
    if rules.cron is not None and rules.cron.hourly and hours > rules.cron.min_gap_hours:
        raise InvalidParameterException(
            message="The rotation window can't extend into the next rotation window: "
            "Duration must not exceed the hours between rotations."
        )
    start_hour = 0
    if rules.cron is not None:
        start_hour = max(rules.cron.hours)
    elif rules.rate_hours is not None:
        start_hour = max(range(0, 24, rules.rate_hours))
    if start_hour + hours > 24:
        raise InvalidParameterException(
            message="The rotation window can't extend into the next UTC day: the start hour "
            "plus Duration must be 24 hours or less."
        )


def next_window(rules: RotationRules, *, since: datetime) -> Window:
    """The next rotation window after a rotation (or a configuration change) at ``since``."""
    if rules.rate_days is not None:
        day = since.astimezone(UTC).date() + timedelta(days=rules.rate_days)
        return window_from(rules, _at(day, 0))
    if rules.rate_hours is not None:
        start = _next_hour_slot(range(0, 24, rules.rate_hours), since)
        return window_from(rules, start)
    if rules.cron is None:
        raise ValueError("rules without a schedule")
    fire = rules.cron.next_fire(since)
    if fire is None:
        raise ValueError("cron expression never fires")
    return window_from(rules, fire)


def window_from(rules: RotationRules, start: datetime) -> Window:
    """The window of ``rules`` that opens at ``start``."""
    if rules.duration_hours is not None:
        return Window(start, start + timedelta(hours=rules.duration_hours))
    if rules.in_hours:
        return Window(start, start + timedelta(hours=1))
    midnight = _at(start.date() + timedelta(days=1), 0)
    return Window(start, midnight)


def _next_hour_slot(hours: range, after: datetime) -> datetime:
    after = after.astimezone(UTC)
    day = after.date()
    for offset in range(2):
        for hour in hours:
            candidate = _at(day + timedelta(days=offset), hour)
            if candidate > after:
                return candidate
    raise ValueError("no hour slot")  # unreachable: hours is never empty


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)
