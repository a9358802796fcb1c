"""The ec2 protocol: the query protocol with EC2's differences.

* Input names: ``queryName``, else the locationName with its first letter
  capitalised, else the member name; every list is ``Name.N`` (no ``member``).
* Response root ``<{Op}Response xmlns=…>`` with ``<requestId>`` first and the
  members directly under it (EC2 output shapes have no resultWrapper).
* Errors: ``<Response><Errors><Error><Code/><Message/></Error></Errors>
  <RequestID/></Response>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warden.protocol.errors import Resolved
from warden.protocol.query import QueryProtocol
from warden.protocol.shapes import OperationPlan
from warden.protocol.specs import ServiceSpec
from warden.protocol.wire import WireResponse
from warden.protocol.xml import escape


class Ec2Protocol(QueryProtocol):
    name = "ec2"
    content_type = "text/xml;charset=UTF-8"

    def _body(
        self, plan: OperationPlan, output: Mapping[str, Any], request_id: str, out: list[str]
    ) -> None:
        out.append(f"<requestId>{escape(request_id)}</requestId>")
        if plan.output is not None:
            self._writer.members(plan.output, output, out)
        elif output and self._strict:
            raise KeyError(f"{plan.name} has no output members")

    def error(self, spec: ServiceSpec | None, resolved: Resolved, request_id: str) -> WireResponse:
        out = ["<Response><Errors><Error>"]
        self._error_detail(resolved, out)
        out.append(f"</Error></Errors><RequestID>{escape(request_id)}</RequestID></Response>")
        return self._response(resolved.status, out, request_id)
