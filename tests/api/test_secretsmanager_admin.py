"""Secrets Manager administration through boto3 and the aws CLI: listing (filters, sorting,
pages), deletion and restore, tags, resource policies enforced by the policy engine, rotation
configuration, random passwords, and a scan proving no plaintext reaches the disk or log."""

from __future__ import annotations

import json
import uuid
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from harness import Warden
from principals import allow, make_user, unique

FUNCTION = (
    "arn:aws:lambda:us-east-1:123456789012:function:SecretsManagerRDSPostgreSQLRotationSingleUser"
)
PLAINTEXTS = ["scan-me-Zq81-string", "scan-me-Zq82-update", "scan-me-Zq83-binary"]


def _name(prefix: str = "a") -> str:
    return f"test/{prefix}-{uuid.uuid4().hex[:10]}"


def _error(err: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return str(err.value.response["Error"]["Code"]), str(err.value.response["Error"]["Message"])


@pytest.fixture(scope="module")
def sm(warden: Warden) -> Any:
    return warden.client("secretsmanager")


def test_list_secrets_filters_sorting_and_pages(sm: Any) -> None:
    tag = uuid.uuid4().hex[:8]
    names = [f"list{tag}/b-db", f"list{tag}/a-app", f"list{tag}/c-cache"]
    for i, name in enumerate(names):
        sm.create_secret(
            Name=name,
            Description=f"Shared {'database' if i == 0 else 'service'} creds",
            Tags=[{"Key": f"team{tag}", "Value": "red" if i else "blue"}],
        )
    prefix = [{"Key": "name", "Values": [f"list{tag}/"]}]
    by_name = sm.list_secrets(Filters=prefix, SortBy="name", SortOrder="asc")["SecretList"]
    assert [s["Name"] for s in by_name] == sorted(names)
    desc = sm.list_secrets(Filters=prefix, SortBy="name", SortOrder="desc")["SecretList"]
    assert [s["Name"] for s in desc] == sorted(names, reverse=True)
    created = [s["Name"] for s in sm.list_secrets(Filters=prefix)["SecretList"]]
    assert created == names  # by creation date, oldest first

    def found(*filters: dict[str, Any]) -> set[str]:
        return {s["Name"] for s in sm.list_secrets(Filters=[*prefix, *filters])["SecretList"]}

    assert found({"Key": "description", "Values": ["shared DATABASE"]}) == {names[0]}
    assert found({"Key": "tag-key", "Values": [f"team{tag}"]}) == set(names)
    assert found({"Key": "tag-value", "Values": ["red"]}) == {names[1], names[2]}
    assert found({"Key": "tag-value", "Values": ["!red"]}) == {names[0]}
    assert found({"Key": "all", "Values": ["CACHE"]}) == {names[2]}
    assert found({"Key": "primary-region", "Values": ["us-east"]}) == set(names)
    assert found({"Key": "owning-service", "Values": ["rds"]}) == set()
    first = sm.list_secrets(Filters=prefix, MaxResults=2)
    second = sm.list_secrets(Filters=prefix, MaxResults=2, NextToken=first["NextToken"])
    assert [s["Name"] for s in first["SecretList"] + second["SecretList"]] == names
    paged = [
        s["Name"]
        for page in sm.get_paginator("list_secrets").paginate(
            Filters=prefix, PaginationConfig={"PageSize": 1}
        )
        for s in page["SecretList"]
    ]
    assert paged == names
    with pytest.raises(ClientError) as err:
        sm.list_secrets(Filters=[{"Key": "colour", "Values": ["x"]}])
    assert _error(err)[0] == "ValidationException"
    with pytest.raises(ClientError) as err:
        sm.list_secrets(Filters=prefix, NextToken="not-a-token")
    assert _error(err)[0] == "InvalidNextTokenException"
    with pytest.raises(ClientError) as err:
        sm.list_secrets(MaxResults=101)
    assert _error(err)[0] == "ValidationException"


def test_delete_restore_and_force_delete(sm: Any) -> None:
    name = _name("del")
    arn = sm.create_secret(Name=name, SecretString="x")["ARN"]
    for params, message in [
        (
            {"RecoveryWindowInDays": 7, "ForceDeleteWithoutRecovery": True},
            "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
        ),
        (
            {"RecoveryWindowInDays": 6},
            "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
        ),
        (
            {"RecoveryWindowInDays": 31},
            "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
        ),
    ]:
        with pytest.raises(ClientError) as err:
            sm.delete_secret(SecretId=name, **params)
        assert _error(err) == ("InvalidParameterException", message)
    deleted = sm.delete_secret(SecretId=name)
    described = sm.describe_secret(SecretId=name)
    assert (deleted["DeletionDate"] - described["DeletedDate"]).days == 30
    marked = "You can't perform this operation on the secret because it was marked for deletion."
    for call, params in [
        (sm.get_secret_value, {}),
        (sm.put_secret_value, {"SecretString": "y"}),
        (sm.update_secret, {"Description": "y"}),
        (sm.tag_resource, {"Tags": [{"Key": "k", "Value": "v"}]}),
        (sm.delete_secret, {}),
        (sm.rotate_secret, {"RotationLambdaARN": FUNCTION}),
    ]:
        with pytest.raises(ClientError) as err:
            call(SecretId=name, **params)
        assert _error(err) == ("InvalidRequestException", marked)
    with pytest.raises(ClientError) as err:
        sm.create_secret(Name=name)
    assert _error(err) == (
        "InvalidRequestException",
        "You can't create this secret because a secret with this name is already scheduled "
        "for deletion.",
    )
    assert name not in {s["Name"] for s in sm.list_secrets()["SecretList"]}
    planned = sm.list_secrets(
        IncludePlannedDeletion=True, Filters=[{"Key": "name", "Values": [name]}]
    )
    assert [s["ARN"] for s in planned["SecretList"]] == [arn]
    sm.restore_secret(SecretId=name)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "x"
    forced = sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    assert forced["ARN"] == arn
    with pytest.raises(ClientError) as err:
        sm.describe_secret(SecretId=arn)
    assert _error(err)[0] == "ResourceNotFoundException"
    again = sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    assert again["Name"] == name  # forcing a missing secret is not an error
    with pytest.raises(ClientError) as err:
        sm.delete_secret(SecretId=name)
    assert _error(err)[0] == "ResourceNotFoundException"


def test_tags(sm: Any) -> None:
    name = _name("tags")
    sm.create_secret(Name=name)
    assert "Tags" not in sm.describe_secret(SecretId=name)
    sm.tag_resource(SecretId=name, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    sm.tag_resource(SecretId=name, Tags=[{"Key": "a", "Value": "3"}])
    assert sm.describe_secret(SecretId=name)["Tags"] == [
        {"Key": "a", "Value": "3"},
        {"Key": "b", "Value": "2"},
    ]
    sm.untag_resource(SecretId=name, TagKeys=["a", "b", "absent"])
    assert sm.describe_secret(SecretId=name)["Tags"] == []
    with pytest.raises(ClientError) as err:
        sm.tag_resource(SecretId=name, Tags=[{"Key": "aws:reserved", "Value": "x"}])
    assert _error(err)[0] == "InvalidParameterException"


def test_resource_policy_lifecycle_and_public_block(sm: Any) -> None:
    name = _name("pol")
    sm.create_secret(Name=name, SecretString="x")
    public = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
            }
        ],
    }
    with pytest.raises(ClientError) as err:
        sm.put_resource_policy(
            SecretId=name, ResourcePolicy=json.dumps(public), BlockPublicPolicy=True
        )
    assert _error(err)[0] == "PublicPolicyException"
    validation = sm.validate_resource_policy(SecretId=name, ResourcePolicy=json.dumps(public))
    assert validation["PolicyValidationPassed"] is False and validation["ValidationErrors"]
    limited = json.loads(json.dumps(public))
    limited["Statement"][0]["Condition"] = {
        "StringEquals": {"aws:PrincipalAccount": "123456789012"}
    }
    sm.put_resource_policy(
        SecretId=name, ResourcePolicy=json.dumps(limited), BlockPublicPolicy=True
    )
    assert json.loads(sm.get_resource_policy(SecretId=name)["ResourcePolicy"]) == limited
    assert sm.validate_resource_policy(ResourcePolicy=json.dumps(limited))["PolicyValidationPassed"]
    for bad in ("{not json", json.dumps({"Statement": [{"Effect": "Allow", "Action": "x:y"}]})):
        with pytest.raises(ClientError) as err:
            sm.put_resource_policy(SecretId=name, ResourcePolicy=bad)
        assert _error(err)[0] == "MalformedPolicyDocumentException"
    sm.delete_resource_policy(SecretId=name)
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=name)


def test_resource_policy_deny_beats_an_identity_allow(warden: Warden, sm: Any) -> None:
    user = unique("sm-reader")
    key, secret = make_user(
        warden,
        user,
        allow(
            [
                "secretsmanager:GetSecretValue",
                "secretsmanager:BatchGetSecretValue",
                "secretsmanager:DescribeSecret",
            ]
        ),
    )
    user_arn = f"arn:aws:iam::123456789012:user/{user}"
    guarded, open_ = _name("guarded"), _name("open")
    sm.create_secret(Name=guarded, SecretString="guarded-value")
    sm.create_secret(Name=open_, SecretString="open-value")
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": {"AWS": user_arn},
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
            }
        ],
    }
    sm.put_resource_policy(SecretId=guarded, ResourcePolicy=json.dumps(deny))
    as_user: Any = warden.raw_client("secretsmanager", key=key, secret=secret)
    assert as_user.get_secret_value(SecretId=open_)["SecretString"] == "open-value"
    assert as_user.describe_secret(SecretId=guarded)["Name"] == guarded
    with pytest.raises(ClientError) as err:
        as_user.get_secret_value(SecretId=guarded)
    code, message = _error(err)
    assert code == "AccessDeniedException"
    assert message.startswith(f"User: {user_arn} is not authorized to perform: ")
    assert message.endswith("with an explicit deny in a resource-based policy")
    batch = as_user.batch_get_secret_value(SecretIdList=[guarded, open_])
    assert [v["Name"] for v in batch["SecretValues"]] == [open_]
    assert [(e["SecretId"], e["ErrorCode"]) for e in batch["Errors"]] == [
        (guarded, "AccessDeniedException")
    ]


def test_resource_policy_allow_grants_a_user_without_identity_policy(
    warden: Warden, sm: Any
) -> None:
    user = unique("sm-grantee")
    key, secret = make_user(warden, user)
    name = _name("granted")
    arn = sm.create_secret(Name=name, SecretString="granted-value")["ARN"]
    as_user: Any = warden.raw_client("secretsmanager", key=key, secret=secret)
    with pytest.raises(ClientError) as err:
        as_user.get_secret_value(SecretId=arn)
    assert _error(err)[0] == "AccessDeniedException"
    grant = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::123456789012:user/{user}"},
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
            }
        ],
    }
    sm.put_resource_policy(SecretId=name, ResourcePolicy=json.dumps(grant))
    assert as_user.get_secret_value(SecretId=arn)["SecretString"] == "granted-value"


def test_resource_tag_conditions_apply(warden: Warden, sm: Any) -> None:
    user = unique("sm-team")
    condition = {"StringEquals": {"aws:ResourceTag/team": "blue"}}
    key, secret = make_user(warden, user, allow("secretsmanager:GetSecretValue", **condition))
    blue, red = _name("blue"), _name("red")
    sm.create_secret(Name=blue, SecretString="b", Tags=[{"Key": "team", "Value": "blue"}])
    sm.create_secret(Name=red, SecretString="r", Tags=[{"Key": "team", "Value": "red"}])
    as_user: Any = warden.raw_client("secretsmanager", key=key, secret=secret)
    assert as_user.get_secret_value(SecretId=blue)["SecretString"] == "b"
    with pytest.raises(ClientError) as err:
        as_user.get_secret_value(SecretId=red)
    assert _error(err)[0] == "AccessDeniedException"


def test_rotation_configuration(sm: Any) -> None:
    name = _name("rot")
    current = sm.create_secret(Name=name, SecretString="v1")["VersionId"]
    with pytest.raises(ClientError) as err:
        sm.rotate_secret(SecretId=name)
    assert _error(err) == (
        "InvalidRequestException",
        "No Lambda rotation function ARN is associated with this secret.",
    )
    for rules, code in [
        ({"ScheduleExpression": "rate(2 hours)"}, "InvalidParameterException"),
        ({"ScheduleExpression": "cron(15 4 * * ? *)"}, "InvalidParameterException"),
        (
            {"AutomaticallyAfterDays": 3, "ScheduleExpression": "rate(3 days)"},
            "InvalidParameterException",
        ),
        ({"AutomaticallyAfterDays": 1001}, "ValidationException"),
        (
            {"ScheduleExpression": "cron(0 22 * * ? *)", "Duration": "4h"},
            "InvalidParameterException",
        ),
    ]:
        with pytest.raises(ClientError) as err:
            sm.rotate_secret(SecretId=name, RotationLambdaARN=FUNCTION, RotationRules=rules)
        assert _error(err)[0] == code, rules
    started = sm.rotate_secret(
        SecretId=name,
        RotationLambdaARN=FUNCTION,
        RotationRules={"ScheduleExpression": "cron(0 4 ? * SUN *)", "Duration": "2h"},
    )
    described = sm.describe_secret(SecretId=name)
    assert described["RotationEnabled"] is True
    assert described["RotationLambdaARN"] == FUNCTION
    assert described["RotationRules"] == {
        "ScheduleExpression": "cron(0 4 ? * SUN *)",
        "Duration": "2h",
    }
    latest = described["NextRotationDate"].astimezone(UTC)
    assert (latest.weekday(), latest.hour, latest.minute) == (6, 5, 59)  # Sunday 05:59:59
    assert described["VersionIdsToStages"] == {
        current: ["AWSCURRENT"],
        started["VersionId"]: ["AWSPENDING"],
    }
    with pytest.raises(ClientError) as err:
        sm.rotate_secret(SecretId=name)
    assert _error(err) == (
        "InvalidRequestException",
        "A previous rotation isn't complete. That rotation will be reattempted.",
    )
    cancelled = sm.cancel_rotate_secret(SecretId=name)
    assert cancelled["VersionId"] == started["VersionId"]
    after = sm.describe_secret(SecretId=name)
    assert after["RotationEnabled"] is False and "NextRotationDate" not in after
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v1"  # AWSCURRENT untouched


def test_get_random_password(sm: Any) -> None:
    assert len(sm.get_random_password()["RandomPassword"]) == 32
    password = sm.get_random_password(
        PasswordLength=40, ExcludeCharacters=":/@\"'\\", RequireEachIncludedType=True
    )["RandomPassword"]
    assert len(password) == 40 and not set(password) & set(":/@\"'\\")
    digits = sm.get_random_password(
        PasswordLength=12, ExcludeUppercase=True, ExcludeLowercase=True, ExcludePunctuation=True
    )["RandomPassword"]
    assert digits.isdigit()
    with pytest.raises(ClientError) as err:
        sm.get_random_password(PasswordLength=4097)
    assert _error(err)[0] == "ValidationException"
    with pytest.raises(ClientError) as err:
        sm.get_random_password(PasswordLength=2)
    assert _error(err)[0] == "InvalidParameterException"


def test_aws_cli(warden: Warden) -> None:
    name = _name("cli")
    made = warden.aws(
        "secretsmanager", "create-secret", "--name", name, "--secret-string", "cli-value",
        "--description", "from the cli", "--output", "json",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    arn = json.loads(made.stdout)["ARN"]
    got = warden.aws("secretsmanager", "get-secret-value", "--secret-id", name, "--output", "json")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["SecretString"] == "cli-value"
    listed = warden.aws(
        "secretsmanager", "list-secrets", "--filters", f"Key=name,Values={name}", "--output", "json"
    )
    assert [s["ARN"] for s in json.loads(listed.stdout)["SecretList"]] == [arn]
    bad = warden.aws(
        "secretsmanager", "rotate-secret", "--secret-id", name, "--rotation-lambda-arn", FUNCTION,
        "--rotation-rules", '{"ScheduleExpression": "rate(1 hours)"}',
    )  # fmt: skip
    assert bad.returncode != 0 and "InvalidParameterException" in bad.stderr
    gone = warden.aws(
        "secretsmanager", "delete-secret", "--secret-id", arn, "--force-delete-without-recovery"
    )
    assert gone.returncode == 0, gone.stderr
    missing = warden.aws("secretsmanager", "describe-secret", "--secret-id", arn)
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr


def test_no_plaintext_in_the_data_dir_or_log(warden: Warden, sm: Any) -> None:
    name = _name("scan")
    sm.create_secret(Name=name, SecretString=PLAINTEXTS[0])
    sm.update_secret(SecretId=name, SecretString=PLAINTEXTS[1])
    sm.put_secret_value(SecretId=name, SecretBinary=PLAINTEXTS[2].encode())
    assert (
        sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"]
        == (PLAINTEXTS[1])
    )
    needles = [p.encode() for p in PLAINTEXTS]
    files = [p for p in Path(warden.data_dir).rglob("*") if p.is_file()] + [warden.log]
    assert any(p.name.startswith("warden.db") for p in files)
    for path in files:
        data = path.read_bytes()
        for needle in needles:
            assert needle not in data, f"{needle!r} found in {path}"
