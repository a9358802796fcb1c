"""Authentication failures answer each protocol's own error, exactly as botocore reads it."""

from __future__ import annotations

import pytest
from protocol_samples import parse

from warden.protocol.dispatch import Wire
from warden.protocol.errors import AuthFailure
from warden.protocol.specs import SERVED

XML = {
    "missing": ("MissingAuthenticationToken", 403),
    "incomplete": ("IncompleteSignature", 400),
    "unknown_key": ("InvalidClientTokenId", 403),
    "bad_signature": ("SignatureDoesNotMatch", 403),
    "expired_request": ("SignatureDoesNotMatch", 403),
    "expired_token": ("ExpiredToken", 403),
    "invalid_token": ("InvalidClientTokenId", 403),
    "access_denied": ("AccessDenied", 403),
}
EC2 = {**XML, "expired_request": ("RequestExpired", 400)}
JSON = {
    "missing": ("MissingAuthenticationTokenException", 403),
    "incomplete": ("IncompleteSignatureException", 400),
    "unknown_key": ("UnrecognizedClientException", 403),
    "bad_signature": ("InvalidSignatureException", 403),
    "expired_request": ("InvalidSignatureException", 403),
    "expired_token": ("ExpiredTokenException", 403),
    "invalid_token": ("UnrecognizedClientException", 403),
    "access_denied": ("AccessDeniedException", 400),
}
# GuardDuty and Security Hub model AccessDeniedException with 403; the model wins.
REST = {**JSON, "access_denied": ("AccessDeniedException", 403)}
EXPECTED = {"query": XML, "ec2": EC2, "json": JSON, "rest-json": REST}


@pytest.mark.parametrize("service", SERVED)
@pytest.mark.parametrize("kind", [k.value for k in AuthFailure])
def test_auth_errors_parse_to_the_protocols_code(wire: Wire, service: str, kind: str) -> None:
    spec = wire.registry.spec(service)
    error = wire.auth_error(spec, kind, "Signature expired: 20240101T000000Z is now earlier")
    resp = wire.serialize_error(spec, error, "rid-1")
    op = spec.model.operation_model(sorted(spec.operation_names)[0])
    parsed = parse(spec.protocol, resp, op.output_shape)
    code, status = EXPECTED[spec.protocol][kind]
    assert (parsed["Error"]["Code"], resp.status) == (code, status)
    assert parsed["Error"]["Message"] == "Signature expired: 20240101T000000Z is now earlier"
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-1"
    modelled = spec.model.shape_for_error_code(code)
    if modelled is not None:  # botocore raises client.exceptions.<that shape>
        assert modelled.name == code


def test_unidentified_service_answers_query_xml(wire: Wire) -> None:
    error = wire.auth_error(None, AuthFailure.MISSING, "Request is missing Authentication Token")
    resp = wire.serialize_error(None, error, "rid-2")
    parsed = parse("query", resp, None)
    assert parsed["Error"]["Code"] == "MissingAuthenticationToken"
    assert parsed["Error"]["Type"] == "Sender"
    assert resp.status == 403 and resp.body.startswith(b"<ErrorResponse>")


def test_unknown_kind_is_a_programming_error(wire: Wire) -> None:
    with pytest.raises(ValueError):
        wire.auth_error(wire.registry.spec("iam"), "sunspots", "x")


def test_sigv4_failure_kinds_are_accepted(wire: Wire) -> None:
    from warden.sigv4 import AuthFailure as SigV4Failure

    for kind in SigV4Failure:
        assert wire.auth_error(wire.registry.spec("kms"), kind, "m").code == JSON[kind.value][0]
