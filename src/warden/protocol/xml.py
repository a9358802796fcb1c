"""XML output for the query and ec2 protocols: a shape-driven writer into a list of strings.

Element names are the member's locationName, else its name. A list is
``<Name><member>…</member></Name>`` (the element's locationName instead of
``member``), a flattened list repeats the element with no wrapper; a map is
``<Name><entry><key/><value/></entry></Name>``. Scalars: booleans ``true``/``false``,
timestamps ISO 8601 with milliseconds and ``Z``, blobs base64.

Invariants: only members of the shape are written (unknown keys raise ``KeyError``
when strict, are skipped otherwise); ``None`` means absent; text is escaped,
``\\r`` is kept as a character reference (XML parsers would turn it into ``\\n``),
and characters XML 1.0 cannot carry become U+FFFD, so the output always parses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from warden.protocol import scalars
from warden.protocol.shapes import Kind, Node, Ref

_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"}


def _entity(found: re.Match[str]) -> str:
    return _ENTITIES.get(found.group(), "\ufffd")


def escape(text: str) -> str:
    if _SPECIAL.search(text) is None:
        return text
    return _SPECIAL.sub(_entity, text)


def _int_text(value: Any) -> str:
    if type(value) is not int:
        raise TypeError(f"expected an int, got {type(value).__name__}")
    return str(value)


def _scalar_text(ref: Ref, value: Any) -> str:
    kind = ref.node.kind
    if kind is Kind.STRING:
        if not isinstance(value, str):
            raise TypeError(f"{ref.name}: expected a str, got {type(value).__name__}")
        return escape(value)
    if kind is Kind.INTEGER or kind is Kind.LONG:
        return _int_text(value)
    if kind is Kind.BOOLEAN:
        if type(value) is not bool:
            raise TypeError(f"{ref.name}: expected a bool, got {type(value).__name__}")
        return "true" if value else "false"
    if kind is Kind.FLOAT or kind is Kind.DOUBLE:
        return scalars.float_text(value)
    if kind is Kind.TIMESTAMP:
        return scalars.format_iso(value)
    if kind is Kind.BLOB:
        return scalars.b64(value)
    raise TypeError(f"{ref.name}: {kind.value} cannot be written as XML")


class XmlWriter:
    def __init__(self, *, strict: bool) -> None:
        self._strict = strict

    def members(self, node: Node, value: Mapping[str, Any], out: list[str]) -> None:
        by_name = node.by_name
        for name, item in value.items():
            if item is None:
                continue
            ref = by_name.get(name)
            if ref is None:
                if self._strict:
                    raise KeyError(f"{node.name} has no member {name!r}")
                continue
            if ref.location is not None:
                continue  # header/status members of rest protocols never reach XML
            if ref.flattened and ref.node.kind is Kind.LIST:
                member = ref.node.member
                if member is not None:
                    tag = member.location_name or ref.wire
                    for element in item:
                        self.value(member, element, tag, out)
                continue
            if ref.flattened and ref.node.kind is Kind.MAP:
                self._map_entries(ref.node, item, ref.wire, out)
                continue
            self.value(ref, item, ref.wire, out)

    def value(self, ref: Ref, value: Any, tag: str, out: list[str]) -> None:
        node = ref.node
        kind = node.kind
        if kind is Kind.STRUCTURE:
            if not isinstance(value, Mapping):
                raise TypeError(f"{ref.name}: expected a mapping, got {type(value).__name__}")
            out.append(f"<{tag}>")
            self.members(node, value, out)
            out.append(f"</{tag}>")
        elif kind is Kind.LIST:
            if isinstance(value, str | bytes | Mapping):
                raise TypeError(f"{ref.name}: expected a list, got {type(value).__name__}")
            member = node.member
            out.append(f"<{tag}>")
            if member is not None:
                inner = member.wire
                for element in value:
                    if element is not None:
                        self.value(member, element, inner, out)
            out.append(f"</{tag}>")
        elif kind is Kind.MAP:
            out.append(f"<{tag}>")
            self._map_entries(node, value, "entry", out)
            out.append(f"</{tag}>")
        else:
            out.append(f"<{tag}>{_scalar_text(ref, value)}</{tag}>")

    def _map_entries(self, node: Node, value: Any, tag: str, out: list[str]) -> None:
        if not isinstance(value, Mapping):
            raise TypeError(f"{node.name}: expected a mapping, got {type(value).__name__}")
        key_ref, value_ref = node.key, node.value
        if key_ref is None or value_ref is None:
            return
        for key, item in value.items():
            if item is None:
                continue
            out.append(f"<{tag}>")
            self.value(key_ref, key, key_ref.wire, out)
            self.value(value_ref, item, value_ref.wire, out)
            out.append(f"</{tag}>")
