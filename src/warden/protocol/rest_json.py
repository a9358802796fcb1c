"""The rest-json protocol (GuardDuty, Security Hub): routes, locations, JSON bodies.

Input: the operation comes from the ``RestRouter``; each input member's
``location`` says where its value is: ``uri`` (a path label), ``querystring``
(a scalar, a list of repeated keys, or a map of all remaining keys), ``header``
(timestamps RFC 822 by default, lists comma-separated), ``headers`` (a prefix
map); everything else is in the JSON body, or is the body when the shape names
a ``payload`` member. Output: status ``http.responseCode`` (or a ``statusCode``
member), ``header`` members as headers, the rest as a JSON body (none for 204).
Errors: status from the model, ``x-amzn-ErrorType``, and ``{"message", …}``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

from warden.protocol import scalars
from warden.protocol.awsjson import JsonReader, JsonWriter, decode_body, dumps, error_body
from warden.protocol.errors import Resolved, style_for
from warden.protocol.form import decode_pairs, text_scalar
from warden.protocol.routing import RouteMatch
from warden.protocol.shapes import Kind, Node, OperationPlan, Ref
from warden.protocol.specs import ServiceSpec
from warden.protocol.wire import WireRequest, WireResponse

_UNSAFE_HEADER = str.maketrans({"\r": " ", "\n": " ", "\x00": " "})


class RestJsonProtocol:
    name = "rest-json"

    def __init__(self, *, strict: bool) -> None:
        self.style = style_for(self.name)
        self._reader = JsonReader(self.style)
        self._writer = JsonWriter(strict=strict)
        self._strict = strict

    # --- input ------------------------------------------------------------------
    def parse(self, spec: ServiceSpec, req: WireRequest) -> tuple[str, dict[str, Any]]:
        try:
            query = decode_pairs(req.query_string)
        except ValueError:
            raise self.style.malformed(message="The query string is malformed.") from None
        router = spec.router
        try:
            if not req.raw_path.isascii():
                raise ValueError("a request path must be ASCII")
            found = router.match(req.method, req.raw_path, query) if router else None
        except ValueError:
            raise self.style.malformed(message="The request path is malformed.") from None
        if found is None:
            raise self.style.unknown_operation(
                message=f"No operation matches {req.method[:16]} {req.raw_path[:256]}."
            )
        plan = spec.plans.operation(found.operation)
        node = plan.input
        if node is None:
            return found.operation, {}
        params = self._located(node, req, query, found)
        if node.payload is not None:
            payload = node.by_name[node.payload]
            value = self._payload(payload, req.body)
            if value is not None:
                params[payload.name] = value
        elif node.by_wire:
            params.update(self._reader.structure(node, decode_body(req.body, self.style)))
        return found.operation, params

    def _located(
        self, node: Node, req: WireRequest, query: Sequence[tuple[str, str]], found: RouteMatch
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        bound = {ref.wire for ref in node.members if ref.location == "querystring"}
        for ref in node.members:
            location = ref.location
            if location is None:
                continue
            value: Any = None
            if location == "uri":
                text = found.labels.get(ref.wire)
                value = None if text is None else self._text(ref, text)
            elif location == "querystring":
                value = self._query_member(ref, query, bound)
            elif location == "header":
                text = req.header(ref.wire.lower())
                value = None if text is None else self._header(ref, text)
            elif location == "headers":
                prefix = ref.wire.lower()
                value = {k[len(prefix) :]: v for k, v in req.headers if k.startswith(prefix)}
            if value is not None:
                out[ref.name] = value
        return out

    def _query_member(self, ref: Ref, query: Sequence[tuple[str, str]], bound: set[str]) -> Any:
        kind = ref.node.kind
        if kind is Kind.MAP:
            value_ref = ref.node.value
            pairs = [(k, v) for k, v in query if k not in bound]
            if not pairs or value_ref is None:
                return None
            if value_ref.node.kind is Kind.LIST:
                grouped: dict[str, list[str]] = {}
                for k, v in pairs:
                    grouped.setdefault(k, []).append(v)
                return grouped
            return dict(reversed(pairs))
        values = [v for k, v in query if k == ref.wire]
        if not values:
            return None
        if kind is Kind.LIST:
            member = ref.node.member
            return [self._text(member, v) for v in values] if member is not None else None
        return self._text(ref, values[0])

    def _header(self, ref: Ref, text: str) -> Any:
        kind = ref.node.kind
        if kind is Kind.LIST:
            member = ref.node.member
            parts = [p.strip() for p in text.split(",") if p.strip()]
            return [self._text(member, p) for p in parts] if member is not None else None
        if kind is Kind.STRING and ref.jsonvalue:
            try:
                return json.loads(base64.b64decode(text, validate=True))
            except (ValueError, binascii.Error, RecursionError):
                raise self.style.bad_value(message=f"Invalid value for {ref.name}.") from None
        return self._text(ref, text)

    def _text(self, ref: Ref, text: str) -> Any:
        return text_scalar(ref, text, self.style)

    def _payload(self, ref: Ref, body: bytes) -> Any:
        kind = ref.node.kind
        if kind is Kind.BLOB:
            return body
        if kind is Kind.STRING:
            try:
                return body.decode("utf-8")
            except UnicodeDecodeError:
                raise self.style.malformed(message="The body is not UTF-8.") from None
        if not body.strip():
            return None
        return self._reader.structure(ref.node, decode_body(body, self.style))

    # --- output -----------------------------------------------------------------
    def serialize(
        self, spec: ServiceSpec, plan: OperationPlan, output: Mapping[str, Any], request_id: str
    ) -> WireResponse:
        if plan.output is None:
            if output and self._strict:
                raise KeyError(f"{plan.name} has no output members")
            return self._response(plan.response_code, [], {}, request_id)
        return self._emit(plan.output, output, plan.response_code, request_id)

    def error(self, spec: ServiceSpec | None, resolved: Resolved, request_id: str) -> WireResponse:
        body = error_body(resolved, self._writer)
        headers = [("x-amzn-errortype", resolved.code)]
        if resolved.node is not None:
            headers.extend(self._headers(resolved.node, resolved.fields))
        return self._response(resolved.status, headers, body, request_id)

    def _emit(
        self,
        node: Node,
        output: Mapping[str, Any],
        status: int,
        request_id: str,
    ) -> WireResponse:
        headers = self._headers(node, output)
        for ref in node.members:
            if ref.location == "statusCode" and output.get(ref.name) is not None:
                status = int(output[ref.name])
        if node.payload is not None:
            ref = node.by_name[node.payload]
            raw = self._payload_out(ref, output.get(ref.name))
            return self._response(status, headers, raw, request_id)
        return self._response(status, headers, self._writer.structure(node, output), request_id)

    def _headers(self, node: Node, values: Mapping[str, Any]) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for ref in node.members:
            item = values.get(ref.name)
            if item is None:
                continue
            if ref.location == "header":
                out.append((ref.wire.lower(), _header_text(ref, item)))
            elif ref.location == "headers":
                prefix = ref.wire.lower()
                out.extend((prefix + str(k).lower(), _clean(str(v))) for k, v in item.items())
        return out

    def _payload_out(self, ref: Ref, value: Any) -> bytes | dict[str, Any]:
        if value is None:
            return b""
        if ref.node.kind in (Kind.BLOB, Kind.STRING):
            return scalars.to_bytes(value)
        return self._writer.structure(ref.node, value)

    def _response(
        self,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes | dict[str, Any],
        request_id: str,
    ) -> WireResponse:
        raw = body if isinstance(body, bytes) else dumps(body)
        if status == 204:
            raw = b""  # HTTP forbids a body with 204
        head = [("content-type", "application/json"), ("x-amzn-requestid", request_id)]
        return WireResponse(status=status, headers=(*head, *headers), body=raw)


def _clean(text: str) -> str:
    return text.translate(_UNSAFE_HEADER)


def _header_text(ref: Ref, item: Any) -> str:
    kind = ref.node.kind
    if kind is Kind.TIMESTAMP:
        return str(scalars.format_timestamp(item, ref.timestamp_format, "rfc822"))
    if kind is Kind.BOOLEAN:
        return "true" if item else "false"
    if kind is Kind.LIST and ref.node.member is not None:
        member = ref.node.member
        return ",".join(_header_text(member, element) for element in item)
    if kind is Kind.STRING and ref.jsonvalue:
        return base64.b64encode(dumps(item)).decode("ascii")
    if kind is Kind.BLOB:
        return scalars.b64(item)
    if kind is Kind.FLOAT or kind is Kind.DOUBLE:
        return scalars.float_text(item)
    return _clean(str(item))
