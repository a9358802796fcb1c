"""RotationRules validation and rotation windows (schedule.py, cron.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from warden.protocol.errors import ValidationException
from warden.services.secretsmanager.errors import InvalidParameterException
from warden.services.secretsmanager.schedule import next_window, parse_rules, window_from

T0 = datetime(2030, 1, 1, 10, 30, tzinfo=UTC)  # a Tuesday


def test_automatically_after_days_window_is_that_whole_utc_day() -> None:
    rules = parse_rules({"AutomaticallyAfterDays": 7})
    window = next_window(rules, since=T0)
    assert window.start == datetime(2030, 1, 8, tzinfo=UTC)
    assert window.latest == datetime(2030, 1, 8, 23, 59, 59, tzinfo=UTC)
    assert rules.to_wire() == {"AutomaticallyAfterDays": 7}


def test_rate_in_days_reports_its_days_and_honours_duration() -> None:
    rules = parse_rules({"ScheduleExpression": "rate(10 days)", "Duration": "3h"})
    assert rules.to_wire() == {
        "AutomaticallyAfterDays": 10,
        "ScheduleExpression": "rate(10 days)",
        "Duration": "3h",
    }
    window = next_window(rules, since=T0)
    assert (window.start, window.end) == (
        datetime(2030, 1, 11, tzinfo=UTC),
        datetime(2030, 1, 11, 3, tzinfo=UTC),
    )


def test_rate_in_hours_restarts_at_midnight_with_one_hour_windows() -> None:
    rules = parse_rules({"ScheduleExpression": "rate(4 hours)"})
    window = next_window(rules, since=T0)
    assert window.start == datetime(2030, 1, 1, 12, tzinfo=UTC)
    assert window.end - window.start == timedelta(hours=1)
    late = next_window(rules, since=datetime(2030, 1, 1, 20, 5, tzinfo=UTC))
    assert late.start == datetime(2030, 1, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "since", "start"),
    [
        ("cron(0 4/12 * * ? *)", T0, datetime(2030, 1, 1, 16, tzinfo=UTC)),
        ("cron(0 16 L * ? *)", T0, datetime(2030, 1, 31, 16, tzinfo=UTC)),
        ("cron(0 0 ? * SUN#1 *)", T0, datetime(2030, 1, 6, tzinfo=UTC)),
        ("cron(0 10 ? FEB,MAY TUE#2 *)", T0, datetime(2030, 2, 12, 10, tzinfo=UTC)),
        ("cron(0 8 ? * 6L *)", T0, datetime(2030, 1, 25, 8, tzinfo=UTC)),
        ("cron(0 8 1/7 * ? *)", T0, datetime(2030, 1, 8, 8, tzinfo=UTC)),
        ("cron(0 23 29 2 ? *)", T0, datetime(2032, 2, 29, 23, tzinfo=UTC)),
    ],
)
def test_cron_next_windows(expression: str, since: datetime, start: datetime) -> None:
    rules = parse_rules({"ScheduleExpression": expression})
    assert next_window(rules, since=since).start == start


def test_cron_in_hours_has_one_hour_windows_days_close_at_midnight() -> None:
    hourly = parse_rules({"ScheduleExpression": "cron(0 4/12 * * ? *)"})
    assert window_from(hourly, T0).end == T0 + timedelta(hours=1)
    daily = parse_rules({"ScheduleExpression": "cron(0 6 * * ? *)"})
    start = datetime(2030, 1, 2, 6, tzinfo=UTC)
    assert window_from(daily, start).end == datetime(2030, 1, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("rules", "reason"),
    [
        ({"AutomaticallyAfterDays": 5, "ScheduleExpression": "rate(5 days)"}, "both"),
        ({"ScheduleExpression": "rate(3 hours)"}, "four hours"),
        ({"ScheduleExpression": "rate(1000 days)"}, "999"),
        ({"ScheduleExpression": "rate(5 minutes)"}, "Invalid ScheduleExpression"),
        ({"ScheduleExpression": "cron(30 4 * * ? *)"}, "Minutes must be 0"),
        ({"ScheduleExpression": "cron(0 4 * * ? 2031)"}, "Year must be"),
        ({"ScheduleExpression": "cron(0 4 * * MON *)"}, "exactly one"),
        ({"ScheduleExpression": "cron(0 4 ? * ? *)"}, "exactly one"),
        ({"ScheduleExpression": "cron(0 */2 * * ? *)"}, "four hours"),
        ({"ScheduleExpression": "cron(0 25 * * ? *)"}, "outside 0-23"),
        ({"ScheduleExpression": "cron(0 4 30 2 ? *)"}, "never matches"),
        ({"ScheduleExpression": "cron(0 4 * *)"}, "six fields"),
        ({"ScheduleExpression": "cron(0 20 * * ? *)", "Duration": "5h"}, "next UTC day"),
        ({"ScheduleExpression": "cron(0 4/6 * * ? *)", "Duration": "7h"}, "next rotation"),
        ({"ScheduleExpression": "rate(4 hours)", "Duration": "5h"}, "next rotation"),
        ({"ScheduleExpression": "rate(1 day)", "Duration": "25h"}, "between 1h and 24h"),
        ({"Duration": "2h"}, "either AutomaticallyAfterDays"),
    ],
)
def test_schedules_aws_rejects(rules: dict[str, object], reason: str) -> None:
    with pytest.raises(InvalidParameterException) as err:
        parse_rules(rules)
    assert reason in err.value.message


@pytest.mark.parametrize(
    "rules",
    [
        {"AutomaticallyAfterDays": 0},
        {"AutomaticallyAfterDays": 1001},
        {"ScheduleExpression": "rate(1 day)", "Duration": "3"},
        {"ScheduleExpression": "rate(1 day)", "Duration": "100h"},
        {"ScheduleExpression": "cron(0 4 * * ? *) ;"},
    ],
)
def test_model_constraints_are_validation_errors(rules: dict[str, object]) -> None:
    with pytest.raises(ValidationException, match="1 validation error detected"):
        parse_rules(rules)
