"""JSON-safe copies of inputs and outputs with every sensitive value hidden, for the audit trail.

Driven only by the model's ``sensitive`` trait (on a shape or on the reference to
it): such a value, and everything inside it, becomes
``HIDDEN_DUE_TO_SECURITY_REASONS``, as CloudTrail writes it. Never a hand-kept list.
Other values are made JSON-safe: datetimes as ISO 8601 strings, blobs as base64,
non-finite floats as strings. Keys the shape does not know are dropped (they were
never parsed, and may be anything).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from warden.protocol.shapes import Kind, Node, Ref

HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"


def redact(node: Node | None, value: Mapping[str, Any]) -> dict[str, Any]:
    if node is None:
        return {}
    return _structure(node, value)


def _structure(node: Node, value: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, item in value.items():
        ref = node.by_name.get(name)
        if ref is not None and item is not None:
            out[name] = _value(ref, item)
    return out


def _value(ref: Ref, item: Any) -> Any:
    node = ref.node
    if ref.sensitive or node.sensitive:
        return HIDDEN
    kind = node.kind
    if kind is Kind.STRUCTURE and isinstance(item, Mapping):
        return _structure(node, item)
    if kind is Kind.LIST and node.member is not None:
        member = node.member
        return [_value(member, element) for element in item if element is not None]
    if kind is Kind.MAP and node.value is not None:
        value_ref = node.value
        hide_keys = node.key is not None and (node.key.sensitive or node.key.node.sensitive)
        return {
            (HIDDEN if hide_keys else str(k)): _value(value_ref, v)
            for k, v in item.items()
            if v is not None
        }
    return _scalar(item)


def _scalar(item: Any) -> Any:
    if isinstance(item, datetime):
        return item.isoformat()
    if isinstance(item, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(item)).decode("ascii")
    if isinstance(item, float) and not math.isfinite(item):
        return str(item)
    if isinstance(item, str | int | float | bool) or item is None:
        return item
    if isinstance(item, Mapping):
        return {str(k): _scalar(v) for k, v in item.items()}
    if isinstance(item, list | tuple):
        return [_scalar(v) for v in item]
    return str(item)


def sensitive_paths(node: Node | None) -> tuple[str, ...]:
    """Where sensitive values can appear: ``SecretString``, ``Tags[].Value``, ``M{}``."""
    found: list[str] = []
    if node is not None:
        _walk(node, "", found, frozenset())
    return tuple(found)


def _walk(node: Node, prefix: str, found: list[str], seen: frozenset[str]) -> None:
    if node.name in seen:
        return
    seen = seen | {node.name}
    if node.kind is Kind.STRUCTURE:
        for ref in node.members:
            _ref(ref, f"{prefix}.{ref.name}" if prefix else ref.name, found, seen)
    elif node.kind is Kind.LIST and node.member is not None:
        _ref(node.member, f"{prefix}[]", found, seen)
    elif node.kind is Kind.MAP and node.value is not None:
        _ref(node.value, f"{prefix}{{}}", found, seen)


def _ref(ref: Ref, path: str, found: list[str], seen: frozenset[str]) -> None:
    if ref.sensitive or ref.node.sensitive:
        found.append(path)
    else:
        _walk(ref.node, path, found, seen)
