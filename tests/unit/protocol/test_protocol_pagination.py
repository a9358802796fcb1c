"""Sealed pagination tokens: pages reassemble, and forged, moved or replayed tokens are refused."""

from __future__ import annotations

from typing import Any

import pytest
from protocol_samples import parse

from warden.core.errors import AwsError
from warden.protocol.dispatch import Wire
from warden.protocol.pagination import page_config
from warden.protocol.specs import Registry

ITEMS = [{"DBClusterIdentifier": f"c{i:02d}"} for i in range(45)]


def _pages(wire: Wire, params: dict[str, Any], size: int | None = 20) -> list[list[Any]]:
    spec = wire.registry.spec("rds")
    pages = []
    request = dict(params, **({"MaxRecords": size} if size else {}))
    while True:
        page, members = wire.paginate(spec, "DescribeDBClusters", request, ITEMS, default_page=100)
        pages.append(page)
        if "Marker" not in members:
            return pages
        request["Marker"] = members["Marker"]


def test_pages_reassemble_the_whole_list(wire: Wire) -> None:
    pages = _pages(wire, {"Filters": [{"Name": "engine", "Values": ["aurora-postgresql"]}]})
    assert [len(p) for p in pages] == [20, 20, 5]
    assert [item for page in pages for item in page] == ITEMS
    assert _pages(wire, {}, size=None) == [ITEMS]


def test_marker_survives_botocore_and_page_size_may_change(wire: Wire) -> None:
    spec = wire.registry.spec("rds")
    page, members = wire.paginate(spec, "DescribeDBClusters", {"MaxRecords": 20}, ITEMS)
    resp = wire.serialize(spec, "DescribeDBClusters", {"DBClusters": page, **members}, "r")
    op = spec.model.operation_model("DescribeDBClusters")
    marker = parse("query", resp, op.output_shape)["Marker"]
    second, _ = wire.paginate(
        spec, "DescribeDBClusters", {"Marker": marker, "MaxRecords": 30}, ITEMS
    )
    assert second == ITEMS[20:45]


def _first_token(wire: Wire, service: str, operation: str, params: dict[str, Any]) -> str:
    spec = wire.registry.spec(service)
    config = page_config(spec, operation)
    _, members = wire.paginate(spec, operation, params, list(range(10)), default_page=3)
    token = members
    for part in config.output_token.split("."):
        token = token[part]
    assert isinstance(token, str)
    return token


def _refused_as(wire: Wire, service: str, operation: str, params: dict[str, Any]) -> str:
    spec = wire.registry.spec(service)
    with pytest.raises(AwsError) as caught:
        wire.paginate(spec, operation, params, list(range(10)))
    resp = wire.serialize_error(spec, caught.value, "rid")
    assert resp.status == 400
    op = spec.model.operation_model(operation)
    code: str = parse(spec.protocol, resp, op.output_shape)["Error"]["Code"]
    return code


def test_tampered_and_garbage_tokens_are_refused(wire: Wire) -> None:
    token = _first_token(wire, "rds", "DescribeDBClusters", {})
    flipped = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    for bad in (flipped, token[:-2], token + "AA", "abc", "é" * 10, "A" * 5000, "%%%", "=="):
        code = _refused_as(wire, "rds", "DescribeDBClusters", {"Marker": bad})
        assert code == "InvalidParameterValue"


def test_token_is_bound_to_operation_filters_and_key(wire: Wire, registry: Registry) -> None:
    token = _first_token(wire, "rds", "DescribeDBClusters", {"DBClusterIdentifier": "a"})
    assert _refused_as(wire, "rds", "DescribeDBInstances", {"Marker": token})
    replay = {"DBClusterIdentifier": "b", "Marker": token}
    assert _refused_as(wire, "rds", "DescribeDBClusters", replay) == "InvalidParameterValue"
    other = Wire(registry, pagination_key=b"other-key-000000")
    with pytest.raises(AwsError):
        other.paginate(
            registry.spec("rds"),
            "DescribeDBClusters",
            {"DBClusterIdentifier": "a", "Marker": token},
            ITEMS,
        )
    # The same filters with another page size: accepted.
    spec = registry.spec("rds")
    params = {"DBClusterIdentifier": "a", "Marker": token, "MaxRecords": 50}
    page, _ = wire.paginate(spec, "DescribeDBClusters", params, list(range(10)))
    assert page == list(range(3, 10))


@pytest.mark.parametrize(
    ("service", "operation", "token_member", "code"),
    [
        ("secretsmanager", "ListSecrets", "NextToken", "InvalidNextTokenException"),
        ("kms", "ListKeys", "Marker", "InvalidMarkerException"),
        ("guardduty", "ListDetectors", "NextToken", "BadRequestException"),
        ("securityhub", "GetFindings", "NextToken", "InvalidInputException"),
        ("iam", "ListUsers", "Marker", "InvalidInput"),
        ("ec2", "DescribeInstances", "NextToken", "InvalidParameterValue"),
        ("cloudtrail", "ListTrails", "NextToken", "InvalidNextTokenException"),
    ],
)
def test_bad_token_answers_the_services_error(
    wire: Wire, service: str, operation: str, token_member: str, code: str
) -> None:
    assert _refused_as(wire, service, operation, {token_member: "forged"}) == code


def test_more_results_flag_and_nested_output_token(wire: Wire) -> None:
    iam = wire.registry.spec("iam")
    _, first = wire.paginate(iam, "ListUsers", {"MaxItems": 4}, list(range(10)))
    assert first["IsTruncated"] is True and "Marker" in first
    _, last = wire.paginate(iam, "ListUsers", {"MaxItems": 40}, list(range(10)))
    assert last == {"IsTruncated": False}
    rds = wire.registry.spec("rds")
    _, nested = wire.paginate(
        rds, "DescribeEngineDefaultParameters", {"MaxRecords": 20}, list(range(30))
    )
    assert set(nested) == {"EngineDefaults"} and "Marker" in nested["EngineDefaults"]


def test_operations_without_a_paginator_entry_use_their_token_members(wire: Wire) -> None:
    spec = wire.registry.spec("cloudtrail")
    assert "GetQueryResults" not in spec.paginators
    config = page_config(spec, "GetQueryResults")
    assert (config.input_token, config.output_token) == ("NextToken", "NextToken")
    guardduty = wire.registry.spec("guardduty")
    assert page_config(guardduty, "DescribeOrganizationConfiguration").limit_key == "MaxResults"
    with pytest.raises(KeyError):
        page_config(wire.registry.spec("sts"), "GetCallerIdentity")
