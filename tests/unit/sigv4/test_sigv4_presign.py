"""presign(): byte-for-byte botocore's SigV4QueryAuth, and it verifies."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock
from urllib.parse import urlsplit

import botocore.session
import pytest
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from sigv4_signing import AKID, SECRET, TOKEN, WHEN, Wire

from warden.sigv4 import AuthFailure, SigV4Error, presign

CASES = [
    (
        "GET",
        "sts.amazonaws.com",
        "/",
        {"Action": "GetCallerIdentity", "Version": "2011-06-15"},
        None,
    ),
    ("GET", "db.example.internal:5432", "/", {"Action": "connect", "DBUser": "app user+é"}, TOKEN),
    ("GET", "h.example", "/a%20b/%E2%9C%93/~x", {"q": "a/b=c&d", "empty": ""}, None),
    ("POST", "rds.us-east-1.amazonaws.com", "/", {}, None),
]


def _botocore(method: str, host: str, path: str, query: dict[str, str], token: str | None) -> str:
    signer = SigV4QueryAuth(Credentials(AKID, SECRET, token), "svc", "eu-west-1", expires=600)
    request = AWSRequest(method=method, url=f"https://{host}{path}", params=dict(query))
    frozen = WHEN.replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=frozen):
        signer.add_auth(request)
    return urlsplit(request.url).query


def _ours(method: str, host: str, path: str, query: dict[str, str], token: str | None) -> str:
    return presign(
        method=method,
        host=host,
        path=path,
        query=query,
        access_key_id=AKID,
        secret_access_key=SECRET,
        region="eu-west-1",
        service="svc",
        now=WHEN,
        expires=600,
        session_token=token,
    )


@pytest.mark.parametrize("case", CASES, ids=[c[1] + c[2] for c in CASES])
def test_matches_botocore_exactly(case: tuple[str, str, str, dict[str, str], str | None]) -> None:
    assert _ours(*case) == _botocore(*case)


@pytest.mark.parametrize("case", CASES, ids=[c[1] + c[2] for c in CASES])
def test_presigned_output_verifies(case: tuple[str, str, str, dict[str, str], str | None]) -> None:
    method, host, path, _, token = case
    wire = Wire(method, path, _ours(*case), (("host", host),), b"")
    info = wire.verify(now=WHEN + timedelta(seconds=599))
    assert info.presigned and info.expires_seconds == 600 and info.security_token == token
    with pytest.raises(SigV4Error) as caught:
        wire.verify(now=WHEN + timedelta(seconds=601))
    assert caught.value.kind is AuthFailure.EXPIRED_REQUEST
    with pytest.raises(SigV4Error) as caught:
        wire.replace(headers=(("host", host + "x"),)).verify()
    assert caught.value.kind is AuthFailure.BAD_SIGNATURE


def test_matches_boto_rds_auth_token() -> None:
    session = botocore.session.get_session()
    client = session.create_client(
        "rds", region_name="eu-central-1", aws_access_key_id=AKID, aws_secret_access_key=SECRET
    )
    try:
        with mock.patch(
            "botocore.auth.get_current_datetime", return_value=WHEN.replace(tzinfo=None)
        ):
            token = client.generate_db_auth_token("db.example.internal", 5432, "iam_user")
    finally:
        client.close()
    ours = presign(
        method="GET",
        host="db.example.internal:5432",
        path="/",
        query={"Action": "connect", "DBUser": "iam_user"},
        access_key_id=AKID,
        secret_access_key=SECRET,
        region="eu-central-1",
        service="rds-db",
        now=WHEN,
    )
    assert token == f"db.example.internal:5432/?{ours}"


@pytest.mark.parametrize("expires", [0, -1, 604801])
def test_rejects_out_of_range_expiry(expires: int) -> None:
    with pytest.raises(ValueError, match="expires"):
        presign(
            method="GET",
            host="h",
            path="/",
            query={},
            access_key_id=AKID,
            secret_access_key=SECRET,
            region="r",
            service="s",
            now=WHEN,
            expires=expires,
        )


def test_rejects_presign_params_in_query() -> None:
    with pytest.raises(ValueError, match="X-Amz-Date"):
        presign(
            method="GET",
            host="h",
            path="/",
            query={"X-Amz-Date": "x"},
            access_key_id=AKID,
            secret_access_key=SECRET,
            region="r",
            service="s",
            now=WHEN,
        )
