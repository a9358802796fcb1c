"""The input checks botocore's own client makes: ``required`` members and ``min``.

Deliberately light (protocol.md pitfall 3): a client built from a slightly
different model must still work, so nothing beyond what botocore's
``ParamValidator`` rejects is checked here (no max, enum or pattern: those are
the handlers' business where AWS enforces them). Values are not echoed in the
messages, so a too-short password never ends up in an error or a log.
"""

from __future__ import annotations

from typing import Any

from warden.protocol.errors import ErrorStyle
from warden.protocol.shapes import Kind, Node, Ref

_SIZED = (Kind.STRING, Kind.LIST)
_NUMBERS = (Kind.INTEGER, Kind.LONG, Kind.FLOAT, Kind.DOUBLE)


def validate(node: Node, params: dict[str, Any], style: ErrorStyle, json_style: bool) -> None:
    _structure(node, params, style, json_style, "")


def _path(prefix: str, name: str, json_style: bool) -> str:
    if json_style:
        name = name[:1].lower() + name[1:]
    return f"{prefix}.{name}" if prefix else name


def _structure(
    node: Node, value: dict[str, Any], style: ErrorStyle, json_style: bool, prefix: str
) -> None:
    for name in node.required:
        if value.get(name) is None:
            path = _path(prefix, name, json_style)
            if json_style:
                message = (
                    f"1 validation error detected: Value null at '{path}' failed to satisfy "
                    "constraint: Member must not be null"
                )
            else:
                message = f"The request must contain the parameter {path}"
            raise style.missing_member(message=message)
    for name, item in value.items():
        ref = node.by_name.get(name)
        if ref is not None:
            _value(ref, item, style, json_style, _path(prefix, name, json_style))


def _value(ref: Ref, item: Any, style: ErrorStyle, json_style: bool, path: str) -> None:
    node = ref.node
    kind = node.kind
    if node.min is not None:
        if kind in _SIZED and len(item) < node.min:
            raise style.constraint(
                message=f"1 validation error detected: Value at '{path}' failed to satisfy "
                f"constraint: Member must have length greater than or equal to {node.min}"
            )
        if kind in _NUMBERS and item < node.min:
            raise style.constraint(
                message=f"1 validation error detected: Value at '{path}' failed to satisfy "
                f"constraint: Member must have value greater than or equal to {node.min}"
            )
    if kind is Kind.STRUCTURE:
        _structure(node, item, style, json_style, path)
    elif kind is Kind.LIST and node.member is not None:
        for index, element in enumerate(item, 1):
            _value(node.member, element, style, json_style, f"{path}.{index}.member")
    elif kind is Kind.MAP and node.value is not None:
        for element in item.values():
            _value(node.value, element, style, json_style, f"{path}.value")
