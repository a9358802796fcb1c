"""Aurora PostgreSQL clusters through boto3 and the CLI, on real PostgreSQL servers.

One server and one cluster (with its writer) for the module: created, connected to over
verified TLS, written to; its security groups, master password, tags and events changed
and checked. Clusters without instances (no process) cover pagination and protection.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from botocore.exceptions import ClientError
from rds_support import PASSWORD, RdsServer, error_of, rds_server, until

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "engines"))
from engine_helpers import SourceForwarder

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RdsServer]:
    with rds_server(tmp_path_factory.mktemp("rds")) as made:
        yield made


@pytest.fixture(scope="module")
def app(server: RdsServer) -> dict[str, Any]:
    """The module's cluster, with its writer instance, available."""
    return server.make_cluster("app", Tags=[{"Key": "env", "Value": "test"}])


def test_a_cluster_and_its_writer_serve_verified_tls_with_the_master_credentials(
    server: RdsServer, app: dict[str, Any]
) -> None:
    assert app["Status"] == "available"
    assert app["Engine"] == "aurora-postgresql" and app["EngineVersion"].startswith("17")
    assert app["MasterUsername"] == "master" and app["DatabaseName"] == "app"
    assert app["Endpoint"] == "127.0.0.1" and app["ReaderEndpoint"] == app["Endpoint"]
    assert app["DBClusterMembers"] == [
        {
            "DBInstanceIdentifier": "app-w",
            "IsClusterWriter": True,
            "DBClusterParameterGroupStatus": "in-sync",
            "PromotionTier": 1,
        }
    ]
    assert app["DBClusterParameterGroup"] == "default.aurora-postgresql17"
    assert app["DbClusterResourceId"].startswith("cluster-")
    assert app["DBClusterArn"] == "arn:aws:rds:us-east-1:123456789012:cluster:app"
    default_sg = server.ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]
    assert app["VpcSecurityGroups"] == [
        {"VpcSecurityGroupId": default_sg["GroupId"], "Status": "active"}
    ]
    writer = server.instance("app-w")
    assert writer["DBInstanceStatus"] == "available"
    assert writer["Endpoint"]["Port"] == app["Port"]
    assert writer["DBClusterIdentifier"] == "app"
    with server.connect(app) as conn:
        conn.execute("CREATE TABLE notes (id int PRIMARY KEY, body text)")
        conn.execute("INSERT INTO notes VALUES (1, 'kept')")
        assert conn.execute("SELECT body FROM notes").fetchone() == ("kept",)
        assert conn.info.pgconn.ssl_in_use
        assert conn.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = 'master'"
        ).fetchone() == (False,)
    with pytest.raises(psycopg.OperationalError):
        server.connect(app, password="wrong-password")
    assert "DB cluster created" in server.events("app")
    assert "DB instance created" in server.events("app-w", "db-instance")


def test_the_cli_describes_the_cluster(server: RdsServer, app: dict[str, Any]) -> None:
    # awscli v1 sends `aws rds` in us-east-1 to rds.amazonaws.com unless --endpoint-url is
    # given on the command line (its overridesslcommonname customization ignores the
    # profile's endpoint_url there).
    endpoint = ("--endpoint-url", server.warden.endpoint)
    out = server.warden.aws(
        "rds", "describe-db-clusters", "--db-cluster-identifier", "app", *endpoint
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["DBClusters"][0]["Port"] == app["Port"]
    tags = server.warden.aws(
        "rds", "list-tags-for-resource", "--resource-name", app["DBClusterArn"], *endpoint
    )
    assert json.loads(tags.stdout)["TagList"] == [{"Key": "env", "Value": "test"}]


def test_security_group_rules_admit_a_source_address_live(
    server: RdsServer, app: dict[str, Any]
) -> None:
    ec2, rds = server.ec2, server.rds
    default = app["VpcSecurityGroups"][0]["VpcSecurityGroupId"]
    group = ec2.create_security_group(GroupName="clients", Description="db clients")["GroupId"]
    forwarder = SourceForwarder(app["Port"], source="127.0.0.2")
    via_127_0_0_2 = {"port": forwarder.port}
    try:
        assert not server.can_connect(app, **via_127_0_0_2)  # the default group: 127.0.0.1 only
        rds.modify_db_cluster(DBClusterIdentifier="app", VpcSecurityGroupIds=[default, group])
        assert server.wait_cluster("app")["VpcSecurityGroups"][1]["VpcSecurityGroupId"] == group
        ec2.authorize_security_group_ingress(
            GroupId=group,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": app["Port"],
                    "ToPort": app["Port"],
                    "IpRanges": [{"CidrIp": "127.0.0.2/32", "Description": "test client"}],
                }
            ],
        )
        until(lambda: server.can_connect(app, **via_127_0_0_2), timeout=15)
        with pytest.raises(ClientError) as in_use:
            ec2.delete_security_group(GroupId=group)
        assert error_of(in_use)[0] == "DependencyViolation"
        ec2.revoke_security_group_ingress(
            GroupId=group,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": app["Port"],
                    "ToPort": app["Port"],
                    "IpRanges": [{"CidrIp": "127.0.0.2/32"}],
                }
            ],
        )
        until(lambda: not server.can_connect(app, **via_127_0_0_2), timeout=15)
        assert server.can_connect(app)  # 127.0.0.1 still admitted by the default group
    finally:
        forwarder.close()
        rds.modify_db_cluster(DBClusterIdentifier="app", VpcSecurityGroupIds=[default])
        server.wait_cluster("app")
    ec2.delete_security_group(GroupId=group)


def test_master_password_reset_through_the_api(server: RdsServer, app: dict[str, Any]) -> None:
    changed_in_sql = "Sql-Changed-1"
    new = "Reset-By-Api-2"
    with server.connect(app) as conn:
        conn.execute(f"ALTER ROLE master PASSWORD '{changed_in_sql}'")
    until(
        lambda: any("changed inside the database" in m for m in server.events("app")),
        timeout=30,
    )
    server.rds.modify_db_cluster(DBClusterIdentifier="app", MasterUserPassword=new)
    cluster = server.wait_cluster("app")
    assert "Reset master credentials" in server.events("app")
    assert not server.can_connect(cluster, password=PASSWORD)
    assert not server.can_connect(cluster, password=changed_in_sql)
    with server.connect(cluster, password=new) as conn:
        conn.execute("CREATE ROLE app_reader LOGIN PASSWORD 'Reader-Passw0rd'")
        conn.execute("CREATE DATABASE reports")
        conn.execute("DROP DATABASE reports")
        conn.execute("DROP ROLE app_reader")
    server.rds.modify_db_cluster(DBClusterIdentifier="app", MasterUserPassword=PASSWORD)
    server.wait_cluster("app")
    until(lambda: server.can_connect(cluster, password=PASSWORD), timeout=15)


def test_deletion_protection_refuses_delete(server: RdsServer) -> None:
    rds = server.rds
    server.make_cluster("guarded", instance=False, DeletionProtection=True)
    with pytest.raises(ClientError) as refused:
        rds.delete_db_cluster(DBClusterIdentifier="guarded", SkipFinalSnapshot=True)
    assert error_of(refused) == (
        "InvalidParameterCombination",
        "Cannot delete protected Cluster, please disable deletion protection and try again.",
    )
    rds.modify_db_cluster(DBClusterIdentifier="guarded", DeletionProtection=False)
    server.wait_cluster("guarded")
    rds.delete_db_cluster(DBClusterIdentifier="guarded", SkipFinalSnapshot=True)
    rds.get_waiter("db_cluster_deleted").wait(
        DBClusterIdentifier="guarded", WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    assert "DB cluster deleted" in server.events("guarded")


def test_describe_pages_and_filters(server: RdsServer, app: dict[str, Any]) -> None:
    rds = server.rds
    names = [f"page-{n:02d}" for n in range(21)]
    for name in names:
        rds.create_db_cluster(
            DBClusterIdentifier=name,
            Engine="aurora-postgresql",
            MasterUsername="master",
            MasterUserPassword=PASSWORD,
        )
    try:
        first = rds.describe_db_clusters(MaxRecords=20)
        assert len(first["DBClusters"]) == 20 and first["Marker"]
        rest = rds.describe_db_clusters(MaxRecords=20, Marker=first["Marker"])
        seen = [c["DBClusterIdentifier"] for c in first["DBClusters"] + rest["DBClusters"]]
        assert "Marker" not in rest and sorted(seen) == sorted([*names, "app"])
        pages = rds.get_paginator("describe_db_clusters").paginate(
            Filters=[{"Name": "db-cluster-id", "Values": ["page-03", app["DBClusterArn"]]}]
        )
        found = [c["DBClusterIdentifier"] for p in pages for c in p["DBClusters"]]
        assert found == ["app", "page-03"]
        only_writer = rds.describe_db_instances(
            Filters=[{"Name": "db-cluster-id", "Values": ["app"]}]
        )["DBInstances"]
        assert [i["DBInstanceIdentifier"] for i in only_writer] == ["app-w"]
    finally:
        for name in names:
            server.wait_cluster(name)
            rds.delete_db_cluster(DBClusterIdentifier=name, SkipFinalSnapshot=True)
    until(lambda: len(rds.describe_db_clusters()["DBClusters"]) == 1, timeout=30)


def test_tags_and_events(server: RdsServer, app: dict[str, Any]) -> None:
    rds, arn = server.rds, app["DBClusterArn"]
    rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "team", "Value": "db"}])
    listed = rds.list_tags_for_resource(ResourceName=arn)["TagList"]
    assert {"Key": "team", "Value": "db"} in listed and {"Key": "env", "Value": "test"} in listed
    rds.remove_tags_from_resource(ResourceName=arn, TagKeys=["team"])
    assert rds.list_tags_for_resource(ResourceName=arn)["TagList"] == [
        {"Key": "env", "Value": "test"}
    ]
    writer_arn = server.instance("app-w")["DBInstanceArn"]
    rds.add_tags_to_resource(ResourceName=writer_arn, Tags=[{"Key": "role", "Value": "writer"}])
    assert server.instance("app-w")["TagList"] == [{"Key": "role", "Value": "writer"}]
    creation = rds.describe_events(SourceType="db-cluster", EventCategories=["creation"])
    assert any(e["SourceIdentifier"] == "app" for e in creation["Events"])
    assert all("creation" in e["EventCategories"] for e in creation["Events"])


def test_reboot_and_stop_start(server: RdsServer, app: dict[str, Any]) -> None:
    rds = server.rds
    with server.connect(app) as conn:
        conn.execute("CREATE TABLE stopped (id int PRIMARY KEY, body text)")
        conn.execute("INSERT INTO stopped VALUES (1, 'kept')")
    assert (
        rds.reboot_db_instance(DBInstanceIdentifier="app-w")["DBInstance"]["DBInstanceStatus"]
        == "rebooting"
    )
    server.wait_instance("app-w")
    assert "DB instance restarted" in server.events("app-w", "db-instance")
    rds.stop_db_cluster(DBClusterIdentifier="app")
    until(lambda: server.cluster("app")["Status"] == "stopped", timeout=60)
    assert server.instance("app-w")["DBInstanceStatus"] == "stopped"
    assert not server.can_connect(app)
    with pytest.raises(ClientError) as wrong_state:
        rds.modify_db_cluster(DBClusterIdentifier="app", DeletionProtection=True)
    assert error_of(wrong_state)[0] == "InvalidDBClusterStateFault"
    rds.start_db_cluster(DBClusterIdentifier="app")
    server.wait_cluster("app")
    until(lambda: server.can_connect(app), timeout=15)
    with server.connect(app) as conn:
        assert conn.execute("SELECT body FROM stopped WHERE id = 1").fetchone() == ("kept",)
    assert {"DB cluster stopped", "DB cluster started"} <= set(server.events("app"))


def test_no_master_password_in_plaintext_anywhere(server: RdsServer, app: dict[str, Any]) -> None:
    """Sealed in the store, SCRAM verifiers in PostgreSQL, redacted in the audit trail."""
    secrets = [PASSWORD.encode(), b"Reset-By-Api-2"]
    files = [p for p in server.data_dir.rglob("*") if p.is_file()] + [server.warden.log]
    for path in files:
        data = path.read_bytes()
        assert not any(s in data for s in secrets), path
