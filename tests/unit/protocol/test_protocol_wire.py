"""Focused behaviour of the Wire: identification, bad input per protocol, routing, output rules."""

from __future__ import annotations

import json
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from protocol_samples import Sampler, parse, to_wire

from warden.core.errors import AwsError
from warden.protocol.dispatch import Wire
from warden.protocol.errors import ServiceError
from warden.protocol.specs import Registry
from warden.protocol.wire import WireRequest

FORM = (("content-type", "application/x-www-form-urlencoded; charset=utf-8"),)


def _form(body: str, query: str = "", method: str = "POST") -> WireRequest:
    return WireRequest(method, "/", query, FORM, body.encode())


def _json(target: str, body: bytes) -> WireRequest:
    return WireRequest("POST", "/", "", (("x-amz-target", target),), body)


def _fails(wire: Wire, service: str, req: WireRequest) -> tuple[str, int, str]:
    spec = wire.registry.spec(service)
    with pytest.raises(AwsError) as caught:
        wire.parse(spec, req)
    resp = wire.serialize_error(spec, caught.value, "rid")
    op = spec.model.operation_model(sorted(spec.operation_names)[0])
    error = parse(spec.protocol, resp, op.output_shape)["Error"]
    return error["Code"], resp.status, error.get("Message") or ""


def _params(wire: Wire, service: str, req: WireRequest) -> dict[str, Any]:
    return wire.parse(wire.registry.spec(service), req).params


# --- identification -----------------------------------------------------------------
def test_identify_by_scope_target_unsigned_action_version_and_route(wire: Wire) -> None:
    assert wire.identify(_form("Action=ListUsers"), "iam").name == "iam"
    assert wire.identify(_json("secretsmanager.ListSecrets", b"{}"), None).name == "secretsmanager"
    unsigned = _form("Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=a")
    assert wire.identify(unsigned, None).name == "sts"
    assert wire.identify(_form("Action=DescribeVpcs&Version=2016-11-15"), None).name == "ec2"
    detectors = WireRequest("GET", "/detector", "", (), b"")
    assert wire.identify(detectors, None).name == "guardduty"
    with pytest.raises(AwsError) as unknown:
        wire.identify(_form("Action=ListBuckets"), "s3")
    assert unknown.value.code == "InvalidAction"
    with pytest.raises(AwsError) as anonymous:
        wire.identify(_form("Action=ListUsers"), None)
    assert anonymous.value.code == "MissingAuthenticationToken"


# --- query and ec2 --------------------------------------------------------------------
def test_query_action_errors(wire: Wire) -> None:
    assert _fails(wire, "iam", _form("Version=2010-05-08"))[:2] == ("MissingAction", 400)
    assert _fails(wire, "iam", _form("Action=Fly"))[:2] == ("InvalidAction", 400)
    assert _fails(wire, "iam", _form("Action=ListUsers&x=%FF"))[:2] == ("MalformedQueryString", 404)
    assert _fails(wire, "ec2", _form("Action=RunRockets"))[:2] == ("InvalidAction", 400)


def test_query_get_and_url_parameters(wire: Wire) -> None:
    req = _form("", query="Action=GetUser&UserName=bob", method="GET")
    call = wire.parse(wire.registry.spec("iam"), req)
    assert (call.operation, call.params) == ("GetUser", {"UserName": "bob"})


@pytest.mark.parametrize(
    ("service", "body", "code"),
    [
        ("rds", "Action=DescribeDBClusters&MaxRecords=abc", "InvalidParameterValue"),
        ("rds", "Action=DescribeDBClusters&MaxRecords=99999999999", "InvalidParameterValue"),
        ("rds", "Action=DescribeDBClusters&IncludeShared=maybe", "InvalidParameterValue"),
        ("rds", "Action=DescribeDBClusters&IncludeShared=TRUE", "InvalidParameterValue"),
        ("rds", "Action=DescribeEvents&StartTime=yesterday", "InvalidParameterValue"),
        ("ec2", "Action=ImportKeyPair&KeyName=k&PublicKeyMaterial=%21%21", "InvalidParameterValue"),
        ("iam", "Action=GetUser&UserName=", "ValidationError"),
        ("iam", "Action=CreateUser", "MissingParameter"),
        ("ec2", "Action=ImportKeyPair&KeyName=k", "MissingParameter"),
    ],
)
def test_query_bad_values(wire: Wire, service: str, body: str, code: str) -> None:
    got, status, message = _fails(wire, service, _form(body))
    assert (got, status) == (code, 400)
    assert message


def test_query_lists_ignore_unknowns_and_tolerate_huge_indices(wire: Wire) -> None:
    body = (
        "Action=CreateUser&UserName=bob&Bogus.member.1=x"
        "&Tags.member.999999999.Key=late&Tags.member.999999999.Value=2"
        "&Tags.member.7.Key=early&Tags.member.7.Value=1&Tags.member.x.Key=no"
    )
    assert _params(wire, "iam", _form(body)) == {
        "UserName": "bob",
        "Tags": [{"Key": "early", "Value": "1"}, {"Key": "late", "Value": "2"}],
    }
    assert _params(wire, "rds", _form("Action=DescribeDBClusters&Filters=")) == {"Filters": []}
    ec2 = "Action=DescribeVpcs&VpcId.2=b&VpcId.1=a&Filter.1.Name=n&Filter.1.Value.1=v"
    assert _params(wire, "ec2", _form(ec2)) == {
        "VpcIds": ["a", "b"],
        "Filters": [{"Name": "n", "Values": ["v"]}],
    }


def test_too_large_body(registry: Registry) -> None:
    small = Wire(registry, pagination_key=b"k" * 16, max_body=100)
    for service in ("iam", "secretsmanager"):
        spec = registry.spec(service)
        with pytest.raises(AwsError) as caught:
            small.parse(spec, _form("Action=ListUsers&" + "x" * 200))
        assert caught.value.status == 413


# --- json -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("target", "body", "code"),
    [
        ("secretsmanager.Fly", b"{}", "UnknownOperationException"),
        ("kms.ListKeys", b"{}", "UnknownOperationException"),
        ("secretsmanager.ListSecrets", b"[1]", "SerializationException"),
        ("secretsmanager.ListSecrets", b"{", "SerializationException"),
        ("secretsmanager.ListSecrets", b"\xff\xfe", "SerializationException"),
        ("secretsmanager.ListSecrets", b'{"MaxResults":"10"}', "SerializationException"),
        ("secretsmanager.ListSecrets", b'{"MaxResults":true}', "SerializationException"),
        ("secretsmanager.ListSecrets", b'{"MaxResults":1e400}', "SerializationException"),
        ("secretsmanager.ListSecrets", b'{"MaxResults":4294967296}', "SerializationException"),
        ("secretsmanager.GetSecretValue", b'{"SecretId":"\\ud800"}', "SerializationException"),
        ("secretsmanager.GetSecretValue", b"{}", "ValidationException"),
        ("secretsmanager.ListSecrets", b"[" * 100_000, "SerializationException"),
        ("secretsmanager.ListSecrets", b'{"Filters":' * 5000, "SerializationException"),
    ],
)
def test_json_bad_input(wire: Wire, target: str, body: bytes, code: str) -> None:
    assert _fails(wire, "secretsmanager", _json(target, body))[:2] == (code, 400)


def test_json_values(wire: Wire) -> None:
    kms = _json(
        "TrentService.Encrypt",
        json.dumps(
            {"KeyId": "k", "Plaintext": "aGk=", "Unknown": {"x": 1}, "GrantTokens": None}
        ).encode(),
    )
    assert _params(wire, "kms", kms) == {"KeyId": "k", "Plaintext": b"hi"}
    rotation = _json(
        "secretsmanager.ListSecrets",
        b'{"Filters":[{"Key":"name","Values":["a"]}],"MaxResults":5}',
    )
    assert _params(wire, "secretsmanager", rotation)["MaxResults"] == 5
    trail = _json(
        "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
        b'{"StartTime":1700000000.000001,"EndTime":"2024-01-01T00:00:00Z"}',
    )
    assert _params(wire, "cloudtrail", trail) == {
        "StartTime": datetime(2023, 11, 14, 22, 13, 20, 1, tzinfo=UTC),
        "EndTime": datetime(2024, 1, 1, tzinfo=UTC),
    }


# --- rest-json ------------------------------------------------------------------------
def test_rest_labels_routes_and_methods(wire: Wire) -> None:
    gd = wire.registry.spec("guardduty")
    model = gd.model
    req = to_wire(model, model.operation_model("GetDetector"), {"DetectorId": "a/b c%"})
    assert "%2F" in req.raw_path
    assert wire.parse(gd, req).params == {"DetectorId": "a/b c%"}
    findings = WireRequest("POST", "/detector/d1/findings/get", "", (), b'{"findingIds":["f"]}')
    call = wire.parse(gd, findings)
    assert (call.operation, call.params) == (
        "GetFindings",
        {"DetectorId": "d1", "FindingIds": ["f"]},
    )
    sh = wire.registry.spec("securityhub")
    greedy = WireRequest("DELETE", "/insights/arn:aws:securityhub:r:1:insight/x/y", "", (), b"")
    assert wire.parse(sh, greedy).params == {"InsightArn": "arn:aws:securityhub:r:1:insight/x/y"}
    assert _fails(wire, "guardduty", WireRequest("BREW", "/detector", "", (), b""))[0] == (
        "UnknownOperationException"
    )
    bad_label = WireRequest("GET", "/detector/%FF", "", (), b"")
    assert _fails(wire, "guardduty", bad_label)[0] == "SerializationException"
    bad_query = WireRequest("GET", "/detector", "maxResults=ten", (), b"")
    assert _fails(wire, "guardduty", bad_query)[0] == "SerializationException"


def test_rest_status_codes(wire: Wire) -> None:
    gd = wire.registry.spec("guardduty")
    tagged = wire.serialize(gd, "TagResource", {}, "rid")
    assert (tagged.status, tagged.body) == (204, b"")
    created = wire.serialize(gd, "CreateInvestigation", {}, "rid")
    assert created.status == 202
    sh = wire.registry.spec("securityhub")
    assert wire.serialize(sh, "DescribeHub", {"HubArn": "h"}, "rid").status == 200


# --- output rules -----------------------------------------------------------------------
def test_strict_output_rejects_unknown_members(wire: Wire, registry: Registry) -> None:
    iam = registry.spec("iam")
    with pytest.raises(KeyError):
        wire.serialize(iam, "GetUser", {"User": {"UserName": "b"}, "Extra": 1}, "rid")
    lenient = Wire(registry, pagination_key=b"k" * 16)
    resp = lenient.serialize(iam, "ListUsers", {"Users": [], "Extra": 1}, "rid")
    assert b"Extra" not in resp.body
    with pytest.raises(TypeError):
        lenient.serialize(iam, "ListUsers", {"Users": [], "IsTruncated": "no"}, "rid")


def test_xml_text_survives_any_string(wire: Wire) -> None:
    iam = wire.registry.spec("iam")
    name = "a&b<c>\r\n\t\x00\x1f\ud800 é"
    resp = wire.serialize(iam, "GetUser", {"User": {"UserName": name, "Path": "/"}}, "rid")
    op = iam.model.operation_model("GetUser")
    assert parse("query", resp, op.output_shape)["User"]["UserName"] == (
        "a&b<c>\r\n\t\ufffd\ufffd\ufffd é"
    )


def test_timestamps_from_handlers(wire: Wire) -> None:
    sm = wire.registry.spec("secretsmanager")
    op = sm.model.operation_model("DescribeSecret")
    naive = datetime(2024, 5, 6, 7, 8, 9, 123000)
    for value in (naive, naive.replace(tzinfo=UTC), 1714979289.123):
        resp = wire.serialize(sm, "DescribeSecret", {"CreatedDate": value}, "rid")
        assert parse("json", resp, op.output_shape)["CreatedDate"] == naive.replace(tzinfo=UTC)
    rds = wire.registry.spec("rds")
    out = {"Events": [{"Date": naive}]}
    resp = wire.serialize(rds, "DescribeEvents", out, "rid")
    assert b"<Date>2024-05-06T07:08:09.123Z</Date>" in resp.body


# --- modelled errors ----------------------------------------------------------------------
def test_modelled_errors_use_model_codes(wire: Wire, registry: Registry) -> None:
    cases = [
        ("iam", "NoSuchEntityException", "NoSuchEntity", 404),
        ("rds", "DBClusterNotFoundFault", "DBClusterNotFoundFault", 404),
        ("secretsmanager", "ResourceNotFoundException", "ResourceNotFoundException", 400),
        ("secretsmanager", "InternalServiceError", "InternalServiceError", 500),
        ("guardduty", "BadRequestException", "BadRequestException", 400),
    ]
    for service, shape, code, status in cases:
        spec = registry.spec(service)
        resp = wire.serialize_error(spec, ServiceError.of(shape, message="m"), "rid")
        op = spec.model.operation_model(sorted(spec.operation_names)[0])
        assert parse(spec.protocol, resp, op.output_shape)["Error"]["Code"] == code
        assert resp.status == status
    with pytest.raises(KeyError):
        wire.serialize_error(registry.spec("iam"), ServiceError.of("NoSuchThing"), "rid")
    lenient = Wire(registry, pagination_key=b"k" * 16)
    fallback = lenient.serialize_error(registry.spec("iam"), ServiceError.of("NoSuchThing"), "r")
    assert fallback.status == 400 and b"<Code>NoSuchThing</Code>" in fallback.body
    unwritable = ServiceError.of("ResourceNotFoundException", message="m", Message=object())
    resp = lenient.serialize_error(registry.spec("secretsmanager"), unwritable, "r")
    assert json.loads(resp.body) == {"__type": "ResourceNotFoundException", "Message": "m"}


def test_ec2_error_envelope(wire: Wire) -> None:
    ec2 = wire.registry.spec("ec2")
    resp = wire.serialize_error(ec2, ServiceError.of("InvalidVpcID.NotFound", message="no"), "r9")
    assert resp.body.startswith(b"<Response><Errors><Error><Code>InvalidVpcID.NotFound</Code>")
    parsed = parse("ec2", resp, None)
    assert parsed["Error"]["Code"] == "InvalidVpcID.NotFound"
    assert parsed["ResponseMetadata"]["RequestId"] == "r9"


def test_validation_names_the_member_path(wire: Wire) -> None:
    tags = b'{"Name":"n","Tags":[{"Key":"ok"},{"Key":""}]}'
    code, _, message = _fails(wire, "secretsmanager", _json("secretsmanager.CreateSecret", tags))
    assert code == "ValidationException" and "'tags.2.member.key'" in message
    nested = "Action=CreateUser&UserName=bob&Tags.member.1.Value=v"
    code, _, message = _fails(wire, "iam", _form(nested))
    assert code == "MissingParameter" and message.endswith("Tags.1.member.Key")


def test_plans_compile_safely_from_many_threads(registry: Registry) -> None:
    fresh = Registry.load(["ec2"])
    wire = Wire(fresh, pagination_key=b"k" * 16, strict=True)
    spec = fresh.spec("ec2")
    names = sorted(spec.operation_names)[:200]
    requests = {}
    for name in names:
        op = spec.model.operation_model(name)
        params = Sampler(random.Random(name), "ec2", output=False).top(op.input_shape)
        requests[name] = to_wire(spec.model, op, params)

    def parse_all(offset: int) -> list[str]:
        order = names[offset:] + names[:offset]
        return [wire.parse(spec, requests[n]).operation for n in order]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(parse_all, range(0, 200, 25)))
    assert all(sorted(r) == names for r in results)


@pytest.mark.parametrize("number", [b"1" + b"0" * 400, b"-1" + b"0" * 30, b"1e999"])
def test_json_numbers_out_of_range(wire: Wire, number: bytes) -> None:
    trail = b'{"StartTime":' + number + b"}"
    target = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"
    assert _fails(wire, "cloudtrail", _json(target, trail))[:2] == ("SerializationException", 400)
    hub = WireRequest("POST", "/findings", "", (), b'{"MaxResults":' + number + b"}")
    assert _fails(wire, "securityhub", hub)[0] == "SerializationException"
