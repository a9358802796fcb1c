"""Real botocore clients over a real socket: what arrives on the wire verifies.

A tiny HTTP server records each request exactly as received (raw request target, header list,
body); this catches anything the HTTP stack changes between signing and sending.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from sigv4_signing import AKID, SECRET, TOKEN, Wire

from warden.sigv4 import AuthFailure, SigV4Error

_XML_ERROR = (
    b"<ErrorResponse><Error><Type>Sender</Type><Code>Denied</Code><Message>recorded</Message>"
    b"</Error><RequestId>r</RequestId></ErrorResponse>"
)


class _Recorder(BaseHTTPRequestHandler):
    captured: list[Wire]

    def _record(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        raw_path, _, query = self.path.partition("?")
        headers = tuple((name.lower(), value) for name, value in self.headers.items())
        self.captured.append(Wire(self.command, raw_path, query, headers, body))
        form = "x-www-form-urlencoded" in (self.headers.get("Content-Type") or "")
        answer = _XML_ERROR if form else b'{"__type": "Denied", "message": "recorded"}'
        self.send_response(403)
        self.send_header("Content-Type", "text/xml" if form else "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = do_PUT = do_DELETE = _record

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[Wire]]]:
    captured: list[Wire] = []
    handler = type("Handler", (_Recorder,), {"captured": captured})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", captured
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _call(
    endpoint: str,
    service: str,
    region: str,
    call: Callable[[Any], object],
    token: str | None = None,
) -> None:
    client = botocore.session.get_session().create_client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
        aws_session_token=token,
        config=Config(retries={"total_max_attempts": 1}),
    )
    try:
        call(client)
    except (ClientError, BotoCoreError):
        pass  # the recorder answers 403; only the request matters here
    finally:
        client.close()


CALLS: dict[str, tuple[str, str, Callable[[Any], object], str | None]] = {
    "iam-query": ("iam", "us-east-1", lambda c: c.list_users(PathPrefix="/a b/"), None),
    "sts-token": ("sts", "eu-west-1", lambda c: c.get_caller_identity(), TOKEN),
    "rds-query": (
        "rds",
        "ap-south-1",
        lambda c: c.describe_db_clusters(
            Filters=[{"Name": "engine", "Values": ["aurora-postgresql"]}]
        ),
        None,
    ),
    "secretsmanager-json": (
        "secretsmanager",
        "us-east-1",
        lambda c: c.get_secret_value(SecretId="prod/db ✓+~"),
        None,
    ),
    "guardduty-rest-json-label": (
        "guardduty",
        "eu-central-1",
        lambda c: c.get_detector(DetectorId="a b/c~+ü%2F.."),
        None,
    ),
    "guardduty-rest-json-query": (
        "guardduty",
        "eu-central-1",
        lambda c: c.list_detectors(MaxResults=5, NextToken="tok en/+="),
        None,
    ),
    "securityhub-rest-json-post": (
        "securityhub",
        "us-east-1",
        lambda c: c.get_findings(Filters={"Id": [{"Value": "x y", "Comparison": "EQUALS"}]}),
        None,
    ),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_client_requests_verify_as_received(recorder: tuple[str, list[Wire]], name: str) -> None:
    endpoint, captured = recorder
    service, region, call, token = CALLS[name]
    _call(endpoint, service, region, call, token)
    assert len(captured) == 1
    wire = captured[0]
    info = wire.verify(now=datetime.now(UTC))
    assert info.region == region and info.security_token == token
    with pytest.raises(SigV4Error) as caught:
        wire.replace(body=wire.body + b"x").verify(now=datetime.now(UTC))
    assert caught.value.kind is AuthFailure.BAD_SIGNATURE


def test_presigned_url_verifies_as_received(recorder: tuple[str, list[Wire]]) -> None:
    endpoint, captured = recorder
    client = botocore.session.get_session().create_client(
        "guardduty",
        region_name="us-west-2",
        endpoint_url=endpoint,
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
    )
    try:
        url = client.generate_presigned_url(
            "get_detector", Params={"DetectorId": "d x/ü~"}, ExpiresIn=120
        )
    finally:
        client.close()
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(url, timeout=10)
    caught.value.close()
    assert len(captured) == 1
    info = captured[0].verify(now=datetime.now(UTC))
    assert info.presigned and info.expires_seconds == 120 and info.service == "guardduty"
