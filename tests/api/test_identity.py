"""The written profile works as documented: boto3 and the aws CLI get the admin's identity."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from harness import Warden


def test_boto3_with_written_profile_returns_admin_arn(warden: Warden) -> None:
    ident = warden.client("sts").get_caller_identity()
    assert ident["Arn"] == "arn:aws:iam::123456789012:user/admin"
    assert ident["Account"] == "123456789012"
    assert ident["UserId"].startswith("AIDA")


def test_cli_with_written_profile_returns_admin_arn(warden: Warden) -> None:
    out = warden.aws("sts", "get-caller-identity", "--output", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["Arn"] == "arn:aws:iam::123456789012:user/admin"


def test_session_token_credentials_work_and_are_checked(warden: Warden) -> None:
    creds = warden.client("sts").get_session_token(DurationSeconds=900)["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    key, secret, token = creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    temp = warden.raw_client("sts", key=key, secret=secret, token=token)
    assert temp.get_caller_identity()["Arn"] == "arn:aws:iam::123456789012:user/admin"
    # A session token that was not issued with this key is refused.
    forged = warden.raw_client("sts", key=key, secret=secret, token=token[:-4] + "AAAA")
    with pytest.raises(ClientError) as err:
        forged.get_caller_identity()
    assert err.value.response["Error"]["Code"] == "InvalidClientTokenId"
    # ... and so is the temporary key without its token.
    bare = warden.raw_client("sts", key=key, secret=secret)
    with pytest.raises(ClientError) as err:
        bare.get_caller_identity()
    assert err.value.response["Error"]["Code"] == "InvalidClientTokenId"
    # Session credentials cannot mint more session credentials.
    with pytest.raises(ClientError) as err:
        temp.get_session_token()
    assert err.value.response["Error"]["Code"] == "AccessDenied"


def test_session_token_duration_is_validated(warden: Warden) -> None:
    with pytest.raises(ClientError) as err:
        warden.client("sts").get_session_token(DurationSeconds=129_601)
    assert err.value.response["Error"]["Code"] == "ValidationError"


def test_expired_session_credentials_are_refused(warden: Warden) -> None:
    from datetime import UTC, datetime, timedelta

    from warden.store.db import Store
    from warden.store.schema import sts_credentials

    creds = warden.client("sts").get_session_token(DurationSeconds=900)["Credentials"]
    temp = warden.raw_client(
        "secretsmanager",
        key=creds["AccessKeyId"],
        secret=creds["SecretAccessKey"],
        token=creds["SessionToken"],
    )
    store = Store.sqlite_in(warden.data_dir)
    try:
        with store.begin() as conn:
            conn.execute(
                sts_credentials.update()
                .where(sts_credentials.c.access_key_id == creds["AccessKeyId"])
                .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
            )
    finally:
        store.close()
    import time

    time.sleep(2.5)  # the credential cache holds a resolved key for up to 2 s
    with pytest.raises(ClientError) as err:
        temp.list_secrets()
    assert err.value.response["Error"]["Code"] == "ExpiredTokenException"


def test_health_is_unauthenticated_and_minimal(warden: Warden) -> None:
    import ssl
    import urllib.request

    ctx = ssl.create_default_context(cafile=warden.ca)
    with urllib.request.urlopen(f"{warden.endpoint}/_warden/health", context=ctx) as r:
        assert json.loads(r.read()) == {"status": "ok"}
