"""The audit trail: every call recorded, read back with CloudTrail's LookupEvents, no secrets."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from harness import Warden


def _events(warden: Warden, **kw: object) -> list[dict[str, object]]:
    ct = warden.client("cloudtrail")
    return [e for page in ct.get_paginator("lookup_events").paginate(**kw) for e in page["Events"]]


def test_allowed_call_is_recorded_in_cloudtrail_shape(warden: Warden) -> None:
    warden.client("sts").get_caller_identity()
    events = _events(
        warden,
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetCallerIdentity"}],
    )
    assert events, "GetCallerIdentity was not recorded"
    e = events[0]
    assert e["EventSource"] == "sts.amazonaws.com"
    assert e["Username"] == "admin"
    assert e["ReadOnly"] == "true"
    key, _ = warden.credentials()
    assert e["AccessKeyId"] == key
    record = json.loads(e["CloudTrailEvent"])
    assert record["userIdentity"]["arn"] == "arn:aws:iam::123456789012:user/admin"
    assert record["sourceIPAddress"] == "127.0.0.1"
    assert record["eventName"] == "GetCallerIdentity"
    assert "Boto3" in record["userAgent"] or "botocore" in record["userAgent"]
    assert record["awsRegion"] == "us-east-1"
    assert record["requestID"] and record["eventID"] == e["EventId"]


def test_failed_and_denied_calls_are_recorded(warden: Warden) -> None:
    key, secret = warden.credentials()
    bad = warden.raw_client("sts", key=key, secret=secret + "x")
    with pytest.raises(ClientError):
        bad.get_caller_identity()
    events = _events(
        warden, LookupAttributes=[{"AttributeKey": "AccessKeyId", "AttributeValue": key}]
    )
    codes = {json.loads(e["CloudTrailEvent"]).get("errorCode") for e in events}
    assert "SignatureDoesNotMatch" in codes


def test_secret_values_never_reach_the_trail_or_the_store(warden: Warden) -> None:
    secret_string = f"plaintext-{uuid.uuid4()}"
    password = f"Pw-{uuid.uuid4()}"
    sm = warden.client("secretsmanager")
    sm.create_secret(Name=f"audit-probe-{uuid.uuid4().hex[:8]}", SecretString=secret_string)
    rds = warden.client("rds")
    with pytest.raises(ClientError):  # refused by the handler, but parsed, authorized, audited
        rds.create_db_cluster(
            DBClusterIdentifier="1-not-a-valid-identifier",
            Engine="aurora-postgresql",
            MasterUsername="master",
            MasterUserPassword=password,
        )
    events = _events(warden, StartTime=datetime.now(UTC) - timedelta(minutes=10))
    names = {e["EventName"] for e in events}
    assert {"CreateSecret", "CreateDBCluster"} <= names
    blob = json.dumps(events, default=str)
    assert secret_string not in blob and password not in blob
    create = next(e for e in events if e["EventName"] == "CreateSecret")
    params = json.loads(create["CloudTrailEvent"])["requestParameters"]
    assert params["name"].startswith("audit-probe-")  # CloudTrail's lowerCamel member names
    assert params["secretString"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    # Nothing on disk holds them either.
    for path in warden.data_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert secret_string.encode() not in data, path
            assert password.encode() not in data, path


def test_lookup_filters_time_range_and_pages(warden: Warden) -> None:
    sts = warden.client("sts")
    start = datetime.now(UTC) - timedelta(seconds=5)
    for _ in range(7):
        sts.get_caller_identity()
    ct = warden.client("cloudtrail")
    attrs = [{"AttributeKey": "EventName", "AttributeValue": "GetCallerIdentity"}]
    first = ct.lookup_events(LookupAttributes=attrs, StartTime=start, MaxResults=3)
    assert len(first["Events"]) == 3 and "NextToken" in first
    seen = [e["EventId"] for e in first["Events"]]
    token = first["NextToken"]
    while token:
        page = ct.lookup_events(
            LookupAttributes=attrs, StartTime=start, MaxResults=3, NextToken=token
        )
        seen += [e["EventId"] for e in page["Events"]]
        token = page.get("NextToken")
    assert len(seen) == len(set(seen)) >= 7
    times = [e["EventTime"] for e in first["Events"]]
    assert times == sorted(times, reverse=True)
    # A token bound to one filter does not continue another.
    with pytest.raises(ClientError) as err:
        ct.lookup_events(MaxResults=3, NextToken=first["NextToken"])
    assert err.value.response["Error"]["Code"] == "InvalidNextTokenException"
    with pytest.raises(ClientError) as err:
        ct.lookup_events(NextToken="forged.token")
    assert err.value.response["Error"]["Code"] == "InvalidNextTokenException"
    future = ct.lookup_events(StartTime=datetime.now(UTC) + timedelta(hours=1))
    assert future["Events"] == []


def test_lookup_rejects_bad_arguments(warden: Warden) -> None:
    ct = warden.client("cloudtrail")
    two = [
        {"AttributeKey": "EventName", "AttributeValue": "A"},
        {"AttributeKey": "Username", "AttributeValue": "B"},
    ]
    cases = [
        ({"LookupAttributes": two}, "InvalidLookupAttributesException"),
        ({"MaxResults": 51}, "InvalidMaxResultsException"),
        (
            {"StartTime": datetime.now(UTC), "EndTime": datetime.now(UTC) - timedelta(hours=1)},
            "InvalidTimeRangeException",
        ),
    ]
    for kwargs, code in cases:
        with pytest.raises(ClientError) as err:
            ct.lookup_events(**kwargs)
        assert err.value.response["Error"]["Code"] == code


def test_cli_lookup_events(warden: Warden) -> None:
    warden.client("sts").get_caller_identity()
    out = warden.aws(
        "cloudtrail",
        "lookup-events",
        "--max-results",
        "2",
        "--output",
        "json",
        "--lookup-attributes",
        "AttributeKey=EventSource,AttributeValue=sts.amazonaws.com",
    )
    assert out.returncode == 0, out.stderr
    events = json.loads(out.stdout)["Events"]
    assert events and all(e["EventSource"] == "sts.amazonaws.com" for e in events)


def test_forwarding_headers_cannot_change_the_recorded_source(warden: Warden) -> None:
    """warden is not behind a proxy: a client's X-Forwarded-For is not its address."""
    sts = warden.client("sts")

    def forge(request: object, **_: object) -> None:
        request.headers["X-Forwarded-For"] = "203.0.113.9"  # type: ignore[attr-defined]
        request.headers["X-Forwarded-Proto"] = "http"  # type: ignore[attr-defined]

    sts.meta.events.register("before-sign.sts.GetCallerIdentity", forge)
    request_id = sts.get_caller_identity()["ResponseMetadata"]["RequestId"]
    found = [
        json.loads(str(e["CloudTrailEvent"]))
        for e in _events(
            warden,
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetCallerIdentity"}],
        )
    ]
    record = next(r for r in found if r["requestID"] == request_id)
    assert record["sourceIPAddress"] == "127.0.0.1"
