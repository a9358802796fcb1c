"""Which service and which operation a request is for.

``identify`` picks the service: the SigV4 credential scope's service when signed;
otherwise the ``X-Amz-Target`` prefix, an unsigned operation's ``Action`` (sts
``AssumeRoleWithWebIdentity``/``SAML``), the query ``Version``, or a REST route
that exactly one served rest-json service knows.

``RestRouter`` maps method + raw path (+ static query parts) to a rest-json
operation. Each ``http.requestUri`` compiles to a regular expression over the
*raw* (still percent-encoded) path: ``{X}`` matches one segment, ``{X+}`` the rest
greedily. Routes are tried most literal first, so ``/detector/{Id}/findings/get``
wins over ``/detector/{Id}/{Other}``. Captured labels are percent-decoded strictly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from warden.protocol.errors import InvalidAction, MissingAuthenticationToken
from warden.protocol.wire import WireRequest

if TYPE_CHECKING:
    from warden.protocol.specs import Registry, ServiceSpec

_LABEL = re.compile(r"\{([^}]+)\}")
_ANY_SEGMENT = "*"


@dataclass(frozen=True, slots=True)
class Route:
    operation: str
    method: str
    regex: re.Pattern[str]
    labels: tuple[str, ...]  # label names in order of the regex groups
    static_query: tuple[tuple[str, str], ...]  # ("key", "") means: key present
    literal: int  # literal characters: the more, the more specific


@dataclass(frozen=True, slots=True)
class RouteMatch:
    operation: str
    labels: dict[str, str]  # label name -> percent-decoded value


def compile_route(operation: str, method: str, uri: str) -> Route:
    path, _, query = uri.partition("?")
    pattern: list[str] = []
    labels: list[str] = []
    literal = 0
    pos = 0
    for found in _LABEL.finditer(path):
        text = path[pos : found.start()]
        pattern.append(re.escape(text))
        literal += len(text)
        name = found.group(1)
        greedy = name.endswith("+")
        labels.append(name[:-1] if greedy else name)
        pattern.append("(.+)" if greedy else "([^/]+)")
        pos = found.end()
    pattern.append(re.escape(path[pos:]))
    literal += len(path) - pos
    static = tuple(parse_qsl(query, keep_blank_values=True))
    literal += sum(len(k) + len(v) for k, v in static)
    return Route(operation, method, re.compile("".join(pattern)), tuple(labels), static, literal)


def _first_segment(path: str) -> str:
    segment = path.split("/", 2)[1] if path.startswith("/") and len(path) > 1 else ""
    return _ANY_SEGMENT if "{" in segment else segment


class RestRouter:
    """The routes of one rest-json service, bucketed by method and first path segment."""

    def __init__(self, model: Any) -> None:
        buckets: dict[tuple[str, str], list[Route]] = {}
        for name in model.operation_names:
            http = model.operation_model(name).http
            route = compile_route(name, http.get("method", "POST"), http.get("requestUri", "/"))
            segment = _first_segment(http.get("requestUri", "/").partition("?")[0])
            buckets.setdefault((route.method, segment), []).append(route)
        self._buckets = {
            key: tuple(sorted(routes, key=lambda r: (-r.literal, r.operation)))
            for key, routes in buckets.items()
        }

    def match(
        self, method: str, raw_path: str, query: Sequence[tuple[str, str]]
    ) -> RouteMatch | None:
        """The operation for this request, or None. ValueError for a bad label encoding."""
        segment = raw_path.split("/", 2)[1] if raw_path.startswith("/") else ""
        for key in ((method, segment), (method, _ANY_SEGMENT)):
            for route in self._buckets.get(key, ()):
                found = route.regex.fullmatch(raw_path)
                if found is None or not _has_static(route, query):
                    continue
                values = [unquote(v, errors="strict") for v in found.groups()]
                return RouteMatch(route.operation, dict(zip(route.labels, values, strict=True)))
        return None


def _has_static(route: Route, query: Sequence[tuple[str, str]]) -> bool:
    for key, value in route.static_query:
        if not any(k == key and (not value or v == value) for k, v in query):
            return False
    return True


def identify(
    registry: Registry,
    req: WireRequest,
    scope_service: str | None,
    form: Sequence[tuple[str, str]],
    query: Sequence[tuple[str, str]],
) -> ServiceSpec:
    """The served service a request is for; an AwsError when none matches.

    ``form`` and ``query`` are the already-decoded form fields and URL query pairs
    (empty when they could not be decoded: identification never fails on them).
    """
    if scope_service is not None:
        spec = registry.by_signing_name(scope_service)
        if spec is None:
            raise InvalidAction(
                message=f"The service {scope_service[:64]!r} is not served by this endpoint."
            )
        return spec
    target = req.header("x-amz-target")
    if target:
        spec = registry.by_target_prefix(target.rpartition(".")[0])
        if spec is not None:
            return spec
    fields = dict(reversed(list(form)))
    action = fields.get("Action")
    if action:
        spec = registry.by_unsigned_operation(action)
        if spec is None:
            spec = registry.by_query_version(fields.get("Version", ""))
        if spec is not None:
            return spec
    candidates = []
    for spec in registry.services():
        router = spec.router
        if router is None:
            continue
        try:
            if router.match(req.method, req.raw_path, query) is not None:
                candidates.append(spec)
        except ValueError:
            continue
    if len(candidates) == 1:
        return candidates[0]
    raise MissingAuthenticationToken(message="Request is missing Authentication Token")
