"""The request context a decision is made for: action, resources, principal, keys.

``keys`` holds the condition context keys (``aws:SourceIp``, ``aws:TagKeys``, …) as
plain Python values (or ``Deferred`` ones, read on first lookup); they are normalised
into strings the way IAM compares them: booleans ``"true"``/``"false"``, numbers in
decimal, datetimes as ISO 8601 UTC, bytes as base64. Lookup is case-insensitive (when
two keys differ only in case, the later one counts). A list value is a multivalued key
(even with one element); an empty list or ``None`` is an absent key.
``aws:PrincipalArn`` and ``aws:PrincipalAccount`` default to the principal fields.

Normalisation happens per key, on its first lookup, not at construction: a decision
over conditionless statements never pays for it, and one over a few conditions pays
for the keys they name. The context is a value (frozen); the normalised keys and the
per-request conversions (parsed IPs, dates) are caches that never change an answer.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

ContextScalar = str | bool | int | float | datetime | bytes
PlainValue = ContextScalar | Sequence[ContextScalar] | None


class Deferred:
    """A key's value that costs a read to know (KMS's ``kms:ResourceAliases`` on every use
    of a key through a service): read on the first lookup of the key (again on the next,
    should that read fail: the condition that asked fails closed), so a decision whose
    conditions never name it never pays for it. A decision's deciding statements are
    worked out when first asked for, so the read may come after ``evaluate`` returns."""

    __slots__ = ("_read",)

    def __init__(self, read: Callable[[], PlainValue]) -> None:
        self._read = read

    def __call__(self) -> PlainValue:
        return self._read()


ContextValue = PlainValue | Deferred

_UNSEEN = object()


class _Table:
    """One context's keys by lower-cased name, each normalised on its first lookup,
    and conversions memoised per request."""

    __slots__ = ("converted", "multi", "raw", "values")

    def __init__(self, keys: Mapping[str, ContextValue], principal_arn: str, account: str) -> None:
        raw: dict[str, ContextValue] = {str(k).lower(): v for k, v in keys.items()}
        if principal_arn:
            raw.setdefault("aws:principalarn", principal_arn)
        if account:
            raw.setdefault("aws:principalaccount", account)
        self.raw = raw
        self.values: dict[str, tuple[str, ...] | None] = {}
        self.multi: set[str] = set()
        self.converted: dict[tuple[str, object], tuple[object, ...]] = {}

    def get(self, name: str) -> tuple[str, ...] | None:
        found = self.values.get(name, _UNSEEN)
        if found is _UNSEEN:
            return self._normalise(name)
        return found  # type: ignore[return-value]  # not _UNSEEN here

    def _normalise(self, name: str) -> tuple[str, ...] | None:
        raw = self.raw.get(name)
        if type(raw) is Deferred:
            raw = raw()
        found: tuple[str, ...] | None
        if type(raw) is str:  # the common case, without the ABC checks below
            found = (raw,)
        elif raw is None or isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
            single = _scalar(raw)
            found = None if single is None else (single,)
        else:
            found = tuple(s for s in (_scalar(v) for v in raw) if s is not None) or None
            if found:
                self.multi.add(name)
        self.values[name] = found
        return found


@dataclass(frozen=True)
class RequestContext:
    action: str  # "rds:DescribeDBClusters"
    resources: tuple[str, ...] = ("*",)  # ARNs, or ("*",) for actions without resources
    principal_arn: str = ""  # aws:PrincipalArn: the role ARN for assumed roles
    principal_account: str = ""
    keys: Mapping[str, ContextValue] = field(default_factory=dict)
    caller_arn: str = ""  # the session ARN for assumed roles; defaults to principal_arn
    _table: _Table | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def caller(self) -> str:
        return self.caller_arn or self.principal_arn

    def _normalised(self) -> _Table:
        table = self._table
        if table is None:
            table = _Table(self.keys, self.principal_arn, self.principal_account)
            object.__setattr__(self, "_table", table)
        return table

    def lookup(self, lower_key: str) -> tuple[str, ...] | None:
        """All values of an already lower-cased key (``None`` when absent)."""
        return (self._table or self._normalised()).get(lower_key)

    def values(self, key: str) -> tuple[str, ...] | None:
        """All values of a context key (``None`` when absent)."""
        return self.lookup(key.lower())

    def single(self, key: str) -> str | None:
        """The value of a single-valued key; ``None`` if absent or multivalued."""
        table = self._table or self._normalised()
        name = key.lower()
        found = table.get(name)
        if not found or name in table.multi:
            return None
        return found[0]

    def has(self, key: str) -> bool:
        return self.lookup(key.lower()) is not None

    def has_lower(self, lower_key: str) -> bool:
        return self.lookup(lower_key) is not None

    def converted(
        self, lower_key: str, convert: Callable[[str], object]
    ) -> tuple[object, ...] | None:
        """The key's values passed through ``convert`` (memoised per context); ``None``
        if absent. Conditions use it so an IP or date is parsed once per request."""
        table = self._table or self._normalised()
        memo_key = (lower_key, convert)
        found = table.converted.get(memo_key)
        if found is None:
            raw = table.get(lower_key)
            if raw is None:
                return None
            found = tuple(convert(v) for v in raw)
            table.converted[memo_key] = found
        return found


def _scalar(value: object) -> str | None:
    if value is None:
        return None
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        when = value if value.tzinfo else value.replace(tzinfo=UTC)
        return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)
