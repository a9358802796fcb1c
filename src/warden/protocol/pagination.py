"""Pagination driven by ``paginators-1``: slicing a handler's full list, sealed tokens.

A token is ``base64url(version ‖ offset ‖ digest(params) ‖ HMAC-SHA256)``; the MAC
covers the service and operation as well, so a token cannot be forged, moved to
another operation, or replayed against different filters (the digest covers
every input member except the token and the page size, which clients may change
between pages). A token that fails any check is answered with the service's
modelled "bad token" exception when it has one, else the protocol's
``InvalidParameterValue`` / ``ValidationException``.

Which members carry the token, the page size and the "more" flag comes from
``paginators-1`` (``input_token``, ``output_token``, ``limit_key``,
``more_results``); operations without an entry fall back to the common names.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from warden.core.errors import AwsError
from warden.protocol.errors import ServiceError, style_for
from warden.protocol.specs import ServiceSpec

T = TypeVar("T")

_VERSION = 1
_HEAD = struct.Struct(">BQ")
_DIGEST = 16
_MAC = 32
_RAW_LEN = _HEAD.size + _DIGEST + _MAC
_MAX_TOKEN_CHARS = 256
# Modelled "bad token" exceptions, most specific first.
_BAD_TOKEN_SHAPES = (
    "InvalidNextTokenException",
    "InvalidMarkerException",
    "InvalidPaginationTokenException",
    "InvalidInputException",
    "BadRequestException",
)
_TOKENS = ("NextToken", "Marker", "NextMarker")
_LIMITS = ("MaxResults", "MaxRecords", "MaxItems", "Limit")
_MORE = ("IsTruncated", "Truncated")


@dataclass(frozen=True, slots=True)
class PageConfig:
    input_token: str
    output_token: str  # a dotted path into the output ("EngineDefaults.Marker")
    limit_key: str | None
    more_results: str | None


def page_config(spec: ServiceSpec, operation: str) -> PageConfig:
    """The paging members of an operation; KeyError when it does not page."""
    config = spec.paginators.get(operation)
    if config is not None:
        return PageConfig(
            input_token=_first(config["input_token"]),
            output_token=_first(config["output_token"]),
            limit_key=config.get("limit_key"),
            more_results=config.get("more_results"),
        )
    plan = spec.plans.operation(operation)
    inputs = plan.input.by_name if plan.input is not None else {}
    outputs = plan.output.by_name if plan.output is not None else {}
    token = next((t for t in _TOKENS if t in inputs and t in outputs), None)
    if token is None:
        raise KeyError(f"{spec.name}:{operation} does not paginate")
    return PageConfig(
        input_token=token,
        output_token=token,
        limit_key=next((k for k in _LIMITS if k in inputs), None),
        more_results=next((k for k in _MORE if k in outputs), None),
    )


def _first(value: str | Sequence[str]) -> str:
    return value if isinstance(value, str) else value[0]


class Paginator:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the pagination key must be at least 16 bytes")
        self._key = key

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
        """One page of ``items`` and the output members to merge (nested for dotted paths)."""
        config = page_config(spec, operation)
        token = params.get(config.input_token)
        offset = 0
        if token is not None and token != "":
            offset = self._open(spec, operation, _digest(params, config), token)
        size = default_page
        limit = params.get(config.limit_key) if config.limit_key else None
        if type(limit) is int:
            size = limit
        size = max(1, min(size, max_page))
        page = list(items[offset : offset + size])
        more = offset + size < len(items)
        members: dict[str, Any] = {}
        if more:
            digest = _digest(params, config)  # only a token needs it: most lists fit a page
            _put(members, config.output_token, self._seal(spec, operation, digest, offset + size))
        if config.more_results:
            _put(members, config.more_results, more)
        return page, members

    def _seal(self, spec: ServiceSpec, operation: str, digest: bytes, offset: int) -> str:
        body = _HEAD.pack(_VERSION, offset) + digest
        raw = body + self._mac(spec, operation, body)
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    def _open(self, spec: ServiceSpec, operation: str, digest: bytes, token: Any) -> int:
        raw = _decode(token)
        if raw is None or len(raw) != _RAW_LEN:
            raise _bad_token(spec)
        body, mac = raw[:-_MAC], raw[-_MAC:]
        if not hmac.compare_digest(mac, self._mac(spec, operation, body)):
            raise _bad_token(spec)
        version, offset = _HEAD.unpack(body[: _HEAD.size])
        if version != _VERSION or not hmac.compare_digest(body[_HEAD.size :], digest):
            raise _bad_token(spec)
        return int(offset)

    def _mac(self, spec: ServiceSpec, operation: str, body: bytes) -> bytes:
        context = f"warden.page\0{spec.name}\0{operation}\0".encode()
        return hmac.new(self._key, context + body, hashlib.sha256).digest()


def _decode(token: Any) -> bytes | None:
    if not isinstance(token, str) or len(token) > _MAX_TOKEN_CHARS or not token.isascii():
        return None
    try:
        return base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return None


def _digest(params: Mapping[str, Any], config: PageConfig) -> bytes:
    rest = {k: v for k, v in params.items() if k not in (config.input_token, config.limit_key)}
    text = json.dumps(rest, sort_keys=True, separators=(",", ":"), default=_canonical)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:_DIGEST]


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    return repr(value)


def _put(target: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value


def _bad_token(spec: ServiceSpec) -> AwsError:
    message = "The pagination token is invalid or expired."
    for shape in _BAD_TOKEN_SHAPES:
        if spec.plans.exception(shape) is not None:
            return ServiceError.of(shape, message=message)
    return style_for(spec.protocol).bad_token(message=message)
