"""The cron() dialect of Secrets Manager rotation schedules (pure).

Six fields: ``Minutes Hours Day-of-month Month Day-of-week Year``. Minutes must be ``0`` and
Year ``*``. Hours 0-23 take ``, - * /``; day-of-month 1-31 takes ``, - * ? / L``; month 1-12 or
JAN-DEC takes ``, - * /``; day-of-week 1-7 or SUN-SAT (1 is Sunday) takes ``, - * ? / L #``
(``6L`` the last Friday of the month, ``SUN#1`` the first Sunday). Exactly one of the two day
fields is ``?``. Hour increments restart every day. ``parse_cron`` raises ``CronError`` with a
reason a person can act on; ``Cron.next_fire`` finds the next matching hour.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_HORIZON_DAYS = 366 * 8  # long enough to meet every valid day/month combination (29 Feb)


class CronError(ValueError):
    """A cron expression Secrets Manager would refuse."""


@dataclass(frozen=True, slots=True)
class DaySpec:
    """A day-of-month or day-of-week field: plain values, ``L`` forms, ``#`` forms."""

    any: bool = False  # "?" (or "*")
    values: frozenset[int] = frozenset()
    last: bool = False  # "L": last day of the month / last day of the week (Saturday)
    last_weekdays: frozenset[int] = frozenset()  # "6L": last Friday of the month
    nth: frozenset[tuple[int, int]] = frozenset()  # "SUN#1": (weekday, n)


@dataclass(frozen=True, slots=True)
class Cron:
    hours: tuple[int, ...]
    dom: DaySpec
    months: frozenset[int]
    dow: DaySpec

    @property
    def hourly(self) -> bool:
        """A schedule "in hours" (several windows a day) rather than in days."""
        return len(self.hours) > 1

    @property
    def min_gap_hours(self) -> int:
        """The shortest time between two windows on the same day (24 for one a day)."""
        gaps = [b - a for a, b in zip(self.hours, self.hours[1:], strict=False)]
        return min(gaps, default=24)

    def matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        if not self.dom.any and not _dom_matches(self.dom, day):
            return False
        return self.dow.any or _dow_matches(self.dow, day)

    def next_fire(self, after: datetime) -> datetime | None:
        """The first scheduled hour strictly after ``after`` (None: it never fires)."""
        after = after.astimezone(UTC)
        day = after.date()
        for offset in range(_HORIZON_DAYS):
            current = day + timedelta(days=offset)
            if not self.matches(current):
                continue
            for hour in self.hours:
                fire = datetime.combine(current, time(hour), tzinfo=UTC)
                if fire > after:
                    return fire
        return None


def parse_cron(body: str) -> Cron:
    fields = body.split()
    if len(fields) != 6:
        raise CronError(
            "a cron expression has six fields: Minutes Hours Day-of-month Month Day-of-week Year"
        )
    minutes, hours, dom, month, dow, year = fields
    if minutes != "0":
        raise CronError("Minutes must be 0: rotation windows open on the hour")
    if year != "*":
        raise CronError("Year must be *")
    if (dom == "?") == (dow == "?"):
        raise CronError("exactly one of Day-of-month and Day-of-week must be ?")
    cron = Cron(
        hours=tuple(sorted(_values(hours, 0, 23, {}, "Hours"))),
        dom=_day_spec(dom, 1, 31, {}, "Day-of-month", weekday=False),
        months=frozenset(_values(month, 1, 12, _MONTHS, "Month")),
        dow=_day_spec(dow, 1, 7, _DAYS, "Day-of-week", weekday=True),
    )
    if cron.next_fire(datetime(2000, 1, 1, tzinfo=UTC)) is None:
        raise CronError("the expression never matches a date")
    return cron


def _values(field: str, low: int, high: int, names: dict[str, int], what: str) -> set[int]:
    out: set[int] = set()
    for part in field.split(","):
        out |= _range(part, low, high, names, what)
    return out


def _range(part: str, low: int, high: int, names: dict[str, int], what: str) -> set[int]:
    base, _, step_text = part.partition("/")
    step = 1
    if step_text:
        step = _number(step_text, 1, high, {}, what)
    if base == "*":
        start, stop = low, high
    elif "-" in base:
        first, _, last = base.partition("-")
        start, stop = _number(first, low, high, names, what), _number(last, low, high, names, what)
        if stop < start:
            raise CronError(f"{what}: range {base} runs backwards")
    else:
        start = _number(base, low, high, names, what)
        stop = high if step_text else start
    return set(range(start, stop + 1, step))


def _number(text: str, low: int, high: int, names: dict[str, int], what: str) -> int:
    value = names.get(text.upper())
    if value is None:
        if not text.isdigit():
            raise CronError(f"{what}: {text!r} is not a valid value")
        value = int(text)
    if not low <= value <= high:
        raise CronError(f"{what}: {value} is outside {low}-{high}")
    return value


def _day_spec(
    field: str, low: int, high: int, names: dict[str, int], what: str, *, weekday: bool
) -> DaySpec:
    if field in ("?", "*"):
        return DaySpec(any=True)
    values: set[int] = set()
    last = False
    last_weekdays: set[int] = set()
    nth: set[tuple[int, int]] = set()
    for part in field.split(","):
        upper = part.upper()
        if upper == "L":
            last = True
        elif weekday and upper.endswith("L"):
            last_weekdays.add(_number(part[:-1], low, high, names, what))
        elif weekday and "#" in part:
            day, _, n = part.partition("#")
            nth.add((_number(day, low, high, names, what), _number(n, 1, 5, {}, what)))
        else:
            values |= _range(part, low, high, names, what)
    return DaySpec(False, frozenset(values), last, frozenset(last_weekdays), frozenset(nth))


def _aws_weekday(day: date) -> int:
    return (day.weekday() + 1) % 7 + 1  # Monday is 0 in Python; Sunday is 1 in AWS cron


def _dom_matches(spec: DaySpec, day: date) -> bool:
    last_day = calendar.monthrange(day.year, day.month)[1]
    return day.day in spec.values or (spec.last and day.day == last_day)


def _dow_matches(spec: DaySpec, day: date) -> bool:
    weekday = _aws_weekday(day)
    if weekday in spec.values or (spec.last and weekday == 7):
        return True
    last_day = calendar.monthrange(day.year, day.month)[1]
    if weekday in spec.last_weekdays and day.day + 7 > last_day:
        return True
    return (weekday, (day.day - 1) // 7 + 1) in spec.nth
