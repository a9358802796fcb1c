"""Rotation against a real PostgreSQL, through boto3 and the aws CLI.

The server's certificate comes from the warden data dir's CA, and the secrets say
``"ssl": true``: every rotation step connects with ``sslmode=verify-full``. Outcomes are read
back as a user would: GetSecretValue / DescribeSecret / ListSecretVersionIds, logging in to
PostgreSQL with what they return, and the rotation events in CloudTrail LookupEvents. The
last test scans the data dir and the server log for every password used here.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from botocore.exceptions import ClientError
from harness import Warden, free_port
from rotation_db import Database, scan_for, start_database

FN = "arn:aws:lambda:us-east-1:123456789012:function:SecretsManagerRDSPostgreSQLRotation"
SINGLE, MULTI = FN + "SingleUser", FN + "MultiUser"
SEEN: set[str] = set()  # every password these tests saw, for the final scan
T = TypeVar("T")


@pytest.fixture(scope="module")
def db(warden: Warden) -> Iterator[Database]:
    database = start_database(Path(warden.data_dir) / "tls")
    SEEN.add(database.master.password.reveal())
    yield database
    database.close()


@pytest.fixture(scope="module")
def sm(warden: Warden) -> Any:
    return warden.client("secretsmanager")


def _eventually(check: Callable[[], T | None], what: str, timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _value(sm: Any, secret_id: str, stage: str = "AWSCURRENT") -> dict[str, Any]:
    doc = json.loads(sm.get_secret_value(SecretId=secret_id, VersionStage=stage)["SecretString"])
    SEEN.add(doc.get("password", ""))
    return dict(doc)


def _rotated(sm: Any, secret_id: str, version_id: str) -> dict[str, Any]:
    """DescribeSecret once the rotation to ``version_id`` has completed."""

    def done() -> dict[str, Any] | None:
        described = sm.describe_secret(SecretId=secret_id)
        stages = described["VersionIdsToStages"]
        finished = stages.get(version_id) == ["AWSCURRENT"]
        return dict(described) if finished and "LastRotatedDate" in described else None

    return _eventually(done, f"rotation of {secret_id} to {version_id}")


def _events(warden: Warden, arn: str, name: str) -> list[dict[str, Any]]:
    trail: Any = warden.client("cloudtrail")
    found = trail.lookup_events(
        LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": arn}]
    )["Events"]
    return [json.loads(e["CloudTrailEvent"]) for e in found if e["EventName"] == name]


def _user(db: Database, prefix: str) -> tuple[str, str]:
    name, password = f"{prefix}_{uuid.uuid4().hex[:8]}", "initial-" + uuid.uuid4().hex
    db.create_user(name, password)
    SEEN.add(password)
    return name, password


def _create(sm: Any, doc: dict[str, Any]) -> str:
    name = f"rotation/{uuid.uuid4().hex[:10]}"
    return str(sm.create_secret(Name=name, SecretString=json.dumps(doc))["ARN"])


def test_single_user_rotation(warden: Warden, sm: Any, db: Database) -> None:
    user, old = _user(db, "single")
    arn = _create(sm, db.secret(user, old, ssl=True))
    started = sm.rotate_secret(
        SecretId=arn, RotationLambdaARN=SINGLE, RotationRules={"AutomaticallyAfterDays": 30}
    )
    described = _rotated(sm, arn, started["VersionId"])
    new = _value(sm, arn)
    assert new["username"] == user and new["password"] != old
    assert db.logs_in(user, new["password"])
    assert not db.logs_in(user, old)
    assert _value(sm, arn, "AWSPREVIOUS")["password"] == old
    assert new | {"password": old} == db.secret(user, old, ssl=True)  # other keys kept
    assert described["RotationEnabled"] is True and "NextRotationDate" in described
    versions = sm.list_secret_version_ids(SecretId=arn)["Versions"]
    assert sorted(v["VersionStages"] for v in versions) == [["AWSCURRENT"], ["AWSPREVIOUS"]]
    assert [e["eventName"] for e in _events(warden, arn, "RotationSucceeded")] == [
        "RotationSucceeded"
    ]


def test_alternating_users_through_the_cli(warden: Warden, sm: Any, db: Database) -> None:
    master_arn = _create(sm, db.secret(db.master.username, db.master.password.reveal()))
    user, old = _user(db, "multi")
    arn = _create(sm, db.secret(user, old, masterarn=master_arn, ssl=True))
    for round_ in range(2):
        args = ["secretsmanager", "rotate-secret", "--secret-id", arn, "--output", "json"]
        if round_ == 0:
            args += ["--rotation-lambda-arn", MULTI, "--rotation-rules", "AutomaticallyAfterDays=7"]
        out = warden.aws(*args)
        assert out.returncode == 0, out.stderr
        _rotated(sm, arn, json.loads(out.stdout)["VersionId"])
        current, previous = _value(sm, arn), _value(sm, arn, "AWSPREVIOUS")
        expected = f"{user}_clone" if round_ == 0 else user
        assert current["username"] == expected
        assert {current["username"], previous["username"]} == {user, f"{user}_clone"}
        # Both users log in, each with the password its latest secret version holds.
        assert db.logs_in(current["username"], current["password"])
        assert db.logs_in(previous["username"], previous["password"])
    assert not db.logs_in(user, old)
    listed = warden.aws("secretsmanager", "list-secret-version-ids", "--secret-id", arn)
    assert listed.returncode == 0 and "AWSPREVIOUS" in listed.stdout


def test_rotate_immediately_false_only_tests(warden: Warden, sm: Any, db: Database) -> None:
    user, old = _user(db, "later")
    arn = _create(sm, db.secret(user, old))  # no "ssl" key: verified TLS, else plain
    sm.rotate_secret(
        SecretId=arn,
        RotationLambdaARN=SINGLE,
        RotateImmediately=False,
        RotationRules={"ScheduleExpression": "rate(10 days)"},
    )
    _eventually(lambda: _events(warden, arn, "TestRotationSucceeded"), "the configuration test")
    described = sm.describe_secret(SecretId=arn)
    assert list(described["VersionIdsToStages"].values()) == [["AWSCURRENT"]]
    assert described["RotationEnabled"] is True and "NextRotationDate" in described
    assert "LastRotatedDate" not in described
    assert _value(sm, arn)["password"] == old and db.logs_in(user, old)


def _failure(warden: Warden, arn: str) -> dict[str, Any]:
    return _eventually(lambda: _events(warden, arn, "RotationFailed"), "a RotationFailed event")[0]


def test_failures_are_recorded_and_leave_awscurrent_alone(
    warden: Warden, sm: Any, db: Database
) -> None:
    user, old = _user(db, "fail")
    unreachable = _create(sm, db.secret(user, old) | {"port": free_port()})
    sm.rotate_secret(SecretId=unreachable, RotationLambdaARN=SINGLE)
    assert _failure(warden, unreachable)["errorCode"] == "Unreachable"
    with pytest.raises(ClientError) as err:
        sm.rotate_secret(SecretId=unreachable)
    assert err.value.response["Error"]["Code"] == "InvalidRequestException"
    assert "previous rotation isn't complete" in err.value.response["Error"]["Message"]
    assert _value(sm, unreachable)["password"] == old

    wrong_master = _create(sm, db.secret(db.master.username, "not-the-master-password"))
    multi = _create(sm, db.secret(user, old, masterarn=wrong_master))
    sm.rotate_secret(SecretId=multi, RotationLambdaARN=MULTI)
    assert _failure(warden, multi)["errorCode"] == "LoginFailed"

    not_builtin = FN.replace("PostgreSQL", "MySQL") + "SingleUser"
    other = _create(sm, db.secret(user, old))
    sm.rotate_secret(SecretId=other, RotationLambdaARN=not_builtin)
    failed = _failure(warden, other)
    assert failed["errorCode"] == "AccessDeniedException"
    assert "cannot invoke the specified Lambda function" in failed["errorMessage"]
    for arn in (unreachable, multi, other):
        assert _value(sm, arn)["password"] == old
        sm.cancel_rotate_secret(SecretId=arn)  # stops the retries
    assert db.logs_in(user, old)


def test_no_password_in_the_data_dir_or_the_log(warden: Warden, db: Database) -> None:
    needles = sorted(p for p in SEEN if len(p) >= 8)
    assert len(needles) >= 8  # the tests above ran and recorded what they used
    hits = scan_for(needles, [Path(warden.data_dir), warden.log, db.root])
    assert hits == []
