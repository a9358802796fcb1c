"""Each authentication failure answers the protocol's own error code, through boto3 and the CLI.

One operation per wire protocol: query (sts, rds, iam), ec2, json (secretsmanager, kms,
cloudtrail) and rest-json (guardduty, securityhub).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from harness import Warden

CALLS: dict[str, tuple[str, Callable[[Any], Any], list[str]]] = {
    # name: (service, boto3 call, CLI args)
    "sts": ("sts", lambda c: c.get_caller_identity(), ["sts", "get-caller-identity"]),
    "rds": ("rds", lambda c: c.describe_db_clusters(), ["rds", "describe-db-clusters"]),
    "iam": ("iam", lambda c: c.list_users(), ["iam", "list-users"]),
    "ec2": ("ec2", lambda c: c.describe_security_groups(), ["ec2", "describe-security-groups"]),
    "secretsmanager": (
        "secretsmanager",
        lambda c: c.list_secrets(),
        ["secretsmanager", "list-secrets"],
    ),
    "kms": ("kms", lambda c: c.list_keys(), ["kms", "list-keys"]),
    "cloudtrail": ("cloudtrail", lambda c: c.lookup_events(), ["cloudtrail", "lookup-events"]),
    "guardduty": ("guardduty", lambda c: c.list_detectors(), ["guardduty", "list-detectors"]),
    "securityhub": ("securityhub", lambda c: c.get_findings(), ["securityhub", "get-findings"]),
}
QUERY = {"sts", "rds", "iam", "ec2"}

EXPECTED = {
    # failure: (query/ec2 code, json/rest-json code, HTTP status)
    "unsigned": ("MissingAuthenticationToken", "MissingAuthenticationTokenException", 403),
    "unknown_key": ("InvalidClientTokenId", "UnrecognizedClientException", 403),
    "bad_signature": ("SignatureDoesNotMatch", "InvalidSignatureException", 403),
}


def _client(warden: Warden, service: str, failure: str) -> Any:
    key, secret = warden.credentials()
    if failure == "unsigned":
        return warden.raw_client(
            service,
            key="x",
            secret="y",
            config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
        )
    if failure == "unknown_key":
        return warden.raw_client(service, key="AKIAIOSFODNN7EXAMPLE", secret=secret)
    return warden.raw_client(
        service, key=key, secret=secret[:-1] + ("A" if secret[-1] != "A" else "B")
    )


@pytest.mark.parametrize("failure", sorted(EXPECTED))
@pytest.mark.parametrize("name", sorted(CALLS))
def test_boto3_auth_error(warden: Warden, name: str, failure: str) -> None:
    service, call, _ = CALLS[name]
    with pytest.raises(ClientError) as err:
        call(_client(warden, service, failure))
    query_code, json_code, status = EXPECTED[failure]
    assert err.value.response["Error"]["Code"] == (query_code if name in QUERY else json_code)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


@pytest.mark.parametrize("name", ["sts", "ec2", "secretsmanager", "guardduty"])
def test_cli_auth_errors(warden: Warden, name: str) -> None:
    _, _, args = CALLS[name]
    key, secret = warden.credentials()
    endpoint = [
        "--endpoint-url",
        warden.endpoint,
        "--ca-bundle",
        warden.ca,
        "--region",
        "us-east-1",
    ]
    base = {k: v for k, v in warden.profile_env().items() if k not in ("AWS_PROFILE",)}
    base.pop("AWS_SHARED_CREDENTIALS_FILE")
    cases = {
        "unsigned": ({}, ["--no-sign-request"]),
        "unknown_key": (
            {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": secret},
            [],
        ),
        "bad_signature": ({"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret + "x"}, []),
    }
    for failure, (extra_env, flags) in cases.items():
        out = warden.aws(
            *args, *endpoint, *flags, env={**base, "AWS_CONFIG_FILE": "/dev/null", **extra_env}
        )
        query_code, json_code, _ = EXPECTED[failure]
        code = query_code if name in QUERY else json_code
        assert out.returncode != 0
        assert f"({code})" in out.stderr, (failure, out.stderr)


def test_clock_skew_is_refused(warden: Warden, monkeypatch: pytest.MonkeyPatch) -> None:
    """A request signed 20 minutes ago is refused as expired, with AWS's wording."""
    import datetime as dt

    import botocore.auth

    real = botocore.auth.get_current_datetime
    monkeypatch.setattr(
        botocore.auth, "get_current_datetime", lambda: real() - dt.timedelta(minutes=20)
    )
    key, secret = warden.credentials()
    for service, call, want in (
        ("sts", lambda c: c.get_caller_identity(), "SignatureDoesNotMatch"),
        ("secretsmanager", lambda c: c.list_secrets(), "InvalidSignatureException"),
    ):
        client = warden.raw_client(service, key=key, secret=secret)
        with pytest.raises(ClientError) as err:
            call(client)
        assert err.value.response["Error"]["Code"] == want
        assert "Signature expired" in err.value.response["Error"]["Message"]


RAW = {
    # family: (scope service, body, headers, expected IncompleteSignature code)
    "query": (
        "rds",
        b"Action=DescribeDBClusters&Version=2014-10-31",
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        "IncompleteSignature",
    ),
    "ec2": (
        "ec2",
        b"Action=DescribeSecurityGroups&Version=2016-11-15",
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        "IncompleteSignature",
    ),
    "json": (
        "kms",
        b"{}",
        {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.ListKeys"},
        "IncompleteSignatureException",
    ),
}


@pytest.mark.parametrize("family", sorted(RAW))
def test_incomplete_signature_per_protocol(warden: Warden, family: str) -> None:
    """A malformed Authorization header (no Signature) is IncompleteSignature, 400."""
    import http.client
    import ssl

    service, body, headers, code = RAW[family]
    key, _ = warden.credentials()
    auth = (
        f"AWS4-HMAC-SHA256 Credential={key}/20261128/us-east-1/{service}/aws4_request, "
        "SignedHeaders=host;x-amz-date"
    )
    conn = http.client.HTTPSConnection(
        "127.0.0.1", warden.port, context=ssl.create_default_context(cafile=warden.ca)
    )
    try:
        conn.request(
            "POST",
            "/",
            body=body,
            headers={**headers, "Authorization": auth, "X-Amz-Date": "20261128T000000Z"},
        )
        resp = conn.getresponse()
        payload = resp.read().decode()
    finally:
        conn.close()
    assert resp.status == 400, payload
    assert code in payload


def test_guardduty_rest_json_incomplete_signature(warden: Warden) -> None:
    import http.client
    import ssl

    key, _ = warden.credentials()
    conn = http.client.HTTPSConnection(
        "127.0.0.1", warden.port, context=ssl.create_default_context(cafile=warden.ca)
    )
    try:
        conn.request(
            "GET",
            "/detector",
            headers={
                "Authorization": f"AWS4-HMAC-SHA256 Credential={key}/20261128/us-east-1/guardduty/"
                "aws4_request, Signature=abc",
                "X-Amz-Date": "20261128T000000Z",
            },
        )
        resp = conn.getresponse()
        payload = resp.read().decode()
        error_type = resp.getheader("x-amzn-ErrorType") or ""
    finally:
        conn.close()
    assert resp.status == 400
    assert "IncompleteSignatureException" in payload + error_type


@pytest.mark.parametrize(
    ("service", "call", "code"),
    [
        ("ec2", lambda c: c.describe_security_groups(), "RequestExpired"),
        ("guardduty", lambda c: c.list_detectors(), "InvalidSignatureException"),
    ],
)
def test_clock_skew_other_protocols(
    warden: Warden, monkeypatch: pytest.MonkeyPatch, service: str, call: Any, code: str
) -> None:
    import datetime as dt

    import botocore.auth

    real = botocore.auth.get_current_datetime
    monkeypatch.setattr(
        botocore.auth, "get_current_datetime", lambda: real() + dt.timedelta(minutes=20)
    )
    key, secret = warden.credentials()
    with pytest.raises(ClientError) as err:
        call(warden.raw_client(service, key=key, secret=secret))
    assert err.value.response["Error"]["Code"] == code
