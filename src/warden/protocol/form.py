"""Form-encoded input (query and ec2 protocols): decoding, and reading it into an input shape.

The inverse of botocore's ``QuerySerializer`` / ``EC2Serializer``. Fields are
decoded strictly (UTF-8, bounded count) into a tree keyed by the dotted
components of each name, then the input shape is walked over that tree:

* structure members: ``Prefix.Name`` (query: locationName or member name; ec2:
  queryName, else capitalised locationName, else member name);
* lists: query ``Prefix.member.N`` (or the element's locationName instead of
  ``member``), flattened ``Prefix.N``; ec2 always ``Prefix.N``; ``Prefix=`` is ``[]``;
* maps: ``Prefix.entry.N.key`` / ``.value`` (flattened: ``Prefix.N.key``).

Unknown names are ignored, as AWS does. Indices are sorted numerically and need
not be contiguous; a huge index costs nothing. Walking follows the shape, so
recursion is bounded by ``MAX_DEPTH`` even for recursive shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl

from warden.protocol import scalars
from warden.protocol.errors import ErrorStyle
from warden.protocol.shapes import Kind, Node, Ref

MAX_FIELDS = 10_000
MAX_DEPTH = 32
_INDEX_DIGITS = 10


def decode_pairs(raw: bytes | str) -> list[tuple[str, str]]:
    """Form fields in wire order; ValueError for bad UTF-8 or too many fields.

    A ``str`` is a URL query string, which HTTP keeps ASCII (non-ASCII arrives
    percent-encoded); a ``bytes`` body may carry raw UTF-8.
    """
    if isinstance(raw, bytes):
        text = raw.decode("utf-8")
    elif raw.isascii():
        text = raw
    else:
        raise ValueError("a query string must be ASCII")
    if not text:
        return []
    return parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)


class Tree:
    """One dotted component of the field names: its value and its sub-components."""

    __slots__ = ("children", "value")

    def __init__(self) -> None:
        self.value: str | None = None
        self.children: dict[str, Tree] | None = None

    @classmethod
    def of(cls, pairs: Sequence[tuple[str, str]]) -> Tree:
        root = cls()
        for key, value in pairs:
            node = root
            for part in key.split("."):
                children = node.children
                if children is None:
                    children = node.children = {}
                child = children.get(part)
                if child is None:
                    child = children[part] = cls()
                node = child
            if node.value is None:  # the first occurrence of a name wins
                node.value = value
        return root

    def get(self, key: str) -> Tree | None:
        return self.children.get(key) if self.children else None

    def indexed(self) -> list[Tree]:
        """The ``.N`` children in numeric order."""
        if not self.children:
            return []
        found = [
            (int(k), child)
            for k, child in self.children.items()
            if len(k) <= _INDEX_DIGITS and k.isascii() and k.isdigit()
        ]
        found.sort(key=lambda pair: pair[0])
        return [child for _, child in found]


class FormReader:
    """Reads a field tree into the input shape, for the query or the ec2 protocol."""

    def __init__(self, style: ErrorStyle, *, ec2: bool) -> None:
        self._style = style
        self._ec2 = ec2

    def structure(self, node: Node, tree: Tree, depth: int = 0) -> dict[str, Any]:
        if depth > MAX_DEPTH:
            raise self._style.malformed(message="The request is nested too deeply.")
        out: dict[str, Any] = {}
        if not tree.children:
            return out
        index = node.by_ec2 if self._ec2 else node.by_query
        for key, child in tree.children.items():
            ref = index.get(key)
            if ref is not None:
                value = self._read(ref, child, depth + 1)
                if value is not None:
                    out[ref.name] = value
        return out

    def _read(self, ref: Ref, tree: Tree, depth: int) -> Any:
        kind = ref.node.kind
        if kind is Kind.STRUCTURE:
            return self.structure(ref.node, tree, depth) if tree.children else None
        if kind is Kind.LIST:
            return self._list(ref, tree, depth)
        if kind is Kind.MAP:
            return self._map(ref, tree, depth)
        if tree.value is None:
            return None
        return self._scalar(ref, tree.value)

    def _list(self, ref: Ref, tree: Tree, depth: int) -> list[Any] | None:
        member = ref.node.member
        if member is None:
            return None
        if self._ec2 or ref.flattened:
            holder: Tree | None = tree
        else:
            holder = tree.get(member.wire)
        items = holder.indexed() if holder is not None else []
        if not items:
            # "Name=" is how botocore sends an empty list.
            return [] if tree.value is not None else None
        out = []
        for item in items:
            value = self._read(member, item, depth + 1)
            if value is not None:
                out.append(value)
        return out

    def _map(self, ref: Ref, tree: Tree, depth: int) -> dict[Any, Any] | None:
        key_ref, value_ref = ref.node.key, ref.node.value
        if key_ref is None or value_ref is None:
            return None
        holder = tree if ref.flattened else tree.get("entry")
        entries = holder.indexed() if holder is not None else []
        if not entries:
            return {} if tree.value is not None else None
        key_name = key_ref.ec2_name if self._ec2 else key_ref.wire
        value_name = value_ref.ec2_name if self._ec2 else value_ref.wire
        out: dict[Any, Any] = {}
        for entry in entries:
            key_tree, value_tree = entry.get(key_name), entry.get(value_name)
            if key_tree is None or key_tree.value is None or value_tree is None:
                continue
            value = self._read(value_ref, value_tree, depth + 1)
            if value is not None:
                out[self._scalar(key_ref, key_tree.value)] = value
        return out

    def _scalar(self, ref: Ref, text: str) -> Any:
        return text_scalar(ref, text, self._style)


def text_scalar(ref: Ref, text: str, style: ErrorStyle) -> Any:
    """A scalar member from its text form (form field, URI label, query or header)."""
    kind = ref.node.kind
    try:
        if kind is Kind.STRING:
            return text
        if kind is Kind.INTEGER:
            return scalars.parse_int(text)
        if kind is Kind.LONG:
            return scalars.parse_int(text, bits=64)
        if kind is Kind.BOOLEAN:
            return scalars.parse_bool(text)
        if kind is Kind.FLOAT or kind is Kind.DOUBLE:
            return scalars.parse_float(text)
        if kind is Kind.TIMESTAMP:
            return scalars.parse_timestamp(text, ref.timestamp_format)
        if kind is Kind.BLOB:
            return scalars.parse_blob(text)
    except ValueError as exc:
        raise style.bad_value(message=f"Invalid value for parameter {ref.name}: {exc}") from None
    raise style.bad_value(message=f"Parameter {ref.name} cannot be given as text.")
