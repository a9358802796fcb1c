"""The shipped AWS managed policies load, are self-consistent, and say what AWS's say."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

from warden.services.iam.managed_policies import (
    AWS_POLICY_ARN_PREFIX,
    ManagedPolicy,
    ManagedPolicyDataError,
    _load,
    aws_managed,
)

REQUIRED = {
    "AdministratorAccess",
    "ReadOnlyAccess",
    "IAMFullAccess",
    "IAMReadOnlyAccess",
    "AmazonRDSFullAccess",
    "AmazonRDSReadOnlyAccess",
    "SecretsManagerReadWrite",
    "AWSSecurityHubFullAccess",
    "AWSSecurityHubReadOnlyAccess",
    "AmazonGuardDutyFullAccess",
    "AmazonGuardDutyReadOnlyAccess",
}

# Single-service read-only policies: the verbs each may grant on its own service.
READ_ONLY_OWN_SERVICE = {
    "IAMReadOnlyAccess": ("iam", ("Get", "List", "Generate", "Simulate")),
    "AmazonRDSReadOnlyAccess": ("rds", ("Describe", "List")),
    "AWSSecurityHubReadOnlyAccess": ("securityhub", ("Get", "List", "BatchGet", "Describe")),
    "AmazonGuardDutyReadOnlyAccess": ("guardduty", ("Describe", "Get", "List")),
}

# Services warden implements, and the verbs ReadOnlyAccess may grant on them.
WARDEN_SERVICES = ("iam", "sts", "rds", "secretsmanager", "kms", "securityhub", "guardduty")
READ_VERBS = ("Get", "List", "Describe", "BatchGet", "Generate", "Simulate", "Download")

FULL_ACCESS_GRANTS = {
    "IAMFullAccess": "iam:*",
    "AmazonRDSFullAccess": "rds:*",
    "SecretsManagerReadWrite": "secretsmanager:*",
    "AWSSecurityHubFullAccess": "securityhub:*",
    "AmazonGuardDutyFullAccess": "guardduty:*",
}

WRITES = (
    "iam:CreateUser",
    "iam:AttachUserPolicy",
    "iam:PassRole",
    "rds:DeleteDBCluster",
    "rds:ModifyDBInstance",
    "secretsmanager:PutSecretValue",
    "secretsmanager:GetSecretValue",
    "kms:Decrypt",
    "securityhub:BatchUpdateFindings",
    "guardduty:DeleteDetector",
)


def _by_name() -> dict[str, ManagedPolicy]:
    return {policy.name: policy for policy in aws_managed().values()}


def _document(name: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(_by_name()[name].document)
    return parsed


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statement = document["Statement"]
    return statement if isinstance(statement, list) else [statement]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement.get("Action", [])
    return [action] if isinstance(action, str) else list(action)


def _matches(pattern: str, action: str) -> bool:
    # IAM action matching: case-insensitive, * any run of characters, ? one character.
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, action, flags=re.IGNORECASE) is not None


def test_every_required_policy_is_shipped() -> None:
    assert set(_by_name()) == REQUIRED


def test_arns_names_and_paths_agree() -> None:
    for arn, policy in aws_managed().items():
        assert arn == policy.arn == f"{AWS_POLICY_ARN_PREFIX}{policy.path}{policy.name}"
        assert policy.path == "/"
        assert arn.rsplit("/", 1)[1] == policy.name


def test_metadata_is_well_formed() -> None:
    for policy in aws_managed().values():
        assert re.fullmatch(r"v[1-9][0-9]*", policy.default_version_id)
        assert policy.description
        assert policy.create_date.tzinfo is UTC
        assert policy.update_date.tzinfo is UTC
        assert policy.create_date <= policy.update_date


def test_documents_are_compact_2012_10_17_policies() -> None:
    for policy in aws_managed().values():
        document = json.loads(policy.document)
        assert json.dumps(document, separators=(",", ":"), ensure_ascii=False) == policy.document
        assert document["Version"] == "2012-10-17"
        statements = _statements(document)
        assert statements
        for statement in statements:
            assert statement["Effect"] in ("Allow", "Deny")
            assert ("Action" in statement) != ("NotAction" in statement)
            assert ("Resource" in statement) != ("NotResource" in statement)


def test_administrator_access_allows_everything_on_everything() -> None:
    assert _document("AdministratorAccess") == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }


@pytest.mark.parametrize("name", sorted(READ_ONLY_OWN_SERVICE))
def test_read_only_policies_grant_only_read_verbs_on_their_service(name: str) -> None:
    service, verbs = READ_ONLY_OWN_SERVICE[name]
    own = []
    for statement in _statements(_document(name)):
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement
        own += [a for a in _actions(statement) if a.split(":", 1)[0] == service]
    assert own, f"{name} grants nothing on {service}"
    for action in own:
        assert action.split(":", 1)[1].startswith(verbs), action


@pytest.mark.parametrize("name", [*sorted(READ_ONLY_OWN_SERVICE), "ReadOnlyAccess"])
def test_read_only_policies_grant_no_known_write(name: str) -> None:
    patterns = [a for s in _statements(_document(name)) for a in _actions(s)]
    assert "*" not in patterns
    for write in WRITES:
        assert not any(_matches(p, write) for p in patterns), (name, write)


def test_read_only_access_reads_warden_services_without_writing() -> None:
    actions = [a for s in _statements(_document("ReadOnlyAccess")) for a in _actions(s)]
    assert len(actions) > 1000
    ours = [a for a in actions if a.split(":", 1)[0] in WARDEN_SERVICES]
    assert {a.split(":", 1)[0] for a in ours} == set(WARDEN_SERVICES)
    for action in ours:
        assert action.split(":", 1)[1].startswith(READ_VERBS), action
    assert not any(a.split(":", 1)[1] == "*" for a in actions)


@pytest.mark.parametrize(("name", "grant"), sorted(FULL_ACCESS_GRANTS.items()))
def test_full_access_policies_grant_their_service(name: str, grant: str) -> None:
    allowed = [
        a for s in _statements(_document(name)) if s["Effect"] == "Allow" for a in _actions(s)
    ]
    assert grant in allowed


def test_catalogue_is_loaded_once_and_read_only() -> None:
    catalogue = aws_managed()
    assert aws_managed() is catalogue
    with pytest.raises(TypeError):
        catalogue["arn:aws:iam::aws:policy/Mine"] = catalogue[  # type: ignore[index]
            "arn:aws:iam::aws:policy/AdministratorAccess"
        ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        catalogue["arn:aws:iam::aws:policy/AdministratorAccess"].document = "{}"  # type: ignore[misc]


def _valid_record() -> dict[str, Any]:
    return {
        "PolicyName": "Example",
        "Arn": "arn:aws:iam::aws:policy/Example",
        "Path": "/",
        "DefaultVersionId": "v1",
        "Description": "d",
        "CreateDate": "2015-02-06T18:39:46Z",
        "UpdateDate": "2015-02-06T18:39:46Z",
        "Source": "test",
        "Document": {"Version": "2012-10-17", "Statement": []},
    }


def test_a_valid_record_loads(tmp_path: Path) -> None:
    path = tmp_path / "Example.json"
    path.write_text(json.dumps(_valid_record()), encoding="utf-8")
    policy = _load(path)
    assert policy.arn == "arn:aws:iam::aws:policy/Example"
    assert policy.document == '{"Version":"2012-10-17","Statement":[]}'


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Arn", "arn:aws:iam::aws:policy/Other"),
        ("Path", "service-role/"),
        ("PolicyName", "Other"),
        ("CreateDate", "2015-02-06T18:39:46"),
        ("UpdateDate", "yesterday"),
        ("Description", ""),
        ("Document", {"Version": "2008-10-17", "Statement": []}),
    ],
)
def test_a_malformed_record_is_refused(tmp_path: Path, field: str, value: object) -> None:
    record = _valid_record()
    record[field] = value
    path = tmp_path / "Example.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(ManagedPolicyDataError):
        _load(path)
