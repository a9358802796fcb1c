"""``Wire``: the one facade the server uses to read requests and write responses.

identify → parse → (server: authenticate, authorize, handler) → serialize, or
serialize_error for any ``AwsError``. Everything is driven by the service models
loaded in the ``Registry``; no code here knows any operation.

Invariants: ``identify`` and ``parse`` raise ``AwsError`` and nothing else (in
``strict`` mode, used by the tests, an unexpected exception propagates so that
fuzzing finds it instead of it being masked as a 400); ``serialize_error`` always
produces a response, even for an error whose modelled fields cannot be written.
``strict`` also makes serializers raise ``KeyError`` for output keys the shape
does not have and for ``ServiceError`` shapes the model lacks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any, TypeVar

from warden.core.errors import AwsError
from warden.protocol import redaction
from warden.protocol.awsjson import JsonProtocol
from warden.protocol.ec2 import Ec2Protocol
from warden.protocol.errors import (
    ErrorStyle,
    ServiceError,
    auth_error,
    resolve,
    style_for,
)
from warden.protocol.form import decode_pairs
from warden.protocol.pagination import Paginator
from warden.protocol.query import QueryProtocol
from warden.protocol.rest_json import RestJsonProtocol
from warden.protocol.routing import identify
from warden.protocol.specs import Registry, ServiceSpec
from warden.protocol.validation import validate
from warden.protocol.wire import ParsedCall, WireRequest, WireResponse

T = TypeVar("T")

DEFAULT_MAX_BODY = 8 * 1024 * 1024
_JSON_FAMILY = ("json", "rest-json")


class Wire:
    def __init__(
        self,
        registry: Registry,
        *,
        pagination_key: bytes,
        strict: bool = False,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.registry = registry
        self._strict = strict
        self._max_body = max_body
        self._paginator = Paginator(pagination_key)
        self._protocols: dict[
            str, QueryProtocol | Ec2Protocol | JsonProtocol | RestJsonProtocol
        ] = {
            "query": QueryProtocol(strict=strict),
            "ec2": Ec2Protocol(strict=strict),
            "json": JsonProtocol(strict=strict),
            "rest-json": RestJsonProtocol(strict=strict),
        }

    # --- requests ---------------------------------------------------------------
    def identify(self, req: WireRequest, scope_service: str | None) -> ServiceSpec:
        """The served service of a request; ``scope_service`` is the SigV4 scope's.

        Unsigned requests fall back to the X-Amz-Target prefix, an unsigned
        operation's Action (sts AssumeRoleWithWebIdentity/SAML), the query Version,
        or a REST route only one service knows.
        """
        form: Sequence[tuple[str, str]] = ()
        query: Sequence[tuple[str, str]] = ()
        if scope_service is None:
            form, query = _tolerant_pairs(req.body), _tolerant_pairs(req.query_string)
            form = [*form, *query]
        try:
            return identify(self.registry, req, scope_service, form, query)
        except AwsError:
            raise
        except Exception:
            if self._strict:
                raise
            raise style_for("query").malformed(message="The request is malformed.") from None

    def parse(self, spec: ServiceSpec, req: WireRequest) -> ParsedCall:
        """The operation and its input; an ``AwsError`` for any bad request."""
        style = style_for(spec.protocol)
        if len(req.body) > self._max_body:
            raise style.too_large(message="The request body is too large.")
        try:
            operation, params = self._protocols[spec.protocol].parse(spec, req)
            plan = spec.plans.operation(operation)
            if plan.input is not None:
                validate(plan.input, params, style, spec.protocol in _JSON_FAMILY)
        except AwsError:
            raise
        except Exception:
            if self._strict:
                raise
            raise style.malformed(message="The request could not be parsed.") from None
        return ParsedCall(spec.name, operation, params, spec.protocol)

    # --- responses --------------------------------------------------------------
    def serialize(
        self, spec: ServiceSpec, operation: str, output: Mapping[str, Any], request_id: str
    ) -> WireResponse:
        """The HTTP response for a handler's output (keyed by output member names)."""
        plan = spec.plans.operation(operation)
        return self._protocols[spec.protocol].serialize(spec, plan, output, request_id)

    def serialize_error(
        self, spec: ServiceSpec | None, error: AwsError, request_id: str
    ) -> WireResponse:
        """The error response; ``spec`` None (service unknown) answers query-XML style."""
        protocol = self._protocols[spec.protocol if spec is not None else "query"]
        resolved = resolve(spec.plans if spec is not None else None, error)
        if (
            self._strict
            and isinstance(error, ServiceError)
            and resolved.node is None
            and (spec is None or spec.plans.has_exceptions)
        ):
            # A typo in a handler's shape name; ec2 models no exceptions, so codes are free.
            raise KeyError(f"{spec.name if spec else '?'} has no exception {error.shape!r}")
        try:
            return protocol.error(spec, resolved, request_id)
        except (KeyError, TypeError, ValueError):
            if self._strict:
                raise
            # The modelled fields could not be written: answer without them.
            return protocol.error(spec, dataclasses.replace(resolved, fields={}), request_id)

    def auth_error(self, spec: ServiceSpec | None, kind: Enum | str, message: str) -> AwsError:
        """The protocol's authentication/authorization error (MissingAuthenticationToken…)."""
        return auth_error(spec.protocol if spec is not None else "query", kind, message)

    def error_style(self, spec: ServiceSpec | None) -> ErrorStyle:
        """The common error classes this service's protocol answers with."""
        return style_for(spec.protocol if spec is not None else "query")

    # --- helpers for handlers and the audit trail -------------------------------------
    def paginate(
        self,
        spec: ServiceSpec,
        operation: str,
        params: Mapping[str, Any],
        items: Sequence[T],
        *,
        default_page: int = 100,
        max_page: int = 1000,
    ) -> tuple[list[T], dict[str, Any]]:
        """One page of ``items`` and the output members to merge (Marker, IsTruncated…)."""
        return self._paginator.paginate(
            spec, operation, params, items, default_page=default_page, max_page=max_page
        )

    def redact(
        self, spec: ServiceSpec, operation: str, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A JSON-safe copy of the input with sensitive members hidden, as CloudTrail does."""
        return redaction.redact(spec.plans.operation(operation).input, params)

    def redact_output(
        self, spec: ServiceSpec, operation: str, output: Mapping[str, Any]
    ) -> dict[str, Any]:
        return redaction.redact(spec.plans.operation(operation).output, output)

    def sensitive_paths(self, spec: ServiceSpec, operation: str) -> tuple[str, ...]:
        """Where the model marks input values sensitive (``SecretString``, ``Tags[].Value``)."""
        return redaction.sensitive_paths(spec.plans.operation(operation).input)


def _tolerant_pairs(raw: bytes | str) -> list[tuple[str, str]]:
    try:
        return decode_pairs(raw)
    except ValueError:
        return []
