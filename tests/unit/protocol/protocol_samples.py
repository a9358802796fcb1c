"""Random values for any botocore shape, and botocore's own client wire pipeline.

``Sampler`` builds inputs that botocore's validating serializer accepts (required
members, ``min``, enums, one member per union) and outputs botocore's parsers can
read back exactly (timestamps to the millisecond, finite floats). Containers are
never empty where a protocol cannot express emptiness (ec2 lists, query
structures and maps), and a node budget keeps the huge EC2 shapes small.

``to_wire`` runs the real client path: serializer → ``prepare_request_dict`` →
``AWSRequest.prepare()``, and returns what arrives on the wire as a WireRequest.
"""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import botocore.session
from botocore.awsrequest import create_request_object, prepare_request_dict
from botocore.compat import HTTPHeaders
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from warden.protocol.wire import WireRequest, WireResponse

SESSION = botocore.session.get_session()
_TEXT = string.ascii_letters + string.digits + " -_.~/+=&%?#<>\"'é中\t\n\r😀"
_HEADER_TEXT = string.ascii_letters + string.digits + "-_.~/+=:"
_EPOCH = datetime(1971, 1, 1, tzinfo=UTC)


class Sampler:
    def __init__(
        self,
        rng: random.Random,
        protocol: str,
        *,
        output: bool,
        max_depth: int = 4,
        budget: int = 120,
    ) -> None:
        self.rng = rng
        self.protocol = protocol
        self.output = output
        self.max_depth = max_depth
        self.budget = budget

    def top(self, shape: Any) -> dict[str, Any]:
        if shape is None:
            return {}
        value = self.structure(shape, 0, allow_empty=not shape.members)
        return value if value is not None else {}

    def structure(self, shape: Any, depth: int, *, allow_empty: bool = False) -> Any:
        if shape.metadata.get("document"):
            return {"k": [1, "two", {"three": True}], "n": None if self.output else 1.5}
        members = dict(shape.members)
        required = set(shape.metadata.get("required", ()))
        names = list(members)
        if shape.metadata.get("union"):
            chosen = [self.rng.choice(names)]
        else:
            deep = depth >= self.max_depth or self.budget <= 0
            chosen = [n for n in names if n in required or (not deep and self.rng.random() < 0.6)]
            if not chosen and names and not allow_empty:
                scalars = [
                    n for n in names if members[n].type_name not in ("structure", "list", "map")
                ]
                chosen = [self.rng.choice(scalars or names)]
        out: dict[str, Any] = {}
        for name in chosen:
            member = members[name]
            value = self.value(member, depth + 1)
            if value is not None:
                out[name] = value
        if not out and not allow_empty and names:
            return None
        return out

    def value(self, shape: Any, depth: int) -> Any:
        self.budget -= 1
        kind = shape.type_name
        location = shape.serialization.get("location")
        if kind == "structure":
            return self.structure(shape, depth)
        if kind == "list":
            return self.list(shape, depth, location)
        if kind == "map":
            return self.map(shape, depth)
        return self.scalar(shape, location)

    def list(self, shape: Any, depth: int, location: str | None) -> Any:
        low = shape.metadata.get("min", 0)
        must_fill = self.protocol == "ec2" or location is not None or depth > self.max_depth
        low = max(low, 1) if must_fill else low
        count = self.rng.randint(low, max(low, 2))
        items = [self.value(shape.member, depth + 1) for _ in range(count)]
        items = [i for i in items if i is not None]
        return items if len(items) >= low else None

    def map(self, shape: Any, depth: int) -> Any:
        count = self.rng.randint(1, 2)
        out = {}
        for i in range(count):
            key = self.scalar(shape.key, None)
            value = self.value(shape.value, depth + 1)
            if value is not None:
                out[
                    f"{key}{i}" if shape.key.type_name == "string" and not _enum(shape.key) else key
                ] = value
        return out or None

    def scalar(self, shape: Any, location: str | None) -> Any:
        rng = self.rng
        kind = shape.type_name
        meta = shape.metadata
        if kind == "string":
            if _enum(shape):
                return rng.choice(shape.enum)
            low = max(meta.get("min", 0), 1 if location in ("uri", "header") else 0)
            high = min(max(meta.get("max", 12), low), low + 12)
            alphabet = _HEADER_TEXT if location == "header" else _TEXT
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))
            if location == "uri" and not text.strip("."):
                text = "x" + text  # "." and ".." are dot segments, which HTTP stacks remove
            return text
        if kind in ("integer", "long"):
            top = 2**31 - 1 if kind == "integer" else 2**53
            low = int(meta.get("min", -1000))
            high = int(meta.get("max", top))
            return rng.choice([low, high, rng.randint(low, min(high, low + 10_000))])
        if kind in ("float", "double"):
            low = meta.get("min", -1e6)
            return rng.choice([float(low), low + rng.random() * 1000, low + 0.5])
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "timestamp":
            moment = _EPOCH + timedelta(milliseconds=rng.randint(0, 4_000_000_000_000))
            return moment.replace(microsecond=0) if location == "header" else moment
        if kind == "blob":
            return bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 12)))
        raise AssertionError(f"no sample for {kind}")


def _enum(shape: Any) -> bool:
    return bool(getattr(shape, "enum", None))


def to_wire(model: Any, operation: Any, params: dict[str, Any]) -> WireRequest:
    """What botocore's client puts on the wire for these params (validated first)."""
    serializer = create_serializer(model.metadata["protocol"], include_validation=True)
    request_dict = serializer.serialize_to_request(params, operation)
    prepare_request_dict(request_dict, endpoint_url="https://warden.example:9443")
    prepared = create_request_object(request_dict).prepare()
    url = urlsplit(prepared.url)
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    headers = tuple(
        (k.lower(), v if isinstance(v, str) else v.decode()) for k, v in prepared.headers.items()
    )
    return WireRequest(
        method=prepared.method,
        raw_path=url.path or "/",
        query_string=url.query,
        headers=headers,
        body=body,
    )


def http_response(resp: WireResponse) -> dict[str, Any]:
    headers = HTTPHeaders()
    for key, value in resp.headers:
        headers[key] = value
    return {"status_code": resp.status, "headers": headers, "body": resp.body}


def parse(protocol: str, resp: WireResponse, shape: Any) -> dict[str, Any]:
    """What botocore's client makes of a response."""
    parsed: dict[str, Any] = create_parser(protocol).parse(http_response(resp), shape)
    return parsed
