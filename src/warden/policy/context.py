"""The request context a decision is made for: action, resources, principal, keys.

``keys`` holds the condition context keys (``aws:SourceIp``, ``aws:TagKeys``, …) as
plain Python values; they are normalised once, at construction, into strings the way
IAM compares them: booleans ``"true"``/``"false"``, numbers in decimal, datetimes as
ISO 8601 UTC, bytes as base64. Lookup is case-insensitive. A list value is a
multivalued key (even with one element); an empty list or ``None`` is an absent key.
``aws:PrincipalArn`` and ``aws:PrincipalAccount`` default to the principal fields.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

ContextScalar = str | bool | int | float | datetime | bytes
ContextValue = ContextScalar | Sequence[ContextScalar] | None


@dataclass(frozen=True)
class RequestContext:
    action: str  # "rds:DescribeDBClusters"
    resources: tuple[str, ...] = ("*",)  # ARNs, or ("*",) for actions without resources
    principal_arn: str = ""  # aws:PrincipalArn: the role ARN for assumed roles
    principal_account: str = ""
    keys: Mapping[str, ContextValue] = field(default_factory=dict)
    caller_arn: str = ""  # the session ARN for assumed roles; defaults to principal_arn
    _values: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _multi: frozenset[str] = field(init=False, repr=False, compare=False)
    _converted: dict[tuple[str, object], tuple[object, ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        values: dict[str, tuple[str, ...]] = {}
        multi: set[str] = set()
        for key, raw in self.keys.items():
            name = str(key).lower()
            if type(raw) is str:  # the common case, without the ABC checks below
                values[name] = (raw,)
                multi.discard(name)
                continue
            if isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
                single = _scalar(raw)
                if single is None:
                    values.pop(name, None)
                else:
                    values[name] = (single,)
                multi.discard(name)
                continue
            items = tuple(s for s in (_scalar(v) for v in raw) if s is not None)
            if items:
                values[name] = items
                multi.add(name)
            else:
                values.pop(name, None)
        if self.principal_arn:
            values.setdefault("aws:principalarn", (self.principal_arn,))
        if self.principal_account:
            values.setdefault("aws:principalaccount", (self.principal_account,))
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_multi", frozenset(multi))
        object.__setattr__(self, "_converted", {})

    @property
    def caller(self) -> str:
        return self.caller_arn or self.principal_arn

    def values(self, key: str) -> tuple[str, ...] | None:
        """All values of a context key (``None`` when absent)."""
        return self._values.get(key.lower())

    def single(self, key: str) -> str | None:
        """The value of a single-valued key; ``None`` if absent or multivalued."""
        name = key.lower()
        if name in self._multi:
            return None
        found = self._values.get(name)
        return found[0] if found else None

    def has(self, key: str) -> bool:
        return key.lower() in self._values

    def has_lower(self, lower_key: str) -> bool:
        return lower_key in self._values

    def converted(
        self, lower_key: str, convert: Callable[[str], object]
    ) -> tuple[object, ...] | None:
        """The key's values passed through ``convert`` (memoised per context); ``None``
        if absent. Conditions use it so an IP or date is parsed once per request."""
        memo_key = (lower_key, convert)
        found = self._converted.get(memo_key)
        if found is None:
            raw = self._values.get(lower_key)
            if raw is None:
                return None
            found = tuple(convert(v) for v in raw)
            self._converted[memo_key] = found
        return found


def _scalar(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
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
