"""Hostile requests get a modelled AWS error with a 4xx status and leave the server healthy."""

from __future__ import annotations

import http.client
import json
import socket
import ssl

import pytest
from harness import Warden


def _conn(warden: Warden) -> http.client.HTTPSConnection:
    ctx = ssl.create_default_context(cafile=warden.ca)
    return http.client.HTTPSConnection("127.0.0.1", warden.port, context=ctx, timeout=30)


def _send(
    warden: Warden, method: str, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    c = _conn(warden)
    try:
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def _signed(warden: Warden, service: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    key, secret = warden.credentials()
    req = AWSRequest(method="POST", url=warden.endpoint + "/", data=body, headers=headers)
    SigV4Auth(Credentials(key, secret), service, "us-east-1").add_auth(req)
    return dict(req.prepare().headers)


FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
JSON = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "secretsmanager.ListSecrets"}

CASES = {
    "unsigned garbage": ("sts", b"\x00\xff\x10garbage", FORM, False),
    "unknown action": ("sts", b"Action=StealEverything&Version=2011-06-15", FORM, True),
    "missing action": ("rds", b"Version=2014-10-31", FORM, True),
    "bad percent encoding": ("iam", b"Action=ListUsers&Version=2010-05-08&Marker=%zz%", FORM, True),
    "invalid utf-8": (
        "iam",
        b"Action=ListUsers&Version=2010-05-08&PathPrefix=\xff\xfe",
        FORM,
        True,
    ),
    "wrong type": (
        "rds",
        b"Action=DescribeDBClusters&Version=2014-10-31&MaxRecords=lots",
        FORM,
        True,
    ),
    "json not an object": ("secretsmanager", b"[1,2,3]", JSON, True),
    "truncated json": ("secretsmanager", b'{"MaxResults": 5, "Filters": [', JSON, True),
    "json wrong type": ("secretsmanager", b'{"MaxResults": "five"}', JSON, True),
    "deep json": ("secretsmanager", b"[" * 100_000 + b"]" * 100_000, JSON, True),
    "unknown target": (
        "secretsmanager",
        b"{}",
        {**JSON, "X-Amz-Target": "secretsmanager.Nope"},
        True,
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_request_gets_modelled_4xx(warden: Warden, name: str) -> None:
    service, body, headers, sign = CASES[name]
    hdrs = _signed(warden, service, body, headers) if sign else dict(headers)
    status, payload = _send(warden, "POST", "/", body, hdrs)
    assert 400 <= status < 500 or status == 501, (status, payload[:300])
    text = payload.decode("utf-8", "replace")
    assert "Traceback" not in text and 'File "' not in text
    assert ("<Code>" in text) or ("__type" in text), text[:300]
    status, _ = _send(warden, "GET", "/_warden/health", b"", {})
    assert status == 200


def test_oversized_body_gets_413_without_being_read(warden: Warden) -> None:
    body = b"Action=GetCallerIdentity&Version=2011-06-15&Pad=" + b"x" * (5 * 1024 * 1024)
    status, payload = _send(warden, "POST", "/", body, FORM)
    assert status == 413, payload[:200]
    assert b"<Code>" in payload or b"__type" in payload


def test_truncated_request_leaves_server_healthy(warden: Warden) -> None:
    ctx = ssl.create_default_context(cafile=warden.ca)
    raw = socket.create_connection(("127.0.0.1", warden.port), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    s.sendall(
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 1000\r\n\r\nAction=GetCall"
    )
    s.close()
    status, payload = _send(warden, "GET", "/_warden/health", b"", {})
    assert status == 200 and json.loads(payload) == {"status": "ok"}


def test_unknown_service_scope_gets_an_aws_error(warden: Warden) -> None:
    body = b"Action=ListBuckets"
    hdrs = _signed(warden, "s3", body, FORM)
    status, payload = _send(warden, "POST", "/", body, hdrs)
    assert 400 <= status < 500
    assert b"<Code>" in payload
