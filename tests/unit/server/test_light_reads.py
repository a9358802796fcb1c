"""A plain read call the server answers on its event loop, as ``app._serve`` does: first
steps, then the rest in one store snapshot. Its reads must not open connections of their
own: the caller's policies are read (on a cache miss) before the call's snapshot begins."""

from __future__ import annotations

import configparser
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from sqlalchemy import event

from warden.protocol.wire import WireRequest
from warden.server.app import Runtime, open_runtime
from warden.server.init import init

ENDPOINT = "https://127.0.0.1:9443"


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    init(tmp_path / "d")
    rt = open_runtime(tmp_path / "d")
    yield rt
    rt.close()


def _describe(rt: Runtime, data_dir: Path) -> WireRequest:
    creds = configparser.ConfigParser()
    creds.read(data_dir / "aws" / "credentials")
    key, secret = creds["warden"]["aws_access_key_id"], creds["warden"]["aws_secret_access_key"]
    body = b"Action=DescribeDBClusters&Version=2014-10-31&DBClusterIdentifier=c1"
    aws = AWSRequest(
        method="POST",
        url=ENDPOINT + "/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials(key, secret), "rds", "us-east-1").add_auth(aws)
    headers = tuple((k.lower(), v) for k, v in aws.prepare().headers.items())
    headers += (("host", ENDPOINT.removeprefix("https://")),)
    return WireRequest("POST", "/", "", headers, body, "127.0.0.1", True)


def test_a_light_call_with_a_cold_policy_cache_opens_no_connection(
    runtime: Runtime, tmp_path: Path
) -> None:
    req = _describe(runtime, tmp_path / "d")
    pipeline = runtime.pipeline

    def serve() -> bytes:
        started = pipeline.start(req)
        assert pipeline.light(started)
        with runtime.store.snapshot():
            return pipeline.finish(started).body

    assert b"DBClusterNotFoundFault" in serve()  # authorized (read c1: none), then answered
    opened: list[object] = []
    readers = runtime.store._readers
    assert readers is not None
    event.listen(readers._engine, "connect", lambda *_: opened.append(None))
    pipeline._authorizer.invalidate()  # the next decision reads the admin's policies
    assert b"DBClusterNotFoundFault" in serve()
    assert opened == []
