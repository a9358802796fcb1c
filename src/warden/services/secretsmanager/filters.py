"""ListSecrets / BatchGetSecretValue filters and sorting (pure).

Filter keys and matching, as the API reference states them: ``name``, ``tag-key``,
``tag-value``, ``primary-region`` and ``owning-service`` are case-sensitive prefix matches;
``description`` is a case-insensitive prefix match; ``all`` splits the value into words and
matches each word, case-insensitively, as a prefix of a word of any attribute. A value
prefixed with ``!`` negates. Within one filter any positive value may match and no negated
value may; all filters must hold.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from .errors import InvalidParameterException, ValidationException, not_in_enum, too_long
from .model import SecretRecord

KEYS = ["description", "name", "tag-key", "tag-value", "primary-region", "owning-service", "all"]
SORT_BY = ["created-date", "last-accessed-date", "last-changed-date", "name"]
SORT_ORDER = ["asc", "desc"]
_VALUE = re.compile(r"!?[a-zA-Z0-9 :_@/+=.\-!]*")
_WORD_SPLIT = re.compile(r"[\s/_+=.@:\-]+")


def check_filters(filters: Sequence[Mapping[str, Any]] | None) -> None:
    if filters is None:
        return
    if len(filters) > 10:
        raise too_long("filters", 10)
    for index, item in enumerate(filters, start=1):
        key = item.get("Key")
        if key not in KEYS:
            raise not_in_enum(f"filters.{index}.member.key", str(key), KEYS)
        values = item.get("Values")
        if not values:
            raise InvalidParameterException(message=f"Invalid filter values for key: {key}")
        if len(values) > 10:
            raise too_long(f"filters.{index}.member.values", 10)
        for value in values:
            if len(value) > 512:
                raise too_long(f"filters.{index}.member.values.member", 512, value)
            if not _VALUE.fullmatch(value):
                raise ValidationException(
                    message=f"1 validation error detected: Value '{value}' at "
                    f"'filters.{index}.member.values.member' failed to satisfy constraint: "
                    r"Member must satisfy regular expression pattern: "
                    r"^\!?[a-zA-Z0-9 :_@\/\+\=\.\-\!]*$"
                )


def matching(
    records: Iterable[SecretRecord], filters: Sequence[Mapping[str, Any]] | None
) -> list[SecretRecord]:
    check_filters(filters)
    return [r for r in records if all(_holds(r, f) for f in filters or ())]


def _holds(record: SecretRecord, item: Mapping[str, Any]) -> bool:
    match = _MATCHERS[str(item["Key"])]
    positive = [v for v in item["Values"] if not v.startswith("!")]
    negative = [v[1:] for v in item["Values"] if v.startswith("!")]
    if any(match(record, v) for v in negative):
        return False
    return not positive or any(match(record, v) for v in positive)


def _prefix(values: Iterable[str | None], wanted: str, *, fold: bool = False) -> bool:
    if fold:
        wanted = wanted.lower()
    return any(v is not None and (v.lower() if fold else v).startswith(wanted) for v in values)


def _all(record: SecretRecord, wanted: str) -> bool:
    attributes = [
        record.name,
        record.description or "",
        record.region,
        record.owning_service or "",
        *(k for k, _ in record.tags or ()),
        *(v for _, v in record.tags or ()),
    ]
    words = {w.lower() for a in attributes for w in [a, *_WORD_SPLIT.split(a)] if w}
    return all(
        any(word.startswith(term) for word in words) for term in wanted.lower().split() if term
    )


_MATCHERS: dict[str, Callable[[SecretRecord, str], bool]] = {
    "name": lambda r, v: _prefix([r.name], v),
    "description": lambda r, v: _prefix([r.description], v, fold=True),
    "tag-key": lambda r, v: _prefix((k for k, _ in r.tags or ()), v),
    "tag-value": lambda r, v: _prefix((val for _, val in r.tags or ()), v),
    "primary-region": lambda r, v: _prefix([r.region], v),
    "owning-service": lambda r, v: _prefix([r.owning_service], v),
    "all": _all,
}


def sort_secrets(
    records: list[SecretRecord], sort_by: str | None, order: str | None
) -> list[SecretRecord]:
    if sort_by is not None and sort_by not in SORT_BY:
        raise not_in_enum("sortBy", sort_by, SORT_BY)
    if order is not None and order not in SORT_ORDER:
        raise not_in_enum("sortOrder", order, SORT_ORDER)
    descending = order == "desc"
    if sort_by == "name":
        return sorted(records, key=lambda r: (r.name, r.arn), reverse=descending)
    field = {
        "last-accessed-date": "last_accessed_at",
        "last-changed-date": "last_changed_at",
    }.get(sort_by or "", "created_at")
    present = [r for r in records if getattr(r, field) is not None]
    missing = [r for r in records if getattr(r, field) is None]

    def key(record: SecretRecord) -> tuple[datetime, str]:
        return (getattr(record, field), record.arn)

    # Secrets never accessed sort after every accessed one, whichever the order.
    return sorted(present, key=key, reverse=descending) + sorted(missing, key=lambda r: r.arn)
