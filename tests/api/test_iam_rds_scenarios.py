"""IAM in front of RDS, as users of both expect it (the IAM issue's boto3 scenarios).

Clusters here have no instance, so no PostgreSQL process is started: what is tested is
who may call what on which cluster.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from principals import unique
from rds_support import PASSWORD, RdsServer, rds_server

pytestmark = pytest.mark.slow
ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RdsServer]:
    with rds_server(tmp_path_factory.mktemp("rds-iam")) as made:
        yield made


def _user(server: RdsServer, name: str) -> Any:
    iam: Any = server.warden.client("iam")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return server.warden.raw_client("rds", key=key["AccessKeyId"], secret=key["SecretAccessKey"])


def _key_and_user(server: RdsServer, prefix: str, actions: list[str]) -> tuple[Any, str, str, Any]:
    """A customer KMS key (its default policy leaves it to IAM) and a user allowed
    ``actions`` on every resource but no KMS: (iam, key ARN, user name, its rds client)."""
    iam: Any = server.warden.client("iam")
    key_arn = server.warden.client("kms").create_key()["KeyMetadata"]["Arn"]
    name = unique(prefix)
    rds = _user(server, name)
    iam.put_user_policy(
        UserName=name,
        PolicyName="rds",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": actions, "Resource": "*"}
            ]}
        ),
    )  # fmt: skip
    return iam, str(key_arn), name, rds


def _denied(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    assert err.value.response["Error"]["Code"] == "AccessDenied"
    return str(err.value.response["Error"]["Message"])


def test_read_only_group_can_describe_but_not_create_or_delete(server: RdsServer) -> None:
    cluster = unique("ro")
    server.make_cluster(cluster, instance=False)
    iam: Any = server.warden.client("iam")
    group, user = unique("readers"), unique("reader")
    iam.create_group(GroupName=group)
    iam.attach_group_policy(
        GroupName=group, PolicyArn="arn:aws:iam::aws:policy/AmazonRDSReadOnlyAccess"
    )
    rds = _user(server, user)
    iam.add_user_to_group(GroupName=group, UserName=user)

    found = rds.describe_db_clusters(DBClusterIdentifier=cluster)["DBClusters"]
    assert [c["DBClusterIdentifier"] for c in found] == [cluster]
    message = _denied(
        rds.create_db_cluster,
        DBClusterIdentifier=unique("nope"),
        Engine="aurora-postgresql",
        MasterUsername="master",
        MasterUserPassword=PASSWORD,
    )
    assert message.startswith(f"User: arn:aws:iam::{ACCOUNT}:user/{user} is not authorized")
    assert "because no identity-based policy allows the rds:CreateDBCluster action" in message
    _denied(rds.delete_db_cluster, DBClusterIdentifier=cluster, SkipFinalSnapshot=True)
    assert server.cluster(cluster)["Status"] == "available"  # nothing happened


def test_policy_scoped_to_one_cluster_and_one_tag(server: RdsServer) -> None:
    mine, other = unique("mine"), unique("other")
    for ident in (mine, other):
        server.make_cluster(ident, instance=False, Tags=[{"Key": "team", "Value": "blue"}])
    user = unique("operator")
    rds = _user(server, user)
    iam: Any = server.warden.client("iam")
    iam.put_user_policy(
        UserName=user,
        PolicyName="one-cluster",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "rds:ModifyDBCluster",
                        "Resource": f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:{mine}",
                        "Condition": {"StringEquals": {"rds:cluster-tag/team": "blue"}},
                    }
                ],
            }
        ),
    )
    rds.modify_db_cluster(DBClusterIdentifier=mine, BackupRetentionPeriod=3)
    _denied(rds.modify_db_cluster, DBClusterIdentifier=other, BackupRetentionPeriod=3)
    # The same cluster without the tag no longer matches the condition.
    server.rds.remove_tags_from_resource(
        ResourceName=f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:{mine}", TagKeys=["team"]
    )
    _denied(rds.modify_db_cluster, DBClusterIdentifier=mine, BackupRetentionPeriod=4)
    assert server.cluster(mine)["BackupRetentionPeriod"] == 3
    assert server.cluster(other)["BackupRetentionPeriod"] != 3


def test_an_encrypted_cluster_needs_the_caller_to_be_allowed_its_kms_key(
    server: RdsServer,
) -> None:
    iam, key_arn, name, rds = _key_and_user(server, "rds-only", ["rds:*", "ec2:Describe*"])
    common = {"Engine": "aurora-postgresql", "MasterUsername": "master",
              "MasterUserPassword": PASSWORD}  # fmt: skip
    # The customer key's default policy leaves it to IAM, which grants this user no KMS.
    with pytest.raises(ClientError) as err:
        rds.create_db_cluster(
            DBClusterIdentifier="enc-cmk", StorageEncrypted=True, KmsKeyId=key_arn, **common
        )
    assert err.value.response["Error"]["Code"] == "KMSKeyNotAccessibleFault"
    assert "Access to KMS is not allowed" in err.value.response["Error"]["Message"]
    # aws/rds admits every principal of the account through RDS.
    made = rds.create_db_cluster(DBClusterIdentifier="enc-default", StorageEncrypted=True, **common)
    assert made["DBCluster"]["StorageEncrypted"] is True
    iam.put_user_policy(
        UserName=name,
        PolicyName="kms",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "kms:CreateGrant", "Resource": key_arn,
                 "Condition": {"StringEquals": {"kms:ViaService": "rds.us-east-1.amazonaws.com"}}}
            ]}
        ),
    )  # fmt: skip
    made = rds.create_db_cluster(
        DBClusterIdentifier="enc-cmk", StorageEncrypted=True, KmsKeyId=key_arn, **common
    )
    assert made["DBCluster"]["KmsKeyId"] == key_arn  # (the server's teardown deletes both)


def test_a_managed_master_secret_needs_the_caller_to_be_allowed_its_kms_key(
    server: RdsServer,
) -> None:
    """Secrets Manager uses MasterUserSecretKmsKeyId for the caller: GenerateDataKey and
    Decrypt through secretsmanager, not through rds."""
    iam, key_arn, name, rds = _key_and_user(server, "rds-secrets", ["rds:*", "secretsmanager:*"])
    common = {"Engine": "aurora-postgresql", "MasterUsername": "master",
              "ManageMasterUserPassword": True}  # fmt: skip

    def refused() -> str:
        with pytest.raises(ClientError) as err:
            rds.create_db_cluster(
                DBClusterIdentifier="msk-cmk", MasterUserSecretKmsKeyId=key_arn, **common
            )
        assert err.value.response["Error"]["Code"] == "KMSKeyNotAccessibleFault"
        return str(err.value.response["Error"]["Message"])

    assert "Access to KMS is not allowed" in refused()
    # aws/secretsmanager admits every principal of the account through Secrets Manager.
    made = rds.create_db_cluster(DBClusterIdentifier="msk-default", **common)
    managed_key = made["DBCluster"]["MasterUserSecret"]["KmsKeyId"]
    assert managed_key.startswith(f"arn:aws:kms:us-east-1:{ACCOUNT}:key/")
    assert managed_key != key_arn

    def allow(actions: list[str], via: str) -> None:
        through = {"StringEquals": {"kms:ViaService": f"{via}.us-east-1.amazonaws.com"}}
        iam.put_user_policy(
            UserName=name,
            PolicyName="kms",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": actions, "Resource": key_arn,
                     "Condition": through}
                ]}
            ),
        )  # fmt: skip

    allow(["kms:GenerateDataKey", "kms:Decrypt"], "rds")  # through the wrong service
    refused()
    allow(["kms:GenerateDataKey"], "secretsmanager")  # without Decrypt
    refused()
    allow(["kms:GenerateDataKey", "kms:Decrypt"], "secretsmanager")
    made = rds.create_db_cluster(
        DBClusterIdentifier="msk-cmk", MasterUserSecretKmsKeyId=key_arn, **common
    )
    assert made["DBCluster"]["MasterUserSecret"]["KmsKeyId"] == key_arn
