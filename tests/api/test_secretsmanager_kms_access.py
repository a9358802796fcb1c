"""Secrets Manager uses a secret's KMS key for its caller, as AWS does: a secret under a
customer managed key needs ``kms:GenerateDataKey`` / ``kms:Decrypt`` on that key for the
caller (the default key policy hands the decision to IAM), while the AWS-managed
``aws/secretsmanager`` key admits every principal of the account through the service."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from harness import Warden
from principals import allow, make_user, unique


def _as(warden: Warden, key: tuple[str, str]) -> Any:
    return warden.raw_client("secretsmanager", key=key[0], secret=key[1])


def _denied(call: Any, **params: Any) -> None:
    with pytest.raises(ClientError) as err:
        call(**params)
    error = err.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "AccessDeniedException",
        "Access to KMS is not allowed",
    )


def test_a_customer_key_needs_kms_permissions_for_the_caller(warden: Warden) -> None:
    admin: Any = warden.client("secretsmanager")
    kms: Any = warden.client("kms")
    key_arn = kms.create_key(Description="secrets")["KeyMetadata"]["Arn"]
    under_cmk, under_default = unique("cmk"), unique("default")
    admin.create_secret(Name=under_cmk, SecretString="cmk-value", KmsKeyId=key_arn)
    admin.create_secret(Name=under_default, SecretString="default-value")

    user = unique("sm-only")
    key = make_user(warden, user, allow("secretsmanager:*"))
    only_sm = _as(warden, key)
    assert only_sm.get_secret_value(SecretId=under_default)["SecretString"] == "default-value"
    _denied(only_sm.get_secret_value, SecretId=under_cmk)
    _denied(only_sm.put_secret_value, SecretId=under_cmk, SecretString="new")
    _denied(only_sm.create_secret, Name=unique("new"), SecretString="x", KmsKeyId=key_arn)
    # BatchGetSecretValue reports it per secret.
    batch = only_sm.batch_get_secret_value(SecretIdList=[under_cmk, under_default])
    assert [v["Name"] for v in batch["SecretValues"]] == [under_default]
    assert [e["ErrorCode"] for e in batch["Errors"]] == ["AccessDeniedException"]

    iam: Any = warden.client("iam")
    iam.put_user_policy(
        UserName=user,
        PolicyName="kms",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    allow(
                        ["kms:Decrypt", "kms:GenerateDataKey"],
                        key_arn,
                        StringEquals={"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"},
                    )
                ],
            }
        ),
    )
    assert only_sm.get_secret_value(SecretId=under_cmk)["SecretString"] == "cmk-value"
    only_sm.put_secret_value(SecretId=under_cmk, SecretString="new")
    assert only_sm.get_secret_value(SecretId=under_cmk)["SecretString"] == "new"
    # The grant holds only through Secrets Manager: KMS itself still refuses the user.
    only_kms: Any = warden.raw_client("kms", key=key[0], secret=key[1])
    with pytest.raises(ClientError) as err:
        only_kms.generate_data_key(KeyId=key_arn, KeySpec="AES_256")
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
