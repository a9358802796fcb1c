"""RDS-managed master passwords (ManageMasterUserPassword) through boto3 and the CLI, on a
real warden server running real PostgreSQL.

One cluster whose master password RDS manages, with its writer: its ``rds!cluster-…``
secret logs in over verified TLS; RotateMasterUserPassword really changes the password in
PostgreSQL (the old one stops working, AWSPREVIOUS keeps it); users cannot change or
delete the secret; management is turned off and on again; bad combinations are refused.
The last test scans the data dir and the server log for every password seen here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from rds_support import RdsServer, error_of, rds_server, until
from rotation_db import scan_for

pytestmark = pytest.mark.slow

IDENT = "managed"
OWN_PASSWORD = "Own-Passw0rd-9"
SEEN: set[str] = {OWN_PASSWORD}  # every password these tests saw, for the final scan


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RdsServer]:
    with rds_server(tmp_path_factory.mktemp("managed")) as made:
        yield made


@pytest.fixture(scope="module")
def sm(server: RdsServer) -> Any:
    return server.warden.client("secretsmanager")


@pytest.fixture(scope="module")
def created(server: RdsServer) -> dict[str, Any]:
    """The CreateDBCluster answer of the module's managed cluster, whose writer is up."""
    out: dict[str, Any] = server.rds.create_db_cluster(
        DBClusterIdentifier=IDENT,
        Engine="aurora-postgresql",
        MasterUsername="master",
        ManageMasterUserPassword=True,
        DatabaseName="app",
    )["DBCluster"]
    server.rds.create_db_instance(
        DBInstanceIdentifier=f"{IDENT}-w",
        DBClusterIdentifier=IDENT,
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
    )
    server.wait_instance(f"{IDENT}-w")
    server.wait_cluster(IDENT)
    return out


def _active(server: RdsServer) -> dict[str, Any]:
    """The cluster once its master secret is active (created or rotated)."""

    def check() -> dict[str, Any] | None:
        cluster = server.cluster(IDENT)
        secret = cluster.get("MasterUserSecret", {})
        done = secret.get("SecretStatus") == "active" and cluster["Status"] == "available"
        return cluster if done else None

    found: dict[str, Any] = until(check, timeout=90)
    return found


def _password(sm: Any, arn: str, stage: str = "AWSCURRENT") -> str:
    value = json.loads(sm.get_secret_value(SecretId=arn, VersionStage=stage)["SecretString"])
    assert set(value) == {"username", "password"} and value["username"] == "master"
    SEEN.add(value["password"])
    return str(value["password"])


def test_the_managed_secret_logs_in_to_the_cluster(
    server: RdsServer, sm: Any, created: dict[str, Any]
) -> None:
    assert created["MasterUserSecret"]["SecretStatus"] == "creating"
    assert "MasterUserPassword" not in json.dumps(created, default=str)
    cluster = _active(server)
    secret = cluster["MasterUserSecret"]
    assert secret["SecretArn"] == created["MasterUserSecret"]["SecretArn"]
    default_key = server.warden.client("kms").describe_key(KeyId="alias/aws/secretsmanager")
    assert secret["KmsKeyId"] == default_key["KeyMetadata"]["Arn"]
    described = sm.describe_secret(SecretId=secret["SecretArn"])
    assert described["Name"].startswith("rds!cluster-") and described["OwningService"] == "rds"
    assert described["RotationEnabled"] is True
    assert described["RotationRules"]["AutomaticallyAfterDays"] == 7
    assert described["Description"] == (
        f"Secret associated with primary RDS DB cluster: {cluster['DBClusterArn']}"
    )
    listed = sm.list_secrets(Filters=[{"Key": "owning-service", "Values": ["rds"]}])
    assert [s["ARN"] for s in listed["SecretList"]] == [secret["SecretArn"]]
    password = _password(sm, secret["SecretArn"])
    with server.connect(cluster, password=password) as conn:
        assert conn.info.pgconn.ssl_in_use
        assert conn.execute("SELECT current_user").fetchone() == ("master",)


def test_rotate_master_user_password_changes_it_inside_postgresql(
    server: RdsServer, sm: Any, created: dict[str, Any]
) -> None:
    cluster = _active(server)
    arn = cluster["MasterUserSecret"]["SecretArn"]
    old = _password(sm, arn)
    with pytest.raises(ClientError) as later:
        server.rds.modify_db_cluster(DBClusterIdentifier=IDENT, RotateMasterUserPassword=True)
    assert error_of(later)[0] == "InvalidParameterCombination"
    out = server.rds.modify_db_cluster(
        DBClusterIdentifier=IDENT, RotateMasterUserPassword=True, ApplyImmediately=True
    )
    assert out["DBCluster"]["MasterUserSecret"]["SecretStatus"] == "rotating"
    cluster = _active(server)
    new = _password(sm, arn)
    assert new != old
    assert _password(sm, arn, "AWSPREVIOUS") == old
    assert server.can_connect(cluster, password=new)
    assert not server.can_connect(cluster, password=old)
    # The reconciler keeps the rotated password (its drift check expects it).
    until(lambda: server.can_connect(cluster, password=new), timeout=5)
    assert not any("changed inside the database" in m for m in server.events(IDENT))


def test_users_cannot_change_or_delete_the_managed_secret(
    server: RdsServer, sm: Any, created: dict[str, Any]
) -> None:
    cluster = _active(server)
    arn = cluster["MasterUserSecret"]["SecretArn"]
    current = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
    attempts = [
        (sm.delete_secret, {"ForceDeleteWithoutRecovery": True}),
        (sm.delete_secret, {}),
        (sm.put_secret_value, {"SecretString": '{"username":"master","password":"x"}'}),
        (sm.update_secret, {"SecretString": "x"}),
        (sm.update_secret, {"KmsKeyId": "alias/aws/secretsmanager"}),
        (sm.update_secret_version_stage, {"VersionStage": "AWSCURRENT"}),
        (sm.cancel_rotate_secret, {}),
        (
            sm.rotate_secret,
            {
                "RotationLambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:"
                "SecretsManagerRDSPostgreSQLRotationSingleUser"
            },
        ),
    ]
    for call, params in attempts:
        with pytest.raises(ClientError) as refused:
            call(SecretId=arn, **params)
        code, message = error_of(refused)
        assert code == "InvalidRequestException", (call, message)
        assert "managed by rds" in message or "omit RotationLambdaARN" in message
    assert sm.describe_secret(SecretId=arn)["VersionIdsToStages"] == current
    assert server.can_connect(cluster, password=_password(sm, arn))


def test_bad_combinations_are_refused(server: RdsServer, created: dict[str, Any]) -> None:
    rds = server.rds
    refused_calls = [
        (
            rds.create_db_cluster,
            {
                "DBClusterIdentifier": "both",
                "Engine": "aurora-postgresql",
                "MasterUsername": "master",
                "ManageMasterUserPassword": True,
                "MasterUserPassword": OWN_PASSWORD,
            },
        ),
        (rds.modify_db_cluster, {"DBClusterIdentifier": IDENT, "MasterUserPassword": OWN_PASSWORD}),
        (rds.modify_db_cluster, {"DBClusterIdentifier": IDENT, "ManageMasterUserPassword": False}),
        (
            rds.modify_db_cluster,
            {"DBClusterIdentifier": IDENT, "MasterUserSecretKmsKeyId": "alias/aws/secretsmanager"},
        ),
    ]
    for call, params in refused_calls:
        with pytest.raises(ClientError) as refused:
            call(**params)
        assert error_of(refused)[0] == "InvalidParameterCombination", params
    assert not [
        c for c in rds.describe_db_clusters()["DBClusters"] if c["DBClusterIdentifier"] == "both"
    ]


def test_management_turned_off_then_on_again(
    server: RdsServer, sm: Any, created: dict[str, Any]
) -> None:
    cluster = _active(server)
    first = cluster["MasterUserSecret"]["SecretArn"]
    managed_password = _password(sm, first)
    server.rds.modify_db_cluster(
        DBClusterIdentifier=IDENT,
        ManageMasterUserPassword=False,
        MasterUserPassword=OWN_PASSWORD,
        ApplyImmediately=True,
    )
    cluster = server.wait_cluster(IDENT)
    assert "MasterUserSecret" not in cluster
    until(lambda: server.can_connect(cluster, password=OWN_PASSWORD), timeout=30)
    assert not server.can_connect(cluster, password=managed_password)
    with pytest.raises(ClientError) as gone:
        sm.describe_secret(SecretId=first)
    assert error_of(gone)[0] == "ResourceNotFoundException"
    out = server.rds.modify_db_cluster(
        DBClusterIdentifier=IDENT, ManageMasterUserPassword=True, ApplyImmediately=True
    )
    assert out["DBCluster"]["MasterUserSecret"]["SecretStatus"] == "creating"
    cluster = _active(server)
    second = cluster["MasterUserSecret"]["SecretArn"]
    assert second != first
    assert server.can_connect(cluster, password=_password(sm, second))
    assert not server.can_connect(cluster, password=OWN_PASSWORD)


def test_the_cli_shows_the_master_user_secret(server: RdsServer, created: dict[str, Any]) -> None:
    cluster = _active(server)
    endpoint = ("--endpoint-url", server.warden.endpoint)
    out = server.warden.aws(
        "rds", "describe-db-clusters", "--db-cluster-identifier", IDENT, *endpoint
    )
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout)["DBClusters"][0]["MasterUserSecret"]
    assert shown == cluster["MasterUserSecret"]


def test_deleting_a_managed_cluster_deletes_its_secret(server: RdsServer, sm: Any) -> None:
    made = server.rds.create_db_cluster(
        DBClusterIdentifier="short-lived",
        Engine="aurora-postgresql",
        MasterUsername="master",
        ManageMasterUserPassword=True,
    )["DBCluster"]
    arn = made["MasterUserSecret"]["SecretArn"]
    _password(sm, arn)
    server.wait_cluster("short-lived")
    server.rds.delete_db_cluster(DBClusterIdentifier="short-lived", SkipFinalSnapshot=True)

    def gone() -> bool:
        try:
            sm.describe_secret(SecretId=arn)
        except ClientError as exc:
            return bool(exc.response["Error"]["Code"] == "ResourceNotFoundException")
        return False

    until(gone, timeout=60)


def test_no_password_in_plaintext_anywhere(server: RdsServer, created: dict[str, Any]) -> None:
    assert len(SEEN) >= 4
    places = [server.data_dir, server.warden.log]
    assert scan_for(sorted(SEEN), places) == []
