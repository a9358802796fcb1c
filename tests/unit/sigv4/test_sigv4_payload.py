"""The payload hash is bound to the body received; UNSIGNED-PAYLOAD only for presigned URLs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from sigv4_signing import sign

from warden.sigv4 import AuthFailure, SigV4Error

URL = "https://h.example/obj?x=1"


def _failure(call: Callable[[], object]) -> SigV4Error:
    with pytest.raises(SigV4Error) as caught:
        call()
    return caught.value


def test_declared_hash_must_match_the_body() -> None:
    declared = ("X-Amz-Content-SHA256", hashlib.sha256(b"data").hexdigest())
    wire = sign("PUT", URL, headers=[declared], body=b"data", service="execute-api")
    wire.verify()
    error = _failure(wire.replace(body=b"other").verify)
    assert error.kind is AuthFailure.BAD_SIGNATURE
    assert error.message == (
        "The provided 'x-amz-content-sha256' header does not match what was computed."
    )


def test_header_signed_unsigned_payload_is_rejected() -> None:
    # botocore's payload-signing-disabled mode: the header says UNSIGNED-PAYLOAD and it is signed.
    wire = sign("PUT", URL, body=b"data", service="execute-api", payload="unsigned-header")
    assert wire.header("x-amz-content-sha256") == "UNSIGNED-PAYLOAD"
    assert _failure(wire.verify).kind is AuthFailure.BAD_SIGNATURE


def test_header_signed_over_unsigned_payload_without_header_is_rejected() -> None:
    wire = sign("PUT", URL, body=b"data", service="execute-api", payload="unsigned")
    assert _failure(wire.verify).message.startswith("The request signature we calculated")


def test_presigned_unsigned_payload_is_accepted() -> None:
    wire = sign("GET", URL, service="execute-api", presign_expires=60, payload="unsigned")
    wire.verify()
    # A body the signer did not sign may accompany it: that is what UNSIGNED-PAYLOAD means.
    wire.replace(body=b"anything").verify()


def test_presigned_unsigned_payload_declared_in_header_is_accepted() -> None:
    wire = sign("GET", URL, service="execute-api", presign_expires=60, payload="unsigned")
    wire.with_header("x-amz-content-sha256", "UNSIGNED-PAYLOAD").verify()


def test_presigned_body_hash_still_binds_the_body() -> None:
    wire = sign("GET", URL, service="execute-api", presign_expires=60)
    assert _failure(wire.replace(body=b"x").verify).kind is AuthFailure.BAD_SIGNATURE
