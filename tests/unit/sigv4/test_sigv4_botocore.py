"""Requests signed by botocore's real signer verify; any tampering makes them BAD_SIGNATURE."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import pytest
from botocore.utils import percent_encode
from sigv4_signing import SECRET, TOKEN, Wire, sign

from warden.sigv4 import AuthFailure, SigningKeys, SigV4Error

FORM = ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
LABELS = ["a b", "a/b", "ünïcødé ✓", "~tilde~", "a+b", "..", "50%", "a%2Fb", "x;y=z,w", "'\"<>"]


def _rest_json(label: str) -> Wire:
    path = f"/detector/{percent_encode(label)}/findings/{percent_encode('f 1')}"
    return sign(
        "GET",
        f"https://guardduty.eu-west-1.amazonaws.com{path}?maxResults=5",
        service="guardduty",
        region="eu-west-1",
    )


SHAPES: dict[str, Callable[[], Wire]] = {
    "query-post-form": lambda: sign(
        "POST",
        "https://iam.amazonaws.com/",
        headers=[FORM],
        body=b"Action=ListUsers&Version=2010-05-08&PathPrefix=%2Fa+b%2F&Marker=",
    ),
    "json-target": lambda: sign(
        "POST",
        "https://secretsmanager.us-east-1.amazonaws.com/",
        headers=[
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Target", "secretsmanager.GetSecretValue"),
        ],
        body=json.dumps({"SecretId": "prod/db ✓"}).encode(),
        service="secretsmanager",
    ),
    **{
        f"rest-json-label-{i}": (lambda label=label: _rest_json(label))
        for i, label in enumerate(LABELS)
    },
    "odd-path": lambda: sign(
        "GET", "https://h.example/a//b/./c/../d/%7Euser/", service="execute-api"
    ),
    "repeated-and-empty-query": lambda: sign(
        "GET",
        "https://h.example/p?b=2&a=1&a=0&empty=&flag&q=%E2%9C%93&sp=a%20b&plus=%2B&tilde=~",
        service="execute-api",
    ),
    "session-token": lambda: sign(
        "POST",
        "https://sts.amazonaws.com/",
        headers=[FORM],
        body=b"Action=GetCallerIdentity",
        service="sts",
        token=TOKEN,
    ),
    "header-whitespace-and-duplicates": lambda: sign(
        "POST",
        "https://iam.amazonaws.com/",
        headers=[FORM, ("X-Custom", "  a   b \t c  "), ("X-Dup", "one"), ("X-Dup", " two  x ")],
        body=b"Action=ListRoles",
    ),
    "date-header": lambda: sign(
        "POST",
        "https://iam.amazonaws.com/",
        headers=[FORM, ("Date", "placeholder; botocore rewrites it")],
        body=b"Action=ListRoles",
    ),
    "non-default-port": lambda: sign(
        "POST", "http://127.0.0.1:4566/", headers=[FORM], body=b"Action=ListUsers"
    ),
    "lowercase-method": lambda: sign("get", "https://h.example/x", service="execute-api"),
    "content-sha256-header": lambda: sign(
        "PUT",
        "https://h.example/obj",
        headers=[("X-Amz-Content-SHA256", hashlib.sha256(b"data").hexdigest())],
        body=b"data",
        service="execute-api",
    ),
    "presigned-get": lambda: sign(
        "GET",
        "https://guardduty.us-east-1.amazonaws.com/detector/d%20x?maxResults=5&a=",
        service="guardduty",
        presign_expires=300,
    ),
    "presigned-token": lambda: sign(
        "GET",
        "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
        service="sts",
        token=TOKEN,
        presign_expires=900,
    ),
    "presigned-form-body": lambda: sign(
        "POST",
        "https://rds.us-east-1.amazonaws.com/",
        headers=[FORM],
        body={
            "Action": "CopyDBClusterSnapshot",
            "SourceDBClusterSnapshotIdentifier": "arn:aws:x y",
        },
        service="rds",
        presign_expires=3600,
    ),
}


@pytest.fixture(params=sorted(SHAPES))
def signed(request: pytest.FixtureRequest) -> Wire:
    return SHAPES[request.param]()


def test_botocore_signed_request_verifies(signed: Wire) -> None:
    info = signed.verify()
    assert info.access_key_id == "AKIAIOSFODNN7EXAMPLE"
    assert "host" in info.signed_headers
    assert info.presigned == ("X-Amz-Signature=" in signed.query_string)


def test_cached_keys_give_the_same_answer(signed: Wire) -> None:
    keys = SigningKeys(maxsize=4)
    signed.verify(keys=keys)
    signed.verify(keys=keys)
    assert len(keys) == 1
    with pytest.raises(SigV4Error) as caught:
        signed.verify(keys=keys, secret=SECRET + "x")
    assert caught.value.kind is AuthFailure.BAD_SIGNATURE
    assert len(keys) == 2


def test_session_token_is_reported() -> None:
    assert SHAPES["session-token"]().verify().security_token == TOKEN
    assert SHAPES["presigned-token"]().verify().security_token == TOKEN
    assert SHAPES["json-target"]().verify().security_token is None


def test_date_header_fallback_is_used() -> None:
    wire = SHAPES["date-header"]()
    assert not wire.header("x-amz-date")
    assert wire.verify().request_time.tzinfo is not None


def _flip(text: str, index: int) -> str:
    index %= len(text)
    char = text[index]
    return text[:index] + ("B" if char == "A" else "A") + text[index + 1 :]


def _retime(wire: Wire) -> Wire:
    if wire.header("x-amz-date"):
        return wire.with_header("x-amz-date", wire.header("x-amz-date")[:-3] + "31Z")
    if wire.header("date"):
        return wire.with_header("date", wire.header("date").replace(":30 ", ":31 "))
    return wire.replace(query_string=wire.query_string.replace("0930Z", "0931Z"))


def _rescope(wire: Wire, old: str, new: str) -> Wire:
    if wire.header("authorization"):
        value = wire.header("authorization")
        return wire.with_header("authorization", value.replace(old, new, 1))
    return wire.replace(
        query_string=wire.query_string.replace(f"%2F{old[1:-1]}%2F", f"%2F{new[1:-1]}%2F", 1)
    )


def _region(wire: Wire) -> Wire:
    for region in ("/us-east-1/", "/eu-west-1/"):
        if region in wire.header("authorization") or region[1:-1] in wire.query_string:
            return _rescope(wire, region, "/us-west-2/")
    raise AssertionError("no region found")


def _service(wire: Wire) -> Wire:
    info = wire.extract()
    assert info is not None
    return _rescope(wire, f"/{info.service}/", "/zz/")


def _query(wire: Wire) -> Wire:
    if wire.query_string and not wire.query_string.startswith("X-Amz-"):
        return wire.replace(query_string=_flip(wire.query_string, 0))
    return wire.replace(query_string=(wire.query_string + "&" if wire.query_string else "") + "x=1")


def _drop_signed_header(wire: Wire) -> Wire:
    auth = wire.header("authorization")
    if auth:
        return wire.with_header("authorization", auth.replace("host;", "").replace(";host", ""))
    widened = wire.query_string.replace(
        "X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=host%3Bx-extra"
    )
    return wire.replace(query_string=widened, headers=(*wire.headers, ("x-extra", "")))


TAMPERS: dict[str, Callable[[Wire], Wire]] = {
    "method": lambda w: w.replace(method="PUT" if w.method.upper() != "PUT" else "POST"),
    "path": lambda w: w.replace(raw_path=w.raw_path + "x"),
    "path-encoding": lambda w: w.replace(raw_path=w.raw_path.replace("/", "/%41", 1) + "%41"),
    "query": _query,
    "host-header": lambda w: w.with_header("host", w.header("host") + ".evil"),
    "body": lambda w: w.replace(body=w.body + b" "),
    "date": _retime,
    "region": _region,
    "service": _service,
    "signature": lambda w: (
        w.with_header("authorization", _flip(w.header("authorization"), -1))
        if w.header("authorization")
        else w.replace(query_string=_flip(w.query_string, -1))
    ),
    "signed-headers-list": _drop_signed_header,
}


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
def test_tampering_breaks_the_signature(signed: Wire, tamper: str) -> None:
    tampered = TAMPERS[tamper](signed)
    assert tampered != signed
    with pytest.raises(SigV4Error) as caught:
        tampered.verify()
    if tamper == "signed-headers-list" and signed.header("authorization"):
        # Without host in SignedHeaders the claim itself is malformed.
        assert caught.value.kind is AuthFailure.INCOMPLETE
    else:
        assert caught.value.kind is AuthFailure.BAD_SIGNATURE, caught.value.message


def test_wrong_secret_is_bad_signature(signed: Wire) -> None:
    with pytest.raises(SigV4Error) as caught:
        signed.verify(secret="not-the-secret")
    assert caught.value.kind is AuthFailure.BAD_SIGNATURE
    assert caught.value.message == (
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. "
        "Consult the service documentation for details."
    )


def test_tampered_signed_content_header_is_bad_signature() -> None:
    wire = SHAPES["json-target"]()
    tampered = wire.with_header("x-amz-target", "secretsmanager.DeleteSecret")
    with pytest.raises(SigV4Error) as caught:
        tampered.verify()
    assert caught.value.kind is AuthFailure.BAD_SIGNATURE


def test_tampered_session_token_is_bad_signature() -> None:
    wire = SHAPES["session-token"]()
    with pytest.raises(SigV4Error) as caught:
        wire.with_header("x-amz-security-token", TOKEN + "x").verify()
    assert caught.value.kind is AuthFailure.BAD_SIGNATURE


def test_unsigned_headers_may_change() -> None:
    wire = SHAPES["query-post-form"]()
    wire.replace(headers=(*wire.headers, ("user-agent", "anything"))).verify()
