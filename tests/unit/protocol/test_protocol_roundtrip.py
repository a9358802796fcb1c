"""Every operation of every served model, both directions, against botocore itself.

Requests: random inputs → botocore's validating client serializer and request
preparation → ``Wire.identify`` + ``Wire.parse`` → must equal the inputs.
Responses: random outputs → ``Wire.serialize`` → botocore's client parser → must
equal the outputs. Errors: every modelled exception shape, with random fields →
``Wire.serialize_error`` → botocore must read the code that maps back to that
shape (that is how ``client.exceptions.X`` is chosen), the status, and the fields.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from protocol_samples import Sampler, parse, to_wire

from warden.protocol.dispatch import Wire
from warden.protocol.errors import ServiceError
from warden.protocol.specs import SERVED

SEEDS = tuple(range(int(__import__("os").environ.get("WARDEN_ROUNDTRIP_SEEDS", "2"))))


def _report(kind: str, service: str, count: int, bad: list[Any]) -> None:
    print(f"{service}: {count} {kind}, {len(bad)} mismatches")
    assert not bad, bad[:3]


@pytest.mark.parametrize("service", SERVED)
def test_requests_round_trip(wire: Wire, service: str) -> None:
    spec = wire.registry.spec(service)
    model = spec.model
    bad: list[Any] = []
    count = 0
    for seed in SEEDS:
        for name in sorted(model.operation_names):
            op = model.operation_model(name)
            rng = random.Random(f"{seed}:{service}:{name}:in")
            params = Sampler(rng, spec.protocol, output=False).top(op.input_shape)
            req = to_wire(model, op, params)
            found = wire.identify(req, spec.signing_name)
            call = wire.parse(found, req)
            count += 1
            if (found.name, call.operation, call.params) != (service, name, params):
                bad.append((name, params, call.operation, call.params))
    assert count == len(SEEDS) * len(model.operation_names)
    _report("requests", service, count, bad)


@pytest.mark.parametrize("service", SERVED)
def test_responses_round_trip(wire: Wire, service: str) -> None:
    spec = wire.registry.spec(service)
    model = spec.model
    bad: list[Any] = []
    count = 0
    for seed in SEEDS:
        for name in sorted(model.operation_names):
            op = model.operation_model(name)
            rng = random.Random(f"{seed}:{service}:{name}:out")
            output = Sampler(rng, spec.protocol, output=True).top(op.output_shape)
            resp = wire.serialize(spec, name, output, f"req-{seed}")
            parsed = parse(spec.protocol, resp, op.output_shape)
            meta = parsed.pop("ResponseMetadata")
            count += 1
            if parsed != output or meta.get("RequestId") != f"req-{seed}" or resp.status >= 300:
                bad.append((name, output, parsed, meta))
    assert count == len(SEEDS) * len(model.operation_names)
    _report("responses", service, count, bad)


def _message_member(shape: Any) -> tuple[str, str] | None:
    """(member name, wire name) of the exception's message member, if it has one."""
    for name, member in shape.members.items():
        if name.lower() == "message":
            return name, member.serialization.get("name", name)
    return None


@pytest.mark.parametrize("service", SERVED)
def test_modelled_errors_round_trip(wire: Wire, service: str) -> None:
    spec = wire.registry.spec(service)
    model = spec.model
    any_op = model.operation_model(sorted(model.operation_names)[0])
    bad: list[Any] = []
    count = 0
    for seed in SEEDS:
        for shape in model.error_shapes:
            rng = random.Random(f"{seed}:{service}:{shape.name}:err")
            fields = Sampler(rng, spec.protocol, output=True).top(shape)
            expected = dict(fields)
            message = "boom"
            member = _message_member(shape)
            if member is not None:
                # The message *is* the message member; the XML families write it as
                # <Message> only, so a member serialized under another name stays empty.
                message = fields.pop(member[0], message)
                expected[member[0]] = message
                if spec.protocol in ("query", "ec2") and member[1] != "Message":
                    del expected[member[0]]
            error = ServiceError.of(shape.name, message=message, **fields)
            resp = wire.serialize_error(spec, error, "rid")
            generic = parse(spec.protocol, resp, any_op.output_shape)
            code = generic["Error"]["Code"]
            mapped = model.shape_for_error_code(code)
            error_meta = shape.metadata.get("error", {})
            fault = shape._shape_model.get("fault")  # botocore's Shape does not expose it
            status = error_meta.get("httpStatusCode", 500 if fault else 400)
            modelled = parse(spec.protocol, resp, shape)
            modelled.pop("ResponseMetadata", None)
            count += 1
            if (
                mapped is None
                or mapped.name != shape.name
                or resp.status != status
                or modelled != expected
                or (generic["Error"]["Message"] or "") != message
                or generic["ResponseMetadata"].get("RequestId") != "rid"
            ):
                bad.append((shape.name, code, resp.status, expected, modelled))
    # EC2 models no exceptions at all: its errors are codes only (tested elsewhere).
    assert count > 0 or service == "ec2"
    _report("errors", service, count, bad)
