"""Secrets Manager values through boto3: create/get/put/update, staging labels, idempotency,
BatchGetSecretValue, and AWS's error codes and messages for bad input."""

from __future__ import annotations

import re
import uuid
from datetime import UTC
from typing import Any

import pytest
from botocore.exceptions import ClientError
from harness import Warden

ARN = re.compile(r"arn:aws:secretsmanager:us-east-1:123456789012:secret:(.+)-[A-Za-z0-9]{6}")


def _name(prefix: str = "v") -> str:
    return f"test/{prefix}-{uuid.uuid4().hex[:10]}"


def _error(err: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return str(err.value.response["Error"]["Code"]), str(err.value.response["Error"]["Message"])


@pytest.fixture(scope="module")
def sm(warden: Warden) -> Any:
    return warden.client("secretsmanager")


def test_create_get_put_and_label_movement(sm: Any) -> None:
    name = _name()
    created = sm.create_secret(Name=name, SecretString="first", Description="d")
    match = ARN.fullmatch(created["ARN"])
    assert match is not None and match.group(1) == name
    first = created["VersionId"]
    got = sm.get_secret_value(SecretId=name)
    assert (got["SecretString"], got["VersionStages"], got["VersionId"]) == (
        "first",
        ["AWSCURRENT"],
        first,
    )
    put = sm.put_secret_value(SecretId=created["ARN"], SecretBinary=b"\x00second\xff")
    assert put["VersionStages"] == ["AWSCURRENT"]
    partial = created["ARN"][:-7]  # the ARN without its -XXXXXX suffix
    assert sm.get_secret_value(SecretId=partial)["SecretBinary"] == b"\x00second\xff"
    previous = sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
    assert previous["SecretString"] == "first" and previous["VersionId"] == first
    described = sm.describe_secret(SecretId=name)
    assert described["VersionIdsToStages"] == {
        first: ["AWSPREVIOUS"],
        put["VersionId"]: ["AWSCURRENT"],
    }
    assert described["Description"] == "d" and "KmsKeyId" not in described
    accessed = described["LastAccessedDate"].astimezone(UTC)
    assert (accessed.hour, accessed.minute, accessed.second) == (0, 0, 0)  # date resolution
    third = sm.update_secret(SecretId=name, SecretString="third")
    versions = sm.list_secret_version_ids(SecretId=name)["Versions"]
    assert [v["VersionId"] for v in versions] == [put["VersionId"], third["VersionId"]]
    assert all(v["KmsKeyIds"] == ["DefaultEncryptionKey"] for v in versions)
    every = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
    assert [v.get("VersionStages") for v in every] == [None, ["AWSPREVIOUS"], ["AWSCURRENT"]]
    assert "VersionId" not in sm.update_secret(SecretId=name, Description="only metadata")


def test_custom_stages_and_update_secret_version_stage(sm: Any) -> None:
    name = _name()
    v1 = sm.create_secret(Name=name, SecretString="S1")["VersionId"]
    v2 = sm.put_secret_value(SecretId=name, SecretString="S2", VersionStages=["AWSPENDING"])
    assert v2["VersionStages"] == ["AWSPENDING"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "S1"
    with pytest.raises(ClientError) as err:
        sm.update_secret_version_stage(
            SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=v2["VersionId"]
        )
    assert _error(err) == (
        "InvalidParameterException",
        "The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently "
        f"attached to version {v1}, so you must explicitly reference that version in "
        "RemoveFromVersionId.",
    )
    sm.update_secret_version_stage(
        SecretId=name,
        VersionStage="AWSCURRENT",
        MoveToVersionId=v2["VersionId"],
        RemoveFromVersionId=v1,
    )
    stages = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
    assert stages == {v1: ["AWSPREVIOUS"], v2["VersionId"]: ["AWSCURRENT", "AWSPENDING"]}
    sm.put_secret_value(SecretId=name, SecretString="S3", VersionStages=["one", "two"])
    labelled = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
    custom = next(v for v, s in labelled.items() if "one" in s)
    sm.update_secret_version_stage(SecretId=name, VersionStage="one", RemoveFromVersionId=custom)
    assert sm.describe_secret(SecretId=name)["VersionIdsToStages"][custom] == ["two"]
    with pytest.raises(ClientError) as err:
        sm.update_secret_version_stage(SecretId=name, VersionStage="X", MoveToVersionId="f" * 32)
    assert _error(err)[0] == "InvalidParameterException"


def test_get_secret_value_selection_errors(sm: Any) -> None:
    name = _name()
    empty = sm.create_secret(Name=name)
    assert "VersionId" not in empty
    with pytest.raises(ClientError) as err:
        sm.get_secret_value(SecretId=name)
    assert _error(err) == (
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
    )
    version = sm.put_secret_value(SecretId=name, SecretString="v")["VersionId"]
    with pytest.raises(ClientError) as err:
        sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
    assert _error(err)[1].endswith("for staging label: AWSPREVIOUS")
    missing = "0" * 36
    with pytest.raises(ClientError) as err:
        sm.get_secret_value(SecretId=name, VersionId=missing)
    assert _error(err) == (
        "ResourceNotFoundException",
        f"Secrets Manager can't find the specified secret value for VersionId: {missing}",
    )
    with pytest.raises(ClientError) as err:
        sm.get_secret_value(SecretId=name, VersionId=version, VersionStage="AWSPENDING")
    assert _error(err) == (
        "InvalidRequestException",
        "You provided a VersionStage that is not associated to the provided VersionId.",
    )
    both = sm.get_secret_value(SecretId=name, VersionId=version, VersionStage="AWSCURRENT")
    assert both["SecretString"] == "v"
    with pytest.raises(ClientError) as err:
        sm.get_secret_value(SecretId=_name("absent"))
    assert _error(err) == (
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret.",
    )


def test_client_request_token_idempotency(sm: Any) -> None:
    name = _name()
    token = str(uuid.uuid4())
    one = sm.create_secret(Name=name, SecretString="same", ClientRequestToken=token)
    two = sm.create_secret(Name=name, SecretString="same", ClientRequestToken=token)
    assert one["ARN"] == two["ARN"] and two["VersionId"] == token
    with pytest.raises(ClientError) as err:
        sm.create_secret(Name=name, SecretString="same")
    assert _error(err) == (
        "ResourceExistsException",
        f"The operation failed because the secret {name} already exists.",
    )
    put_token = str(uuid.uuid4())
    first = sm.put_secret_value(SecretId=name, SecretString="x", ClientRequestToken=put_token)
    again = sm.put_secret_value(SecretId=name, SecretString="x", ClientRequestToken=put_token)
    assert first["VersionId"] == again["VersionId"] == put_token
    assert len(sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]) == 2
    with pytest.raises(ClientError) as err:
        sm.put_secret_value(SecretId=name, SecretString="y", ClientRequestToken=put_token)
    assert _error(err)[0] == "ResourceExistsException"


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        (
            {"SecretString": "a", "SecretBinary": b"b"},
            "InvalidParameterException",
            "You can't specify both a binary secret value and a string secret value in the "
            "same secret.",
        ),
        (
            {"SecretString": "x" * 65_537},
            "ValidationException",
            "1 validation error detected: Value at 'secretString' failed to satisfy constraint: "
            "Member must have length less than or equal to 65536",
        ),
        (
            {"SecretBinary": b"x" * 65_537},
            "ValidationException",
            "1 validation error detected: Value at 'secretBinary' failed to satisfy constraint: "
            "Member must have length less than or equal to 65536",
        ),
        ({"Description": "d" * 2049}, "ValidationException", None),
    ],
)
def test_bad_values_on_create_and_put(
    sm: Any, params: dict[str, Any], code: str, message: str | None
) -> None:
    name = _name()
    with pytest.raises(ClientError) as err:
        sm.create_secret(Name=name, **params)
    assert _error(err)[0] == code
    if message is not None:
        assert _error(err)[1] == message
    sm.create_secret(Name=name, SecretString="ok")
    if "Description" not in params:
        with pytest.raises(ClientError) as err:
            sm.put_secret_value(SecretId=name, **params)
        assert _error(err)[0] == code


def test_values_of_exactly_64_kib_are_accepted(sm: Any) -> None:
    name = _name()
    sm.create_secret(Name=name, SecretString="é" * 32_768)  # 65,536 bytes of UTF-8
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "é" * 32_768
    with pytest.raises(ClientError) as err:
        sm.put_secret_value(SecretId=name, SecretString="é" * 32_768 + "x")
    assert _error(err)[0] == "ValidationException"


@pytest.mark.parametrize("name", ["has space", "star*", "q?", "a" * 513, "semi;colon"])
def test_invalid_names(sm: Any, name: str) -> None:
    with pytest.raises(ClientError) as err:
        sm.create_secret(Name=name, SecretString="x")
    assert _error(err)[0] == "ValidationException"
    if len(name) <= 512:
        assert _error(err)[1] == (
            "Invalid name. Must be a valid name containing alphanumeric characters, or any of "
            "the following: -/_+=.@!"
        )


def test_put_secret_value_needs_a_value(sm: Any) -> None:
    name = _name()
    sm.create_secret(Name=name)
    with pytest.raises(ClientError) as err:
        sm.put_secret_value(SecretId=name)
    assert _error(err)[0] == "InvalidParameterException"


def test_batch_get_secret_value(sm: Any) -> None:
    tag = uuid.uuid4().hex[:10]
    names = [_name(f"batch{tag}{i}") for i in range(3)]
    for i, name in enumerate(names):
        sm.create_secret(
            Name=name, SecretString=f"value-{i}", Tags=[{"Key": "batch", "Value": tag}]
        )
    missing = _name("missing")
    out = sm.batch_get_secret_value(SecretIdList=[names[0], missing])
    assert [v["SecretString"] for v in out["SecretValues"]] == ["value-0"]
    assert out["Errors"] == [
        {
            "SecretId": missing,
            "ErrorCode": "ResourceNotFoundException",
            "Message": "Secrets Manager can't find the specified secret.",
        }
    ]
    filters = [{"Key": "tag-value", "Values": [tag]}]
    page = sm.batch_get_secret_value(Filters=filters, MaxResults=2)
    assert len(page["SecretValues"]) == 2 and "NextToken" in page
    rest = sm.batch_get_secret_value(Filters=filters, MaxResults=2, NextToken=page["NextToken"])
    got = {v["Name"] for v in page["SecretValues"] + rest["SecretValues"]}
    assert got == set(names) and "NextToken" not in rest
    for bad in (
        {"SecretIdList": [names[0]], "Filters": filters},
        {"SecretIdList": names, "MaxResults": 2},
    ):
        with pytest.raises(ClientError) as err:
            sm.batch_get_secret_value(**bad)
        assert _error(err)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as err:
        sm.batch_get_secret_value(Filters=filters, NextToken="garbage")
    assert _error(err)[0] == "InvalidNextTokenException"


def test_customer_managed_kms_key(warden: Warden, sm: Any) -> None:
    kms: Any = warden.client("kms")
    key_id = kms.create_key(Description="secrets cmk")["KeyMetadata"]["KeyId"]
    name = _name("cmk")
    sm.create_secret(Name=name, SecretString="under-cmk", KmsKeyId=key_id)
    assert sm.describe_secret(SecretId=name)["KmsKeyId"] == key_id
    versions = sm.list_secret_version_ids(SecretId=name)["Versions"]
    assert versions[0]["KmsKeyIds"] == [key_id]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "under-cmk"
    kms.disable_key(KeyId=key_id)
    try:
        with pytest.raises(ClientError) as err:
            sm.get_secret_value(SecretId=name)
        assert _error(err)[0] == "DecryptionFailure"
        with pytest.raises(ClientError) as err:
            sm.put_secret_value(SecretId=name, SecretString="again")
        assert _error(err)[0] == "EncryptionFailure"
    finally:
        kms.enable_key(KeyId=key_id)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "under-cmk"
    with pytest.raises(ClientError) as err:
        sm.create_secret(Name=_name("nokey"), SecretString="x", KmsKeyId="alias/does-not-exist")
    assert _error(err)[0] == "EncryptionFailure"
