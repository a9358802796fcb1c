"""The query protocol (RDS, IAM, STS): form input, XML output, XML errors.

Request: ``Action`` and ``Version`` plus the input members, form-encoded in the body
of a POST (or in the URL of a GET; both are merged, body first). Response::

    <{Op}Response xmlns="{xmlNamespace}">
      <{resultWrapper}>…members…</{resultWrapper}>
      <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata>
    </{Op}Response>

Error::

    <ErrorResponse xmlns="…"><Error><Type>Sender|Receiver</Type><Code/><Message/>
      …modelled members…</Error><RequestId/></ErrorResponse>

``ec2.py`` subclasses this for the ec2 protocol's differences.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warden.protocol.errors import ErrorStyle, MissingAction, Resolved, style_for
from warden.protocol.form import FormReader, Tree, decode_pairs
from warden.protocol.shapes import OperationPlan
from warden.protocol.specs import ServiceSpec
from warden.protocol.wire import WireRequest, WireResponse
from warden.protocol.xml import XmlWriter, escape

_NOT_MEMBERS = ("Action", "Version")


def form_pairs(req: WireRequest) -> list[tuple[str, str]]:
    """Body fields then URL fields; ValueError when either cannot be decoded."""
    return decode_pairs(req.body) + decode_pairs(req.query_string)


class QueryProtocol:
    name = "query"
    content_type = "text/xml"

    def __init__(self, *, strict: bool) -> None:
        self.style: ErrorStyle = style_for(self.name)
        self._reader = FormReader(self.style, ec2=self.name == "ec2")
        self._writer = XmlWriter(strict=strict)
        self._strict = strict

    def parse(self, spec: ServiceSpec, req: WireRequest) -> tuple[str, dict[str, Any]]:
        try:
            pairs = form_pairs(req)
        except ValueError:
            raise self.style.malformed(message="The query string is malformed.") from None
        tree = Tree.of(pairs)
        action_tree = tree.get("Action")
        action = action_tree.value if action_tree is not None else None
        if not action:
            raise MissingAction(message="The request must contain the parameter Action.")
        if action not in spec.operation_names:
            raise self.style.unknown_operation(
                message=f"The action {action[:128]} is not valid for this web service."
            )
        plan: OperationPlan = spec.plans.operation(action)
        if tree.children:
            for name in _NOT_MEMBERS:
                tree.children.pop(name, None)
        params = self._reader.structure(plan.input, tree) if plan.input is not None else {}
        return action, params

    def serialize(
        self, spec: ServiceSpec, plan: OperationPlan, output: Mapping[str, Any], request_id: str
    ) -> WireResponse:
        out = [f"<{plan.name}Response{_xmlns(spec)}>"]
        self._body(plan, output, request_id, out)
        out.append(f"</{plan.name}Response>")
        return self._response(200, out, request_id)

    def _body(
        self, plan: OperationPlan, output: Mapping[str, Any], request_id: str, out: list[str]
    ) -> None:
        if plan.output is not None:
            wrapper = plan.result_wrapper
            if wrapper:
                out.append(f"<{wrapper}>")
            self._writer.members(plan.output, output, out)
            if wrapper:
                out.append(f"</{wrapper}>")
        elif output and self._strict:
            raise KeyError(f"{plan.name} has no output members")
        out.append(f"<ResponseMetadata><RequestId>{escape(request_id)}</RequestId>")
        out.append("</ResponseMetadata>")

    def error(self, spec: ServiceSpec | None, resolved: Resolved, request_id: str) -> WireResponse:
        kind = "Sender" if resolved.sender_fault else "Receiver"
        out = [f"<ErrorResponse{_xmlns(spec)}><Error><Type>{kind}</Type>"]
        self._error_detail(resolved, out)
        out.append(f"</Error><RequestId>{escape(request_id)}</RequestId></ErrorResponse>")
        return self._response(resolved.status, out, request_id)

    def _error_detail(self, resolved: Resolved, out: list[str]) -> None:
        """``<Code/><Message/>`` and the modelled members of the exception shape."""
        out.append(f"<Code>{escape(resolved.code)}</Code>")
        fields = dict(resolved.fields)
        message = resolved.message
        node = resolved.node
        member = node.message_member if node is not None else None
        if member is not None and member.wire == "Message":
            # The modelled member *is* <Message>: write it once.
            message = fields.pop(member.name, None) or message
        out.append(f"<Message>{escape(message)}</Message>")
        if node is not None and fields:
            self._writer.members(node, fields, out)

    def _response(self, status: int, out: list[str], request_id: str) -> WireResponse:
        headers = (("content-type", self.content_type), ("x-amzn-requestid", request_id))
        return WireResponse(status=status, headers=headers, body="".join(out).encode("utf-8"))


def _xmlns(spec: ServiceSpec | None) -> str:
    namespace = spec.xml_namespace if spec is not None else None
    return f' xmlns="{escape(namespace)}"' if namespace else ""
