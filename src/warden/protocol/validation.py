"""The input checks botocore's own client makes: ``required`` members and ``min``.

Deliberately light (protocol.md pitfall 3): a client built from a slightly
different model must still work, so nothing beyond what botocore's
``ParamValidator`` rejects is checked here (no max, enum or pattern: those are
the handlers' business where AWS enforces them). Values are not echoed in the
messages, so a too-short password never ends up in an error or a log.

The walk skips every member whose shape (and everything below it) has nothing to
check, and builds the member path of a violation only when there is one.
"""

from __future__ import annotations

from typing import Any

from warden.core.errors import AwsError
from warden.protocol.errors import ErrorStyle
from warden.protocol.shapes import Kind, Node, Ref

_SIZED = (Kind.STRING, Kind.LIST)
_NUMBERS = (Kind.INTEGER, Kind.LONG, Kind.FLOAT, Kind.DOUBLE)


class _Violation(Exception):
    def __init__(self, name: str, missing: bool, limit: float | None = None, sized: bool = True):
        super().__init__(name)
        self.parts = [name] if name else []
        self.missing = missing
        self.limit = limit
        self.sized = sized


def validate(node: Node, params: dict[str, Any], style: ErrorStyle, json_style: bool) -> None:
    try:
        _structure(node, params)
    except _Violation as violation:
        raise _error(violation, style, json_style) from None


def _error(violation: _Violation, style: ErrorStyle, json_style: bool) -> AwsError:
    parts = reversed(violation.parts)
    if json_style:
        parts = (p[:1].lower() + p[1:] for p in parts)
    path = ".".join(parts)
    if violation.missing:
        if json_style:
            return style.missing_member(
                message=f"1 validation error detected: Value null at '{path}' failed to "
                "satisfy constraint: Member must not be null"
            )
        return style.missing_member(message=f"The request must contain the parameter {path}")
    what = "length" if violation.sized else "value"
    return style.constraint(
        message=f"1 validation error detected: Value at '{path}' failed to satisfy "
        f"constraint: Member must have {what} greater than or equal to {violation.limit}"
    )


def _needs_check(node: Node, seen: frozenset[int] = frozenset()) -> bool:
    """Whether anything at or below ``node`` has ``required`` or ``min`` (memoised on the node)."""
    if node.checked is not None:
        return node.checked
    if id(node) in seen:
        return False  # a cycle: the answer comes from the other members on the way
    seen = seen | {id(node)}
    refs = [r for r in (*node.members, node.member, node.key, node.value) if r is not None]
    result = bool(node.required) or node.min is not None
    result = result or any(_needs_check(r.node, seen) for r in refs)
    if not seen - {id(node)}:
        node.checked = result  # only a root's answer is final: inner ones may miss a cycle
    return result


def _structure(node: Node, value: dict[str, Any]) -> None:
    for name in node.required:
        if value.get(name) is None:
            raise _Violation(name, missing=True)
    by_name = node.by_name
    for name, item in value.items():
        ref = by_name.get(name)
        if ref is not None and _needs_check(ref.node):
            try:
                _value(ref, item)
            except _Violation as violation:
                violation.parts.append(name)
                raise


def _value(ref: Ref, item: Any) -> None:
    node = ref.node
    kind = node.kind
    if node.min is not None:
        if kind in _SIZED and len(item) < node.min:
            raise _Violation("", missing=False, limit=node.min)
        if kind in _NUMBERS and item < node.min:
            raise _Violation("", missing=False, limit=node.min, sized=False)
    if kind is Kind.STRUCTURE:
        _structure(node, item)
    elif kind is Kind.LIST and node.member is not None:
        for index, element in enumerate(item, 1):
            try:
                _value(node.member, element)
            except _Violation as violation:
                violation.parts.append(f"{index}.member")
                raise
    elif kind is Kind.MAP and node.value is not None:
        for element in item.values():
            _value(node.value, element)
