"""The credential report through boto3: generation, AWS's CSV columns and special values,
the four-hour regeneration window and its errors."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from harness import Warden, free_port
from principals import enable_device, make_user

from warden.services.iam.credential_report import COLUMNS
from warden.store.db import Store
from warden.store.schema import iam_credential_reports

ACCOUNT = "210987654321"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warden]:
    """A server of its own: the report covers every user of the account."""
    w = Warden(tmp_path_factory.mktemp("report") / "data", free_port())
    result = w.init("--account-id", ACCOUNT)
    assert result.returncode == 0, result.stderr
    w.start()
    yield w
    w.stop()


def _error(err: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response: Any = err.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def _rows(content: bytes) -> dict[str, dict[str, str]]:
    reader = csv.DictReader(io.StringIO(content.decode()))
    assert tuple(reader.fieldnames or ()) == COLUMNS
    return {row["user"]: row for row in reader}


def _age_report(server: Warden, hours: int) -> None:
    store = Store.sqlite_in(server.data_dir)
    try:
        with store.begin() as conn:
            conn.execute(
                iam_credential_reports.update().values(
                    generated_at=datetime.now(UTC) - timedelta(hours=hours)
                )
            )
    finally:
        store.close()


def test_report_lifecycle_and_contents(server: Warden) -> None:
    iam: Any = server.client("iam")
    with pytest.raises(ClientError) as err:
        iam.get_credential_report()
    assert _error(err) == ("ReportNotPresent", 410)

    make_user(server, "carol")  # one access key, no password, no MFA
    iam.create_user(UserName="dave")
    iam.create_login_profile(UserName="dave", Password="A-long-enough-passw0rd!")
    iam.update_account_password_policy(MaxPasswordAge=90)
    enable_device(server, "carol")
    sts: Any = server.client("sts")
    sts.get_caller_identity()  # uses the admin key: last used is recorded
    trail: Any = server.client("cloudtrail")
    trail.lookup_events(MaxResults=1)  # flushes the audit trail first

    started = iam.generate_credential_report()
    assert started["State"] == "STARTED"
    assert started["Description"] == "No report exists. Starting a new report generation task"
    report = iam.get_credential_report()
    assert report["ReportFormat"] == "text/csv"
    rows = _rows(report["Content"])

    root = rows["<root_account>"]
    assert root["arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert root["password_enabled"] == "not_supported"
    assert root["password_last_changed"] == "not_supported"
    assert root["password_next_rotation"] == "not_supported"
    assert (root["mfa_active"], root["access_key_1_active"]) == ("false", "false")
    assert root["access_key_1_last_rotated"] == "N/A"

    carol = rows["carol"]
    assert carol["arn"] == f"arn:aws:iam::{ACCOUNT}:user/carol"
    assert datetime.fromisoformat(carol["user_creation_time"]).tzinfo is not None
    assert (carol["password_enabled"], carol["password_last_used"]) == ("false", "N/A")
    assert (carol["password_last_changed"], carol["password_next_rotation"]) == ("N/A", "N/A")
    assert carol["mfa_active"] == "true"
    assert carol["access_key_1_active"] == "true"
    assert datetime.fromisoformat(carol["access_key_1_last_rotated"]).tzinfo is not None
    assert carol["access_key_1_last_used_date"] == "N/A"
    assert carol["access_key_1_last_used_region"] == "N/A"
    assert (carol["access_key_2_active"], carol["access_key_2_last_rotated"]) == ("false", "N/A")
    assert (carol["cert_1_active"], carol["cert_1_last_rotated"]) == ("false", "N/A")

    dave = rows["dave"]
    assert (dave["password_enabled"], dave["password_last_used"]) == ("true", "no_information")
    changed = datetime.fromisoformat(dave["password_last_changed"])
    rotation = datetime.fromisoformat(dave["password_next_rotation"])
    assert rotation - changed == timedelta(days=90)
    assert (dave["mfa_active"], dave["access_key_1_active"]) == ("false", "false")

    admin = rows["admin"]
    assert datetime.fromisoformat(admin["access_key_1_last_used_date"]).tzinfo is not None
    assert admin["access_key_1_last_used_region"] == "us-east-1"
    assert admin["access_key_1_last_used_service"] == "sts"

    # Within four hours the stored report is kept: a new user does not appear.
    iam.create_user(UserName="erin")
    assert iam.generate_credential_report()["State"] == "COMPLETE"
    assert "erin" not in _rows(iam.get_credential_report()["Content"])

    # Older than four hours: expired for Get, regenerated by Generate.
    _age_report(server, 5)
    with pytest.raises(ClientError) as err:
        iam.get_credential_report()
    assert _error(err) == ("ReportExpired", 410)
    assert iam.generate_credential_report()["State"] == "STARTED"
    assert "erin" in _rows(iam.get_credential_report()["Content"])


def test_report_needs_permission(server: Warden) -> None:
    key, secret = make_user(server, "nobody")
    client: Any = server.raw_client("iam", key=key, secret=secret)
    for call in (client.generate_credential_report, client.get_credential_report):
        with pytest.raises(ClientError) as err:
            call()
        assert _error(err) == ("AccessDenied", 403)


def test_cli_get_credential_report(server: Warden) -> None:
    server.client("iam").generate_credential_report()  # type: ignore[attr-defined]
    out = server.aws("iam", "get-credential-report", "--output", "json")
    assert out.returncode == 0, out.stderr
    assert '"ReportFormat": "text/csv"' in out.stdout
