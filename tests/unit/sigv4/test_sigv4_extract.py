"""extract(): what a request claims, and every malformed claim rejected as INCOMPLETE."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sigv4_signing import AKID, TOKEN, WHEN, Wire, sign

from warden.sigv4 import AuthFailure, SigV4Error

GOOD_SIG = "f" * 64


def _header_wire(authorization: str | None, **extra: str) -> Wire:
    headers = [("host", "iam.amazonaws.com"), ("x-amz-date", "20261128T010930Z")]
    headers += [(name.replace("_", "-"), value) for name, value in extra.items()]
    if authorization is not None:
        headers.append(("authorization", authorization))
    return Wire("POST", "/", "", tuple(headers), b"")


def _auth(
    credential: str = f"{AKID}/20261128/us-east-1/iam/aws4_request",
    signed: str = "host;x-amz-date",
    algorithm: str = "AWS4-HMAC-SHA256",
) -> str:
    return f"{algorithm} Credential={credential}, SignedHeaders={signed}, Signature={GOOD_SIG}"


def _incomplete(wire: Wire) -> str:
    with pytest.raises(SigV4Error) as caught:
        wire.extract()
    assert caught.value.kind is AuthFailure.INCOMPLETE
    return caught.value.message


def test_header_claim_is_read() -> None:
    info = _header_wire(_auth(), x_amz_security_token=TOKEN).extract()
    assert info is not None
    assert (info.access_key_id, info.scope_date, info.region, info.service) == (
        AKID,
        "20261128",
        "us-east-1",
        "iam",
    )
    assert info.signed_headers == ("host", "x-amz-date")
    assert info.signature == GOOD_SIG
    assert info.request_time == WHEN
    assert not info.presigned and info.expires_seconds is None
    assert info.security_token == TOKEN


def test_header_form_tolerates_missing_spaces_after_commas() -> None:
    compact = _auth().replace(", ", ",")
    assert _header_wire(compact).extract() is not None


@pytest.mark.parametrize(
    "wire",
    [
        Wire("GET", "/", "", (("host", "h"),), b""),
        Wire("POST", "/", "Action=ListUsers&X-Amz-Date=20261128T010930Z", (("host", "h"),), b""),
        _header_wire(""),
        _header_wire("   "),
    ],
    ids=["nothing", "other-amz-params", "empty-header", "blank-header"],
)
def test_unsigned_request_gives_none(wire: Wire) -> None:
    assert wire.extract() is None


@pytest.mark.parametrize("missing", ["Credential", "Signature", "SignedHeaders"])
def test_missing_component(missing: str) -> None:
    parts = [p for p in _auth().split(" ", 1)[1].split(", ") if not p.startswith(missing + "=")]
    raw = "AWS4-HMAC-SHA256 " + ", ".join(parts)
    message = _incomplete(_header_wire(raw))
    assert message == f"Authorization header requires '{missing}' parameter. Authorization={raw}"


@pytest.mark.parametrize(
    "raw",
    [
        "Basic dXNlcjpwYXNz",
        "AWS4-HMAC-SHA512 Credential=a",
        "eyJhbGciOi.JIUzI1NiJ9",
        "AWS4-HMAC-SHA256",
    ],
)
def test_unknown_algorithm_or_empty_header_reports_every_part(raw: str) -> None:
    wire = _header_wire(raw).replace(headers=(("host", "h"), ("authorization", raw)))
    assert _incomplete(wire) == (
        "Authorization header requires 'Credential' parameter. "
        "Authorization header requires 'Signature' parameter. "
        "Authorization header requires 'SignedHeaders' parameter. "
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        f"Authorization={raw}"
    )


def test_component_without_equal_sign() -> None:
    raw = _auth(credential=f" {AKID}/20261128/us-east-1/iam/aws4_request")
    assert _incomplete(_header_wire(raw)) == (
        f"'{AKID}/20261128/us-east-1/iam/aws4_request' not a valid key=value pair "
        f"(missing equal-sign) in Authorization header: '{raw}'."
    )


def test_duplicate_component() -> None:
    raw = _auth() + f", Signature={GOOD_SIG}"
    assert "duplicate 'Signature'" in _incomplete(_header_wire(raw))


def test_two_authorization_headers_are_rejected() -> None:
    wire = _header_wire(_auth())
    assert "not a valid key=value pair" in _incomplete(
        wire.replace(headers=(*wire.headers, ("authorization", _auth())))
    )


@pytest.mark.parametrize(
    "credential",
    [
        f"{AKID}/20261128/us-east-1/iam",
        f"{AKID}/20261128/us-east-1/iam/aws4_request/x",
        "/20261128/us-east-1/iam/aws4_request",
        "",
    ],
)
def test_credential_not_five_parts(credential: str) -> None:
    assert _incomplete(_header_wire(_auth(credential=credential))).startswith(
        "Authorization header is malformed; the Credential is mal-formed"
    )


def test_bad_terminator() -> None:
    message = _incomplete(_header_wire(_auth(credential=f"{AKID}/20261128/us-east-1/iam/aws4")))
    assert (
        message
        == "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4'."
    )


@pytest.mark.parametrize(
    ("credential", "start"),
    [
        (f"{AKID}/20261128//iam/aws4_request", "Credential should be scoped to a valid region"),
        (
            f"{AKID}/20261128/us-east-1//aws4_request",
            "Credential should be scoped to correct service",
        ),
    ],
)
def test_empty_region_or_service(credential: str, start: str) -> None:
    assert _incomplete(_header_wire(_auth(credential=credential))).startswith(start)


def test_scope_date_must_match_request_date() -> None:
    raw = _auth(credential=f"{AKID}/20261127/us-east-1/iam/aws4_request")
    assert _incomplete(_header_wire(raw)) == (
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP: '20261127' != '20261128', from '20261128T010930Z'."
    )


def test_missing_dates() -> None:
    wire = Wire("POST", "/", "", (("host", "h"), ("authorization", _auth())), b"")
    message = _incomplete(wire)
    assert message.startswith(
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
    )


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-28T01:09:30Z",
        "20261328T010930Z",
        "20261128T010930",
        "\uff12\uff10\uff12\uff161128T010930Z",
        "",
    ],
)
def test_unparseable_amz_date(value: str) -> None:
    wire = _header_wire(_auth()).with_header("x-amz-date", value)
    assert _incomplete(wire) == (
        f"Date must be in ISO-8601 'basic format'. Got '{value}'. "
        "See http://en.wikipedia.org/wiki/ISO_8601"
    )


def test_two_amz_date_headers_are_rejected() -> None:
    wire = _header_wire(_auth())
    assert "ISO-8601" in _incomplete(
        wire.replace(headers=(*wire.headers, ("x-amz-date", "20261128T010930Z")))
    )


def test_date_header_fallback() -> None:
    wire = Wire(
        "POST",
        "/",
        "",
        (
            ("host", "h"),
            ("date", "Sat, 28 Nov 2026 01:09:30 GMT"),
            ("authorization", _auth(signed="date;host")),
        ),
        b"",
    )
    info = wire.extract()
    assert info is not None
    assert info.request_time == WHEN


@pytest.mark.parametrize("value", ["yesterday", "Sat, 99 Nov 2026 01:09:30 GMT", ""])
def test_unparseable_date_header(value: str) -> None:
    wire = Wire(
        "POST",
        "/",
        "",
        (("host", "h"), ("date", value), ("authorization", _auth(signed="host"))),
        b"",
    )
    assert "Date" in _incomplete(wire)


@pytest.mark.parametrize("signed", ["x-amz-date", "", "content-type;x-amz-date"])
def test_host_must_be_signed(signed: str) -> None:
    message = _incomplete(_header_wire(_auth(signed=signed)))
    assert message == "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."


def test_signed_header_must_exist() -> None:
    message = _incomplete(_header_wire(_auth(signed="accept;host;x-amz-date")))
    assert (
        message == "'accept' is named as a SignedHeader, but it does not exist in the HTTP request."
    )


def test_signed_header_names_are_lower_cased() -> None:
    info = _header_wire(_auth(signed="Host;X-Amz-Date")).extract()
    assert info is not None and info.signed_headers == ("host", "x-amz-date")


# --- presigned form -------------------------------------------------------------------------

PRESIGNED = sign(
    "GET", "https://sts.amazonaws.com/?Action=GetCallerIdentity", service="sts", presign_expires=600
)


def _without(param: str) -> Wire:
    kept = [p for p in PRESIGNED.query_string.split("&") if not p.startswith(param + "=")]
    return PRESIGNED.replace(query_string="&".join(kept))


def _with_param(param: str, value: str) -> Wire:
    return PRESIGNED.replace(
        query_string=re.sub(rf"{param}=[^&]*", f"{param}={value}", PRESIGNED.query_string)
    )


def test_presigned_claim_is_read() -> None:
    info = PRESIGNED.extract()
    assert info is not None
    assert info.presigned and info.expires_seconds == 600
    assert info.signed_headers == ("host",)
    assert info.request_time == WHEN and info.security_token is None


@pytest.mark.parametrize(
    "param",
    ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders"],
)
def test_presign_missing_param(param: str) -> None:
    assert _incomplete(_without(param)) == (
        "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', "
        "'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders'. "
        "Re-examine the query-string parameters."
    )


def test_presign_without_expires_is_accepted() -> None:
    info = _without("X-Amz-Expires").extract()
    assert info is not None and info.expires_seconds is None


def test_presign_wrong_algorithm() -> None:
    message = _incomplete(_with_param("X-Amz-Algorithm", "AWS4-ECDSA-P256-SHA256"))
    assert message == 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"'


def test_presign_repeated_param() -> None:
    wire = PRESIGNED.replace(query_string=PRESIGNED.query_string + "&X-Amz-Date=20261128T010930Z")
    assert "only once" in _incomplete(wire)


def test_presign_bad_credential() -> None:
    message = _incomplete(_with_param("X-Amz-Credential", "AKID%2F20261128%2Fus-east-1"))
    assert message.startswith("Error parsing the X-Amz-Credential parameter")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("abc", "X-Amz-Expires should be a number"),
        ("-5", "X-Amz-Expires should be a number"),
        ("0", "X-Amz-Expires must be at least 1 second"),
        ("604801", "X-Amz-Expires must be less than a week (in seconds) that is 604800"),
        ("9" * 5000, "X-Amz-Expires must be less than a week (in seconds) that is 604800"),
        (
            "0" * 5000 + "9" * 5000,
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        ),
    ],
)
def test_presign_bad_expires(value: str, expected: str) -> None:
    assert _incomplete(_with_param("X-Amz-Expires", value)) == expected


@pytest.mark.parametrize("value", ["1", "604800", "0000900"])
def test_presign_expires_bounds(value: str) -> None:
    info = _with_param("X-Amz-Expires", value).extract()
    assert info is not None and info.expires_seconds == int(value)


def test_presign_token_from_query_and_encoded_names() -> None:
    wire = sign("GET", "https://sts.amazonaws.com/", service="sts", token=TOKEN, presign_expires=60)
    info = wire.replace(
        query_string=wire.query_string.replace("X-Amz-Credential", "X-Amz-Cred%65ntial")
    ).extract()
    assert info is not None and info.security_token == TOKEN


def test_header_and_query_auth_together() -> None:
    wire = PRESIGNED.replace(headers=(*PRESIGNED.headers, ("authorization", _auth())))
    assert _incomplete(wire).startswith("Only one auth mechanism allowed")


def test_request_time_is_utc_aware() -> None:
    info = PRESIGNED.extract()
    assert info is not None
    assert info.request_time.utcoffset() is not None
    assert info.request_time == datetime(2026, 11, 28, 1, 9, 30, tzinfo=UTC)
