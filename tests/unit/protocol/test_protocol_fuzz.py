"""Hostile requests for every protocol: identify/parse raise only AwsError, answered 4xx (or 501).

Requests start from a valid botocore request for a random operation (so the
fuzzing reaches deep into the shapes) and are then mutated: values replaced by
hostile text or JSON of the wrong type, list indices made huge, keys mangled,
bodies swapped for raw bytes, paths given bad percent-encoding. The Wire runs in
strict mode, where any non-AwsError escapes instead of being masked.
"""

from __future__ import annotations

import json
import random
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from protocol_samples import Sampler, to_wire

from warden.core.errors import AwsError
from warden.protocol.dispatch import Wire
from warden.protocol.specs import Registry
from warden.protocol.wire import WireRequest

WIRE = Wire(Registry.load(), pagination_key=b"f" * 32, strict=True, max_body=64 * 1024)
SETTINGS = settings(
    max_examples=250,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
HOSTILE = [
    "", "abc", "-1", "1e999", "NaN", "Infinity", "TRUE", "yes", "0x10", "1_000", "\uff19",
    "99999999999999999999999", "2024-13-45T25:61:61Z", "%ZZ", "%C3%28", "%", "\x00",
    "a" * 3000, "....", "../..", "Zm9v!", "====", "Action", "null", "[]", "{}",
]  # fmt: skip
HOSTILE_JSON: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.sampled_from([*HOSTILE, "\ud800", "x\udfff", 10**400, -(10**30), 1e308, 2**63])
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@cache
def _valid(service: str, operation: str) -> WireRequest:
    spec = WIRE.registry.spec(service)
    op = spec.model.operation_model(operation)
    params = Sampler(random.Random(operation), spec.protocol, output=False).top(op.input_shape)
    return to_wire(spec.model, op, params)


def _check(service: str, req: WireRequest, scope: str | None) -> None:
    spec = None
    try:
        spec = WIRE.identify(req, scope)
        call = WIRE.parse(spec, req)
    except AwsError as error:
        resp = WIRE.serialize_error(spec, error, "rid")
        assert 400 <= resp.status < 500 or resp.status == 501, (error, resp.status)
        return
    assert call.service == service
    assert call.operation in spec.operation_names


def _mutate_text(rnd: random.Random, draw: st.DrawFn, text: str) -> str:
    roll = rnd.random()
    if roll < 0.12:
        return rnd.choice(HOSTILE)
    if roll < 0.2:
        return draw(st.text(max_size=12))
    return text


def _mutate_key(rnd: random.Random, key: str) -> str:
    parts = key.split(".")
    if rnd.random() < 0.1:
        huge = ["999999999", "0", "-1", "01", "4294967296", "1" * 40]
        parts = [rnd.choice(huge) if p.isdigit() else p for p in parts]
    if rnd.random() < 0.05:
        parts.append(rnd.choice(["member", "1", "entry", "", "key"]))
    return ".".join(parts)


def _setup(draw: st.DrawFn, service: str) -> tuple[random.Random, Any, WireRequest]:
    # Mutation odds come from a hypothesis-driven Random: hypothesis's own draws
    # lean towards their minimum, which would make the rare cases the common ones.
    rnd = draw(st.randoms(use_true_random=True))
    spec = WIRE.registry.spec(service)
    return rnd, spec, _valid(service, rnd.choice(sorted(spec.operation_names)))


def _scope(rnd: random.Random, right: str, *others: str | None) -> str | None:
    """Mostly the right signing name, sometimes none (unsigned) or another."""
    return right if rnd.random() < 0.85 else rnd.choice([None, *others])


@st.composite
def form_requests(draw: st.DrawFn, service: str) -> tuple[WireRequest, str | None]:
    rnd, spec, base = _setup(draw, service)
    pairs = []
    for key, value in parse_qsl(base.body.decode(), keep_blank_values=True):
        if rnd.random() < 0.05:
            continue
        if key in ("Action", "Version") and rnd.random() < 0.9:
            pairs.append((key, value))
        else:
            pairs.append((_mutate_key(rnd, key), _mutate_text(rnd, draw, value)))
    if rnd.random() < 0.2:
        pairs.append((draw(st.text(max_size=10)), rnd.choice(HOSTILE)))
    body = urlencode(pairs).encode()
    roll = rnd.random()
    if roll < 0.05:
        body = draw(st.binary(max_size=200))
    elif roll < 0.1:
        body += rnd.choice([b"&%FF%FE=%C0%AF", b"&a=%ED%A0%80", b"&\xff=1", b"&&==&"])
    query = "" if rnd.random() < 0.9 else rnd.choice(["Action=Nope", "%ZZ=1", "a=%E2%82", "é"])
    req = WireRequest("POST", "/", query, base.headers, body)
    return req, _scope(rnd, spec.signing_name, "nope", "")


def _mutate_json(rnd: random.Random, draw: st.DrawFn, value: Any) -> Any:
    if rnd.random() < 0.1:
        return draw(HOSTILE_JSON)
    if isinstance(value, dict):
        return {k: _mutate_json(rnd, draw, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mutate_json(rnd, draw, v) for v in value]
    return value


def _json_body(rnd: random.Random, draw: st.DrawFn, body: bytes) -> bytes:
    roll = rnd.random()
    if roll < 0.04:
        return draw(st.binary(max_size=100))
    if roll < 0.08:
        depth = rnd.randint(10, 5000)
        return b"[" * depth + b"]" * depth if rnd.random() < 0.5 else b'{"a":' * depth + b"1"
    if roll < 0.12:
        return rnd.choice([b"[]", b"1", b'"x"', b"null", b"{", b'{"\\ud800":1}', b"\xff"])
    value = json.loads(body or b"{}")
    return json.dumps(_mutate_json(rnd, draw, value)).encode()


@st.composite
def json_requests(draw: st.DrawFn, service: str) -> tuple[WireRequest, str | None]:
    rnd, spec, base = _setup(draw, service)
    headers = dict(base.headers)
    if rnd.random() < 0.1:
        target = headers["x-amz-target"]
        headers["x-amz-target"] = rnd.choice(["", "x.Y", f"{target}Nope", ".", target + "."])
    req = WireRequest("POST", "/", "", tuple(headers.items()), _json_body(rnd, draw, base.body))
    return req, _scope(rnd, spec.signing_name)


@st.composite
def rest_requests(draw: st.DrawFn, service: str) -> tuple[WireRequest, str | None]:
    rnd, spec, base = _setup(draw, service)
    bad_segments = ["%FF", "%", "%2F", "..", "", "%ED%A0%80", "é"]
    segments = [
        (rnd.choice([*bad_segments, quote(draw(st.text(max_size=6)), safe="")]))
        if segment and rnd.random() < 0.08
        else segment
        for segment in base.raw_path.split("/")
    ]
    pairs = parse_qsl(base.query_string, keep_blank_values=True)
    query = urlencode([(k, _mutate_text(rnd, draw, v)) for k, v in pairs])
    if rnd.random() < 0.1:
        query += "&" + rnd.choice(["%ZZ", "maxResults=%FF", "a=%E2%82", "=", "&&"])
    method = base.method if rnd.random() < 0.9 else rnd.choice(["GET", "PUT", "DELETE", "BREW"])
    body = _json_body(rnd, draw, base.body)
    req = WireRequest(method, "/".join(segments), query, base.headers, body)
    return req, _scope(rnd, spec.signing_name)


@pytest.mark.parametrize("service", ["iam", "rds", "sts"])
@SETTINGS
@given(data=st.data())
def test_query_protocol_survives_hostile_input(service: str, data: st.DataObject) -> None:
    req, scope = data.draw(form_requests(service))
    _check(service, req, scope)


@SETTINGS
@given(data=st.data())
def test_ec2_protocol_survives_hostile_input(data: st.DataObject) -> None:
    req, scope = data.draw(form_requests("ec2"))
    _check("ec2", req, scope)


@pytest.mark.parametrize("service", ["secretsmanager", "kms", "cloudtrail"])
@SETTINGS
@given(data=st.data())
def test_json_protocol_survives_hostile_input(service: str, data: st.DataObject) -> None:
    req, scope = data.draw(json_requests(service))
    _check(service, req, scope)


@pytest.mark.parametrize("service", ["guardduty", "securityhub"])
@SETTINGS
@given(data=st.data())
def test_rest_json_protocol_survives_hostile_input(service: str, data: st.DataObject) -> None:
    req, scope = data.draw(rest_requests(service))
    _check(service, req, scope)


@SETTINGS
@given(
    method=st.sampled_from(["GET", "POST", "PUT"]),
    path=st.text(max_size=40),
    query=st.text(max_size=40),
    headers=st.lists(
        st.tuples(st.sampled_from(["x-amz-target", "content-type", "x"]), st.text()), max_size=3
    ),
    body=st.binary(max_size=300),
    scope=st.sampled_from([None, "rds", "ec2", "iam", "sts", "kms", "guardduty", "s3", ""]),
)
def test_arbitrary_requests_never_escape(
    method: str,
    path: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    scope: str | None,
) -> None:
    req = WireRequest(method, "/" + path, query, tuple(headers), body)
    spec = None
    try:
        spec = WIRE.identify(req, scope)
        WIRE.parse(spec, req)
    except AwsError as error:
        resp = WIRE.serialize_error(spec, error, "rid")
        assert 400 <= resp.status < 500 or resp.status == 501
