"""JSON bodies driven by shapes, and the JSON 1.1 protocol (Secrets Manager, KMS, CloudTrail).

``JsonReader`` and ``JsonWriter`` are shared with rest-json: keys are the
serialization names (locationName, else member name); timestamps are epoch
seconds unless the member says otherwise; blobs base64; non-finite doubles the
strings ``Infinity``/``-Infinity``/``NaN`` as botocore writes them.

JSON 1.1 request: ``POST /`` with ``X-Amz-Target: {targetPrefix}.{Operation}`` and
the input as a JSON object. Response: the output object,
``application/x-amz-json-1.1``, ``x-amzn-RequestId``. Error: ``{"__type": code,
"message": …, …modelled members}`` plus ``x-amzn-ErrorType``.

Input invariants: the body must be UTF-8 JSON whose top level is an object;
values of the wrong JSON type, lone surrogates, bad base64 and out-of-range
numbers are ``SerializationException``; unknown keys and nulls are ignored as
AWS does; nesting deeper than ``MAX_DEPTH`` along the shape is refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from warden.core.errors import AwsError
from warden.protocol import scalars
from warden.protocol.errors import ErrorStyle, Resolved, style_for
from warden.protocol.shapes import Kind, Node, OperationPlan, Ref
from warden.protocol.specs import ServiceSpec
from warden.protocol.wire import WireRequest, WireResponse

MAX_DEPTH = 32


def decode_body(body: bytes, style: ErrorStyle) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        value = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        raise style.malformed(message="The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise style.malformed(message="The request body must be a JSON object.")
    return value


class JsonReader:
    def __init__(self, style: ErrorStyle) -> None:
        self._style = style

    def structure(self, node: Node, raw: Any, depth: int = 0) -> dict[str, Any]:
        if depth > MAX_DEPTH:
            raise self._style.malformed(message="The request is nested too deeply.")
        if not isinstance(raw, dict):
            raise self._bad(node.name, "expected an object")
        out: dict[str, Any] = {}
        by_wire = node.by_wire
        for key, value in raw.items():
            ref = by_wire.get(key)
            if ref is not None and value is not None:
                out[ref.name] = self._read(ref, value, depth + 1)
        return out

    def _read(self, ref: Ref, raw: Any, depth: int) -> Any:
        node = ref.node
        kind = node.kind
        if kind is Kind.STRUCTURE:
            return self.structure(node, raw, depth)
        if kind is Kind.LIST:
            member = node.member
            if not isinstance(raw, list) or member is None:
                raise self._bad(ref.name, "expected a list")
            return [self._read(member, item, depth + 1) for item in raw if item is not None]
        if kind is Kind.MAP:
            key_ref, value_ref = node.key, node.value
            if not isinstance(raw, dict) or key_ref is None or value_ref is None:
                raise self._bad(ref.name, "expected an object")
            return {
                self._scalar(key_ref, k): self._read(value_ref, v, depth + 1)
                for k, v in raw.items()
                if v is not None
            }
        if kind is Kind.DOCUMENT:
            return raw
        return self._scalar(ref, raw)

    def _scalar(self, ref: Ref, raw: Any) -> Any:
        kind = ref.node.kind
        try:
            if kind is Kind.STRING:
                if isinstance(raw, str):
                    return scalars.check_text(raw)
                raise ValueError("expected a string")
            if kind is Kind.INTEGER:
                return scalars.check_int(raw)
            if kind is Kind.LONG:
                return scalars.check_int(raw, bits=64)
            if kind is Kind.BOOLEAN:
                if type(raw) is bool:
                    return raw
                raise ValueError("expected a boolean")
            if kind is Kind.FLOAT or kind is Kind.DOUBLE:
                return scalars.check_float(raw)
            if kind is Kind.TIMESTAMP:
                return scalars.check_timestamp(raw, ref.timestamp_format)
            if kind is Kind.BLOB:
                if isinstance(raw, str):
                    return scalars.parse_blob(raw)
                raise ValueError("expected a base64 string")
        except ValueError as exc:
            raise self._bad(ref.name, str(exc)) from None
        raise self._bad(ref.name, "unsupported type")

    def _bad(self, name: str, reason: str) -> AwsError:
        return self._style.bad_value(message=f"Invalid value for {name}: {reason}")


class JsonWriter:
    """Handler output to JSON-ready values; only body members (no ``location``)."""

    def __init__(self, *, strict: bool) -> None:
        self._strict = strict

    def structure(self, node: Node, value: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise TypeError(f"{node.name}: expected a mapping, got {type(value).__name__}")
        out: dict[str, Any] = {}
        by_name = node.by_name
        for name, item in value.items():
            if item is None:
                continue
            ref = by_name.get(name)
            if ref is None:
                if self._strict:
                    raise KeyError(f"{node.name} has no member {name!r}")
                continue
            if ref.location is None:
                out[ref.wire] = self.value(ref, item)
        return out

    def value(self, ref: Ref, item: Any) -> Any:
        node = ref.node
        kind = node.kind
        if kind is Kind.STRUCTURE:
            return self.structure(node, item)
        if kind is Kind.LIST:
            member = node.member
            if member is None or isinstance(item, str | bytes | Mapping):
                raise TypeError(f"{ref.name}: expected a list, got {type(item).__name__}")
            return [self.value(member, element) for element in item if element is not None]
        if kind is Kind.MAP:
            value_ref = node.value
            if value_ref is None or not isinstance(item, Mapping):
                raise TypeError(f"{ref.name}: expected a mapping, got {type(item).__name__}")
            return {str(k): self.value(value_ref, v) for k, v in item.items() if v is not None}
        return self.scalar(ref, item)

    def scalar(self, ref: Ref, item: Any) -> Any:
        kind = ref.node.kind
        if kind is Kind.STRING:
            if not isinstance(item, str):
                raise TypeError(f"{ref.name}: expected a str, got {type(item).__name__}")
            return item
        if kind is Kind.INTEGER or kind is Kind.LONG:
            if type(item) is not int:
                raise TypeError(f"{ref.name}: expected an int, got {type(item).__name__}")
            return item
        if kind is Kind.BOOLEAN:
            if type(item) is not bool:
                raise TypeError(f"{ref.name}: expected a bool, got {type(item).__name__}")
            return item
        if kind is Kind.FLOAT or kind is Kind.DOUBLE:
            return scalars.format_float(item)
        if kind is Kind.TIMESTAMP:
            return scalars.format_timestamp(item, ref.timestamp_format, "unixtimestamp")
        if kind is Kind.BLOB:
            return scalars.b64(item)
        return item  # document: any JSON value, as given


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode("ascii")


def error_body(resolved: Resolved, writer: JsonWriter) -> dict[str, Any]:
    """``{"__type", message, …modelled members}``: the message under the shape's own key."""
    node = resolved.node
    fields = writer.structure(node, resolved.fields) if node is not None and resolved.fields else {}
    member = node.message_member if node is not None else None
    key = member.wire if member is not None else "message"
    body: dict[str, Any] = {"__type": resolved.code}
    if key not in fields:
        body[key] = resolved.message
    body.update(fields)
    body["__type"] = resolved.code  # botocore reads the code from here: never overridden
    return body


class JsonProtocol:
    name = "json"

    def __init__(self, *, strict: bool) -> None:
        self.style = style_for(self.name)
        self._reader = JsonReader(self.style)
        self._writer = JsonWriter(strict=strict)
        self._strict = strict

    def parse(self, spec: ServiceSpec, req: WireRequest) -> tuple[str, dict[str, Any]]:
        target = req.header("x-amz-target") or ""
        prefix, _, operation = target.rpartition(".")
        if prefix != spec.target_prefix or operation not in spec.operation_names:
            raise self.style.unknown_operation(
                message=f"The operation {target[:128]!r} is not valid for this service."
            )
        body = decode_body(req.body, self.style)
        plan = spec.plans.operation(operation)
        params = self._reader.structure(plan.input, body) if plan.input is not None else {}
        return operation, params

    def serialize(
        self, spec: ServiceSpec, plan: OperationPlan, output: Mapping[str, Any], request_id: str
    ) -> WireResponse:
        if plan.output is not None:
            body = self._writer.structure(plan.output, output)
        elif output and self._strict:
            raise KeyError(f"{plan.name} has no output members")
        else:
            body = {}
        return self._response(spec, 200, body, request_id, ())

    def error(self, spec: ServiceSpec | None, resolved: Resolved, request_id: str) -> WireResponse:
        body = error_body(resolved, self._writer)
        extra = (("x-amzn-errortype", resolved.code),)
        return self._response(spec, resolved.status, body, request_id, extra)

    def _response(
        self,
        spec: ServiceSpec | None,
        status: int,
        body: dict[str, Any],
        request_id: str,
        extra: tuple[tuple[str, str], ...],
    ) -> WireResponse:
        version = (spec.model.metadata.get("jsonVersion") if spec else None) or "1.1"
        headers = (
            ("content-type", f"application/x-amz-json-{version}"),
            ("x-amzn-requestid", request_id),
            *extra,
        )
        return WireResponse(status=status, headers=headers, body=dumps(body))
