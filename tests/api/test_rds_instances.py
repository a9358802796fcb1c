"""Standalone PostgreSQL DB instances (engine ``postgres``), and IAM on RDS and EC2
resources: tag and attribute condition keys decide, as the policies say."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from harness import free_port
from principals import allow, make_user
from rds_support import PASSWORD, RdsServer, error_of, processes_in, rds_server, until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RdsServer]:
    with rds_server(tmp_path_factory.mktemp("rds-inst")) as made:
        yield made


def test_a_standalone_instance_lives_and_dies(server: RdsServer) -> None:
    rds, port = server.rds, free_port()
    made = rds.create_db_instance(
        DBInstanceIdentifier="shop",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="owner",
        MasterUserPassword=PASSWORD,
        DBName="shop",
        Port=port,
        PubliclyAccessible=False,
        DeletionProtection=True,
        BackupRetentionPeriod=0,
        StorageEncrypted=True,
        AllocatedStorage=50,
    )["DBInstance"]
    assert made["DBInstanceStatus"] == "creating" and "Endpoint" not in made
    inst = server.wait_instance("shop")
    assert inst["Endpoint"]["Address"] == "127.0.0.1" and inst["Endpoint"]["Port"] == port
    assert inst["StorageEncrypted"] and inst["KmsKeyId"].startswith("arn:aws:kms:us-east-1:")
    assert (inst["AllocatedStorage"], inst["BackupRetentionPeriod"]) == (50, 0)
    assert not inst["PubliclyAccessible"] and inst["DeletionProtection"]
    aliases = server.warden.client("kms").list_aliases()["Aliases"]  # type: ignore[attr-defined]
    assert any(a["AliasName"] == "alias/aws/rds" for a in aliases)
    target = {"Endpoint": "127.0.0.1", "Port": port}
    with server.connect(target, user="owner", dbname="shop") as conn:
        conn.execute("CREATE TABLE orders (id int)")
    rds.modify_db_instance(DBInstanceIdentifier="shop", MasterUserPassword="Second-Passw0rd")
    server.wait_instance("shop")
    assert server.can_connect(target, user="owner", dbname="shop", password="Second-Passw0rd")
    assert not server.can_connect(target, user="owner", dbname="shop")
    assert "Reset master credentials" in server.events("shop", "db-instance")
    with pytest.raises(ClientError) as protected:
        rds.delete_db_instance(DBInstanceIdentifier="shop", SkipFinalSnapshot=True)
    assert error_of(protected)[0] == "InvalidParameterCombination"
    rds.modify_db_instance(DBInstanceIdentifier="shop", DeletionProtection=False)
    server.wait_instance("shop")
    resource_id = inst["DbiResourceId"]
    volume = server.data_dir / "rds" / "volumes" / resource_id
    assert processes_in(volume)
    rds.delete_db_instance(DBInstanceIdentifier="shop", SkipFinalSnapshot=True)
    rds.get_waiter("db_instance_deleted").wait(
        DBInstanceIdentifier="shop", WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    assert not volume.exists() and not processes_in(server.data_dir / "rds" / "volumes")
    assert "DB instance deleted" in server.events("shop", "db-instance")


def _denied(call: Any, **params: Any) -> bool:
    try:
        call(**params)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "AccessDenied":
            return True
        raise
    return False


def test_condition_keys_of_rds_and_ec2_resources(server: RdsServer) -> None:
    prod = {"StringEquals": {"aws:ResourceTag/env": "prod"}}
    key, secret = make_user(
        server.warden,
        "dba",
        allow(["rds:*", "ec2:*"]),
        {"Effect": "Deny", "Action": ["rds:ModifyDBCluster", "rds:DeleteDBCluster"],
         "Resource": "*", "Condition": prod},
        {"Effect": "Deny", "Action": "rds:CreateDBCluster", "Resource": "*",
         "Condition": {"Bool": {"rds:StorageEncrypted": "false"}}},
        {"Effect": "Deny", "Action": "rds:AddTagsToResource", "Resource": "*",
         "Condition": {"StringEquals": {"rds:cluster-tag/locked": "yes"}}},
        {"Effect": "Deny", "Action": "ec2:AuthorizeSecurityGroupIngress", "Resource": "*",
         "Condition": {"StringEquals": {"ec2:ResourceTag/frozen": "true"}}},
    )  # fmt: skip
    rds: Any = server.warden.raw_client("rds", key=key, secret=secret)
    ec2: Any = server.warden.raw_client("ec2", key=key, secret=secret)
    base = {"Engine": "aurora-postgresql", "MasterUsername": "m", "MasterUserPassword": PASSWORD}
    assert _denied(rds.create_db_cluster, DBClusterIdentifier="plain", **base)
    for name, env in (("prod-db", "prod"), ("dev-db", "dev")):
        rds.create_db_cluster(
            DBClusterIdentifier=name,
            StorageEncrypted=True,
            Tags=[{"Key": "env", "Value": env}, {"Key": "locked", "Value": "yes"}],
            **base,
        )
        server.wait_cluster(name)
    assert _denied(rds.modify_db_cluster, DBClusterIdentifier="prod-db", DeletionProtection=True)
    assert not _denied(rds.modify_db_cluster, DBClusterIdentifier="dev-db", CopyTagsToSnapshot=True)
    arn = server.cluster("dev-db")["DBClusterArn"]
    assert _denied(rds.add_tags_to_resource, ResourceName=arn, Tags=[{"Key": "a", "Value": "b"}])
    server.wait_cluster("dev-db")
    assert _denied(rds.delete_db_cluster, DBClusterIdentifier="prod-db", SkipFinalSnapshot=True)
    rds.delete_db_cluster(DBClusterIdentifier="dev-db", SkipFinalSnapshot=True)
    group = ec2.create_security_group(
        GroupName="frozen",
        Description="no new rules",
        TagSpecifications=[
            {"ResourceType": "security-group", "Tags": [{"Key": "frozen", "Value": "true"}]}
        ],
    )["GroupId"]
    assert _denied(
        ec2.authorize_security_group_ingress,
        GroupId=group,
        IpProtocol="tcp",
        FromPort=5432,
        ToPort=5432,
        CidrIp="10.0.0.0/8",
    )
    ec2.delete_security_group(GroupId=group)
    until(lambda: len(server.rds.describe_db_clusters()["DBClusters"]) == 1, timeout=30)
