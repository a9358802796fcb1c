"""Bad input to RDS: each case gets RDS's error code, and nothing is left half-made (no
cluster record, no process, no directory)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from rds_support import PASSWORD, RdsServer, error_of, processes_in, rds_server

pytestmark = pytest.mark.slow

BASE = {"Engine": "aurora-postgresql", "MasterUsername": "master", "MasterUserPassword": PASSWORD}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RdsServer]:
    with rds_server(tmp_path_factory.mktemp("rds-bad")) as made:
        yield made


@pytest.fixture(scope="module")
def app(server: RdsServer) -> dict[str, Any]:
    return server.make_cluster("app")


def _refused(call: Any, **params: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as err:
        call(**params)
    code, message = error_of(err)
    return code, message, err.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.mark.parametrize("ident", ["1abc", "a--b", "abc-", "a" * 64, "a_b", "-ab", ""])
def test_identifiers_breaking_the_rules(server: RdsServer, ident: str) -> None:
    code, message, status = _refused(
        server.rds.create_db_cluster, DBClusterIdentifier=ident, **BASE
    )
    assert (code, status) == ("InvalidParameterValue", 400)
    assert "is not a valid identifier" in message
    code, _, _ = _refused(
        server.rds.create_db_instance,
        DBInstanceIdentifier=ident,
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="master",
        MasterUserPassword=PASSWORD,
    )
    assert code == "InvalidParameterValue"


def test_duplicates(server: RdsServer, app: dict[str, Any]) -> None:
    assert _refused(server.rds.create_db_cluster, DBClusterIdentifier="APP", **BASE)[0] == (
        "DBClusterAlreadyExistsFault"
    )
    code = _refused(
        server.rds.create_db_instance,
        DBInstanceIdentifier="app-w",
        DBClusterIdentifier="app",
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
    )[0]
    assert code == "DBInstanceAlreadyExists"


def test_a_second_instance_in_a_cluster_is_refused(server: RdsServer, app: dict[str, Any]) -> None:
    code, message, _ = _refused(
        server.rds.create_db_instance,
        DBInstanceIdentifier="app-reader",
        DBClusterIdentifier="app",
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
    )
    assert code == "InvalidParameterCombination"
    assert "already has its writer instance app-w" in message


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"Engine": "oracle-ee"}, "InvalidParameterValue"),
        ({"Engine": "aurora-mysql"}, "InvalidParameterValue"),
        ({"EngineVersion": "16.1"}, "InvalidParameterCombination"),
        ({"DBClusterParameterGroupName": "custom-pg"}, "DBClusterParameterGroupNotFound"),
        ({"DBSubnetGroupName": "private"}, "DBSubnetGroupNotFoundFault"),
        ({"MasterUserPassword": "short"}, "InvalidParameterValue"),
        ({"MasterUserPassword": "has@an-at-sign"}, "InvalidParameterValue"),
        ({"MasterUsername": "rdsadmin"}, "InvalidParameterValue"),
        ({"MasterUsername": "pg_master"}, "InvalidParameterValue"),
        ({"MasterUsername": "1master"}, "InvalidParameterValue"),
        ({"DatabaseName": "template1"}, "InvalidParameterValue"),
        ({"Port": 80}, "InvalidParameterValue"),
        ({"BackupRetentionPeriod": 0}, "InvalidParameterValue"),
        ({"PreferredBackupWindow": "25:00-26:00"}, "InvalidParameterValue"),
        ({"EnableCloudwatchLogsExports": ["audit"]}, "InvalidParameterValue"),
        ({"VpcSecurityGroupIds": ["sg-0123456789abcdef0"]}, "InvalidParameterValue"),
        ({"StorageEncrypted": True, "KmsKeyId": "alias/no-such-key"}, "KMSKeyNotAccessibleFault"),
        ({"StorageEncrypted": False, "KmsKeyId": "alias/aws/rds"}, "InvalidParameterCombination"),
        ({"ManageMasterUserPassword": True}, "InvalidParameterCombination"),
        ({"EngineMode": "serverless"}, "InvalidParameterCombination"),
    ],
)
def test_bad_cluster_attributes(server: RdsServer, params: dict[str, Any], code: str) -> None:
    request = {**BASE, "DBClusterIdentifier": "bad-one", **params}
    if "MasterUserPassword" in params and params["MasterUserPassword"] is None:
        del request["MasterUserPassword"]
    assert _refused(server.rds.create_db_cluster, **request)[0] == code


def test_ports_in_use(server: RdsServer, app: dict[str, Any]) -> None:
    taken = _refused(
        server.rds.create_db_cluster, DBClusterIdentifier="same-port", Port=app["Port"], **BASE
    )
    assert taken[0] == "InvalidParameterValue" and "already in use" in taken[1]
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        busy = other.getsockname()[1]
        code = _refused(
            server.rds.create_db_cluster, DBClusterIdentifier="busy-port", Port=busy, **BASE
        )[0]
    assert code == "InvalidParameterValue"


def test_operations_in_the_wrong_state(server: RdsServer, app: dict[str, Any]) -> None:
    rds = server.rds
    assert _refused(rds.start_db_cluster, DBClusterIdentifier="app")[0] == (
        "InvalidDBClusterStateFault"
    )
    code, message, _ = _refused(
        rds.delete_db_cluster, DBClusterIdentifier="app", SkipFinalSnapshot=True
    )
    assert code == "InvalidDBClusterStateFault" and "still contains DB instances" in message


def test_final_snapshots(server: RdsServer, app: dict[str, Any]) -> None:
    rds = server.rds
    code, message, _ = _refused(rds.delete_db_cluster, DBClusterIdentifier="app")
    assert (
        code == "InvalidParameterCombination" and "FinalDBSnapshotIdentifier is required" in message
    )
    code, message, _ = _refused(
        rds.delete_db_cluster, DBClusterIdentifier="app", FinalDBSnapshotIdentifier="app-final"
    )
    # Final snapshots are served (tests/api/test_rds_snapshots.py); this cluster still has
    # its writer, so nothing happens, and no snapshot is left behind.
    assert code == "InvalidDBClusterStateFault" and "still contains DB instances" in message
    code, _, _ = _refused(
        rds.describe_db_cluster_snapshots, DBClusterSnapshotIdentifier="app-final"
    )
    assert code == "DBClusterSnapshotNotFoundFault"


def test_not_found(server: RdsServer) -> None:
    rds = server.rds
    assert _refused(rds.describe_db_clusters, DBClusterIdentifier="nope")[::2] == (
        "DBClusterNotFoundFault",
        404,
    )
    assert _refused(rds.describe_db_instances, DBInstanceIdentifier="nope")[::2] == (
        "DBInstanceNotFound",
        404,
    )
    assert (
        _refused(rds.modify_db_cluster, DBClusterIdentifier="nope", DeletionProtection=True)[0]
        == "DBClusterNotFoundFault"
    )
    code = _refused(
        rds.create_db_instance,
        DBInstanceIdentifier="orphan",
        DBClusterIdentifier="nope",
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
    )[0]
    assert code == "DBClusterNotFoundFault"


def test_bad_describe_parameters(server: RdsServer) -> None:
    rds = server.rds
    assert _refused(rds.describe_db_clusters, MaxRecords=5)[0] == "InvalidParameterValue"
    code = _refused(rds.describe_db_clusters, Filters=[{"Name": "colour", "Values": ["red"]}])[0]
    assert code == "InvalidParameterValue"


def test_instance_level_refusals(server: RdsServer, app: dict[str, Any]) -> None:
    rds = server.rds
    member = _refused(
        rds.modify_db_instance, DBInstanceIdentifier="app-w", MasterUserPassword="Another-Pass-1"
    )
    assert member[0] == "InvalidParameterCombination" and "ModifyDbCluster" in member[1]
    assert (
        _refused(
            rds.create_db_instance,
            DBInstanceIdentifier="needs-cluster",
            Engine="aurora-postgresql",
            DBInstanceClass="db.r6g.large",
        )[0]
        == "InvalidParameterCombination"
    )
    assert (
        _refused(
            rds.create_db_instance,
            DBInstanceIdentifier="bad-class",
            Engine="postgres",
            DBInstanceClass="m5.large",
            MasterUsername="master",
            MasterUserPassword=PASSWORD,
        )[0]
        == "InvalidParameterValue"
    )


def test_nothing_half_made_is_left(server: RdsServer, app: dict[str, Any]) -> None:
    clusters = server.rds.describe_db_clusters()["DBClusters"]
    assert [c["DBClusterIdentifier"] for c in clusters] == ["app"]
    instances = server.rds.describe_db_instances()["DBInstances"]
    assert [i["DBInstanceIdentifier"] for i in instances] == ["app-w"]
    volumes = sorted(p.name for p in (server.data_dir / "rds" / "volumes").iterdir())
    assert volumes == [app["DbClusterResourceId"]]
    postmaster = server.postmaster(app["DbClusterResourceId"])
    assert postmaster in processes_in(server.data_dir / "rds" / "volumes")
