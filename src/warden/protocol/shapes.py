"""Compiled shape plans: botocore shapes turned into small, fast, cycle-safe nodes.

Parsers and serializers never walk botocore ``Shape`` objects on the hot path:
each shape is compiled once into a ``Node`` (what the shape *is*: type, members,
constraints) and each reference to it into a ``Ref`` (how the referrer names and
places it: locationName, queryName, location, flattened, timestampFormat,
sensitive). botocore merges member traits over the target shape, so the same
shape can be named differently by different referrers; that is why naming lives
on ``Ref`` and the ``Node`` cache is keyed by shape name only.

Invariants: a ``ShapePlans`` compiles under its lock and publishes an operation's
plan only once it is complete, so readers never see a half-built node; nodes are
never mutated after publication. Recursive shapes compile to cyclic node graphs.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Kind(Enum):
    STRUCTURE = "structure"
    LIST = "list"
    MAP = "map"
    STRING = "string"
    INTEGER = "integer"
    LONG = "long"
    FLOAT = "float"
    DOUBLE = "double"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"
    BLOB = "blob"
    DOCUMENT = "document"


@dataclass(slots=True, eq=False)
class Node:
    """One shape of the model. Filled once while compiling, read-only afterwards."""

    name: str
    kind: Kind
    members: tuple[Ref, ...] = ()
    by_name: dict[str, Ref] = field(default_factory=dict)  # member name -> ref
    by_wire: dict[str, Ref] = field(default_factory=dict)  # JSON key / XML element -> ref
    by_query: dict[str, Ref] = field(default_factory=dict)  # query form key component -> ref
    by_ec2: dict[str, Ref] = field(default_factory=dict)  # ec2 form key component -> ref
    required: tuple[str, ...] = ()
    member: Ref | None = None  # list element
    key: Ref | None = None  # map key
    value: Ref | None = None  # map value
    min: float | None = None
    sensitive: bool = False
    union: bool = False
    payload: str | None = None  # structure: the member that is the whole HTTP body
    message_member: Ref | None = None  # exception shapes: the "message" member, if any
    error_code: str | None = None  # exception shapes: modelled wire code
    error_status: int | None = None
    sender_fault: bool | None = None
    fault: bool = False  # exception shape marked as a server fault
    # Whether anything at or below has required/min; memoised by validation.py
    # (an idempotent write, so concurrent readers at worst compute it twice).
    checked: bool | None = None


@dataclass(slots=True, eq=False)
class Ref:
    """A reference to a node, with the referrer's naming and placement traits."""

    name: str  # member name ("member", "key", "value" for list/map elements)
    node: Node
    wire: str  # locationName, else the member name
    location_name: str | None
    query_name: str | None
    location: str | None  # uri | querystring | header | headers | statusCode
    flattened: bool
    timestamp_format: str | None
    sensitive: bool  # the ref or its target shape is marked sensitive
    idempotency: bool
    jsonvalue: bool

    @property
    def ec2_name(self) -> str:
        """The ec2 protocol's input name: queryName, else capitalised locationName."""
        if self.query_name:
            return self.query_name
        if self.location_name:
            return self.location_name[0].upper() + self.location_name[1:]
        return self.name


@dataclass(frozen=True, slots=True)
class OperationPlan:
    name: str
    input: Node | None
    output: Node | None
    result_wrapper: str | None
    method: str
    request_uri: str
    response_code: int
    unsigned: bool


class ShapePlans:
    """Lazily compiled, thread-safe plans for one service model.

    ``raw_shapes`` is the model's ``shapes`` section as loaded: botocore's Shape
    does not expose every trait (``fault``, which marks server-side exceptions).
    """

    def __init__(self, model: Any, raw_shapes: Mapping[str, Mapping[str, Any]]) -> None:
        self._model = model
        self._raw = raw_shapes
        self._operation_names = frozenset(model.operation_names)
        self.has_exceptions = bool(model.error_shapes)
        self._nodes: dict[str, Node] = {}
        self._ops: dict[str, OperationPlan] = {}
        self._errors: dict[str, Node | None] = {}
        self._lock = threading.Lock()

    def operation(self, name: str) -> OperationPlan:
        """The plan of an operation of the model; KeyError for an unknown name."""
        plan = self._ops.get(name)
        if plan is not None:
            return plan
        if name not in self._operation_names:
            raise KeyError(name)
        with self._lock:
            plan = self._ops.get(name)
            if plan is None:
                plan = self._compile_operation(name)
                self._ops[name] = plan
        return plan

    def exception(self, shape_name: str) -> Node | None:
        """The compiled exception shape of that name, or None if the model has none."""
        if shape_name in self._errors:
            return self._errors[shape_name]
        with self._lock:
            node: Node | None = None
            if shape_name in self._raw:
                shape = self._model.shape_for(shape_name)
                if shape.metadata.get("exception"):
                    node = self._compile(shape)
            self._errors[shape_name] = node
        return node

    def _compile_operation(self, name: str) -> OperationPlan:
        op = self._model.operation_model(name)
        out_shape = op.output_shape
        return OperationPlan(
            name=name,
            input=self._compile(op.input_shape) if op.input_shape is not None else None,
            output=self._compile(out_shape) if out_shape is not None else None,
            result_wrapper=(
                out_shape.serialization.get("resultWrapper") if out_shape is not None else None
            ),
            method=op.http.get("method", "POST"),
            request_uri=op.http.get("requestUri", "/"),
            response_code=int(op.http.get("responseCode", 200)),
            unsigned=is_unsigned(op),
        )

    def _compile(self, shape: Any) -> Node:
        node = self._nodes.get(shape.name)
        if node is not None:
            return node
        # The shape's own traits, never those a referring member merged over it.
        raw = self._raw.get(shape.name, {})
        kind = Kind(shape.type_name)
        if kind is Kind.STRUCTURE and raw.get("document"):
            kind = Kind.DOCUMENT
        node = Node(name=shape.name, kind=kind)
        # Published before the members are compiled, so recursive shapes terminate.
        self._nodes[shape.name] = node
        node.min = raw.get("min")
        node.sensitive = bool(raw.get("sensitive"))
        if kind is Kind.STRUCTURE:
            self._fill_structure(node, shape)
        elif kind is Kind.LIST:
            node.member = self._ref("member", shape.member)
        elif kind is Kind.MAP:
            node.key = self._ref("key", shape.key)
            node.value = self._ref("value", shape.value)
        return node

    def _fill_structure(self, node: Node, shape: Any) -> None:
        raw = self._raw.get(shape.name, {})
        refs = tuple(self._ref(name, member) for name, member in shape.members.items())
        node.members = refs
        node.by_name = {r.name: r for r in refs}
        node.by_wire = {r.wire: r for r in refs if r.location is None}
        node.by_query = {_query_key(r): r for r in refs}
        node.by_ec2 = {r.ec2_name: r for r in refs}
        node.required = tuple(raw.get("required", ()))
        node.union = bool(raw.get("union"))
        node.payload = raw.get("payload")
        if raw.get("exception"):
            error = raw.get("error") or {}
            node.error_code = error.get("code")
            node.error_status = error.get("httpStatusCode")
            node.sender_fault = error.get("senderFault")
            node.fault = bool(raw.get("fault"))
            node.message_member = next(
                (r for r in refs if r.name.lower() == "message" and r.location is None), None
            )

    def _ref(self, name: str, shape: Any) -> Ref:
        ser = shape.serialization
        loc_name = ser.get("name")
        return Ref(
            name=name,
            node=self._compile(shape),
            wire=loc_name or name,
            location_name=loc_name,
            query_name=ser.get("queryName"),
            location=ser.get("location"),
            flattened=bool(ser.get("flattened")),
            timestamp_format=ser.get("timestampFormat"),
            sensitive=bool(shape.metadata.get("sensitive")),
            idempotency=bool(shape.metadata.get("idempotencyToken")),
            jsonvalue=bool(ser.get("jsonvalue")),
        )


def _query_key(ref: Ref) -> str:
    """The form-key component of a member in the query protocol.

    botocore's quirk: a flattened list whose element has a locationName replaces
    the member's own name with the element's name.
    """
    if ref.node.kind is Kind.LIST and ref.flattened:
        member = ref.node.member
        if member is not None and member.location_name:
            return member.location_name
    return ref.wire


def is_unsigned(op: Any) -> bool:
    """Whether botocore sends the operation without a signature (sts web identity)."""
    return op.auth_type == "none" or "smithy.api#noAuth" in (op.auth or ())
