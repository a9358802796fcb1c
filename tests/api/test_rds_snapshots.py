"""DB cluster snapshots through boto3 against a real server and real PostgreSQL: data written
over verified TLS survives snapshot → restore into a new cluster, a KMS re-encrypting copy
and a final snapshot at deletion; the files on disk hold no plaintext; sharing follows the
restore attribute; bad requests get the AWS errors. Durations of the round trip are
printed (``-s``) for the record, never asserted."""

from __future__ import annotations

import secrets
import stat
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from rds_support import PASSWORD, RdsServer, error_of, rds_server, until

pytestmark = pytest.mark.slow

MARKER = f"warden-marker-{secrets.token_hex(8)}"
ROWS = 20000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RdsServer]:
    with rds_server(tmp_path_factory.mktemp("rds-snapshots")) as made:
        yield made


def _write(server: RdsServer, cluster: dict[str, Any], marker: str = MARKER) -> None:
    with server.connect(cluster) as conn:
        conn.execute("CREATE TABLE notes (id int PRIMARY KEY, body text)")
        conn.execute(
            "INSERT INTO notes SELECT g, %s || '-' || g FROM generate_series(1, %s) g",
            (marker, ROWS),
        )


def _read(server: RdsServer, cluster: dict[str, Any], **kw: Any) -> tuple[Any, ...]:
    with server.connect(cluster, **kw) as conn:
        row = conn.execute("SELECT count(*), min(body) FROM notes").fetchone()
    assert row is not None
    return tuple(row)


def _snapshot(server: RdsServer, ident: str) -> dict[str, Any]:
    found: dict[str, Any] = server.rds.describe_db_cluster_snapshots(
        DBClusterSnapshotIdentifier=ident
    )["DBClusterSnapshots"][0]
    return found


def _available(server: RdsServer, ident: str) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        snap = _snapshot(server, ident)
        assert snap["Status"] != "failed", snap
        return snap if snap["Status"] == "available" else None

    found: dict[str, Any] = until(ready, timeout=120, every=0.2)
    return found


def _restore(server: RdsServer, snapshot: str, ident: str, **extra: Any) -> dict[str, Any]:
    """Restore into a new cluster, give it its writer, and wait for both."""
    server.rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier=ident, SnapshotIdentifier=snapshot, Engine="aurora-postgresql",
        **extra,
    )  # fmt: skip
    server.rds.create_db_instance(
        DBInstanceIdentifier=f"{ident}-w", DBClusterIdentifier=ident,
        Engine="aurora-postgresql", DBInstanceClass="db.r6g.large",
    )  # fmt: skip
    server.wait_instance(f"{ident}-w")
    return server.wait_cluster(ident)


@pytest.fixture(scope="module")
def source(server: RdsServer) -> dict[str, Any]:
    cluster = server.make_cluster("src", Tags=[{"Key": "env", "Value": "test"}])
    _write(server, cluster)
    return cluster


def test_a_snapshot_restores_into_a_new_cluster_with_the_data(
    server: RdsServer, source: dict[str, Any]
) -> None:
    rds = server.rds
    started = time.monotonic()
    made = rds.create_db_cluster_snapshot(
        DBClusterSnapshotIdentifier="src-1", DBClusterIdentifier="src",
        Tags=[{"Key": "kind", "Value": "manual"}],
    )["DBClusterSnapshot"]  # fmt: skip
    assert made["Status"] == "creating"
    snap = _available(server, "src-1")
    took_snapshot = time.monotonic() - started
    assert snap["DBClusterSnapshotArn"] == (
        "arn:aws:rds:us-east-1:123456789012:cluster-snapshot:src-1"
    )
    assert snap["SnapshotType"] == "manual" and snap["PercentProgress"] == 100
    assert snap["DBClusterIdentifier"] == "src" and snap["Engine"] == "aurora-postgresql"
    assert snap["MasterUsername"] == "master" and snap["Port"] == source["Port"]
    assert snap["StorageEncrypted"] is False and snap["TagList"] == [
        {"Key": "kind", "Value": "manual"}
    ]
    assert snap["DbClusterResourceId"] == source["DbClusterResourceId"]
    arn = snap["DBClusterSnapshotArn"]
    rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "owner", "Value": "dba"}])
    assert rds.list_tags_for_resource(ResourceName=arn)["TagList"] == [
        {"Key": "kind", "Value": "manual"},
        {"Key": "owner", "Value": "dba"},
    ]
    assert server.wait_cluster("src")["Status"] == "available"
    with server.connect(source) as conn:  # not in the snapshot: written after it
        conn.execute("INSERT INTO notes VALUES (0, 'after the snapshot')")
    started = time.monotonic()
    restored = _restore(server, "src-1", "dst")
    took_restore = time.monotonic() - started
    assert restored["MasterUsername"] == "master" and restored["DatabaseName"] == "app"
    assert restored["Port"] != source["Port"]
    assert _read(server, restored) == (ROWS, f"{MARKER}-1")
    size = _snapshot(server, "src-1")["AllocatedStorage"]
    print(f"\nsnapshot of a {ROWS}-row database: {took_snapshot:.1f} s to available; "
          f"restore + writer: {took_restore:.1f} s; AllocatedStorage {size} GiB")  # fmt: skip


def test_the_snapshot_files_hold_no_plaintext(server: RdsServer, source: dict[str, Any]) -> None:
    folder = server.data_dir / "rds" / "snapshots"
    files = sorted(folder.glob("*.tar.enc"))
    assert files
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        data = path.read_bytes()
        assert MARKER.encode() not in data
        assert b"PG_VERSION" not in data and b"backup_label" not in data


def test_a_copy_re_encrypts_under_a_customer_key_and_restores(server: RdsServer) -> None:
    rds = server.rds
    kms: Any = server.warden.client("kms")
    enc = server.make_cluster("enc", StorageEncrypted=True)
    marker = f"{MARKER}-enc"
    _write(server, enc, marker)
    rds.create_db_cluster_snapshot(DBClusterSnapshotIdentifier="enc-1", DBClusterIdentifier="enc")
    first = _available(server, "enc-1")
    assert first["StorageEncrypted"] is True and first["KmsKeyId"] == enc["KmsKeyId"]
    key = kms.create_key(Description="snapshot copies")["KeyMetadata"]["Arn"]
    copy = rds.copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier="enc-1", TargetDBClusterSnapshotIdentifier="enc-2",
        KmsKeyId=key, CopyTags=True,
    )["DBClusterSnapshot"]  # fmt: skip
    assert copy["Status"] == "copying" and copy["KmsKeyId"] == key
    copied = _available(server, "enc-2")
    assert copied["SourceDBClusterSnapshotArn"] == first["DBClusterSnapshotArn"]
    restored = _restore(server, "enc-2", "enc-copy")
    assert restored["StorageEncrypted"] is True and restored["KmsKeyId"] == key
    assert _read(server, restored) == (ROWS, f"{marker}-1")
    for path in (server.data_dir / "rds" / "snapshots").glob("*.tar.enc"):
        assert marker.encode() not in path.read_bytes()
    kms.disable_key(KeyId=key)
    with pytest.raises(ClientError) as refused:
        rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier="enc-denied", SnapshotIdentifier="enc-2",
            Engine="aurora-postgresql",
        )  # fmt: skip
    assert error_of(refused)[0] == "KMSKeyNotAccessibleFault"
    with pytest.raises(ClientError) as public:
        rds.modify_db_cluster_snapshot_attribute(
            DBClusterSnapshotIdentifier="enc-2", AttributeName="restore", ValuesToAdd=["all"]
        )
    assert error_of(public)[0] == "InvalidParameterValue"


def test_restore_all_makes_a_snapshot_public(server: RdsServer, source: dict[str, Any]) -> None:
    rds = server.rds
    rds.create_db_cluster_snapshot(DBClusterSnapshotIdentifier="src-pub", DBClusterIdentifier="src")
    _available(server, "src-pub")
    out = rds.modify_db_cluster_snapshot_attribute(
        DBClusterSnapshotIdentifier="src-pub", AttributeName="restore",
        ValuesToAdd=["all", "210987654321"],
    )["DBClusterSnapshotAttributesResult"]  # fmt: skip
    assert out["DBClusterSnapshotAttributes"] == [
        {"AttributeName": "restore", "AttributeValues": ["all", "210987654321"]}
    ]
    public = rds.describe_db_cluster_snapshots(SnapshotType="public")["DBClusterSnapshots"]
    assert [s["DBClusterSnapshotIdentifier"] for s in public] == ["src-pub"]
    rds.modify_db_cluster_snapshot_attribute(
        DBClusterSnapshotIdentifier="src-pub", AttributeName="restore", ValuesToRemove=["all"]
    )
    described = rds.describe_db_cluster_snapshot_attributes(DBClusterSnapshotIdentifier="src-pub")
    assert described["DBClusterSnapshotAttributesResult"]["DBClusterSnapshotAttributes"] == [
        {"AttributeName": "restore", "AttributeValues": ["210987654321"]}
    ]
    assert rds.describe_db_cluster_snapshots(SnapshotType="public")["DBClusterSnapshots"] == []
    with pytest.raises(ClientError) as bad:
        rds.modify_db_cluster_snapshot_attribute(
            DBClusterSnapshotIdentifier="src-pub", AttributeName="restore", ValuesToAdd=["12"]
        )
    assert error_of(bad)[0] == "InvalidParameterValue"


def test_delete_with_a_final_snapshot_leaves_a_restorable_snapshot(server: RdsServer) -> None:
    rds = server.rds
    doomed = server.make_cluster("doomed")
    marker = f"{MARKER}-final"
    _write(server, doomed, marker)
    rds.delete_db_instance(DBInstanceIdentifier="doomed-w", SkipFinalSnapshot=True)
    until(lambda: not rds.describe_db_instances(
        Filters=[{"Name": "db-cluster-id", "Values": ["doomed"]}])["DBInstances"])  # fmt: skip
    deleting = rds.delete_db_cluster(
        DBClusterIdentifier="doomed", FinalDBSnapshotIdentifier="doomed-final"
    )["DBCluster"]
    assert deleting["Status"] == "deleting"

    def gone() -> bool:
        try:
            server.cluster("doomed")
        except ClientError as exc:
            return bool(exc.response["Error"]["Code"] == "DBClusterNotFoundFault")
        return False

    until(lambda: _snapshot(server, "doomed-final")["Status"] == "available", timeout=120)
    until(gone, timeout=60)
    restored = _restore(server, "doomed-final", "reborn")
    assert _read(server, restored, password=PASSWORD) == (ROWS, f"{marker}-1")


def test_bad_requests_get_the_aws_errors(server: RdsServer, source: dict[str, Any]) -> None:
    rds = server.rds
    rds.create_db_cluster_snapshot(DBClusterSnapshotIdentifier="src-bad", DBClusterIdentifier="src")
    _available(server, "src-bad")
    server.make_cluster("idle", instance=False)
    rds.stop_db_cluster(DBClusterIdentifier="idle")
    until(lambda: server.cluster("idle")["Status"] == "stopped")
    calls: list[tuple[Any, dict[str, Any], str]] = [
        (rds.create_db_cluster_snapshot,
         {"DBClusterSnapshotIdentifier": "src-bad", "DBClusterIdentifier": "src"},
         "DBClusterSnapshotAlreadyExistsFault"),
        (rds.create_db_cluster_snapshot,
         {"DBClusterSnapshotIdentifier": "x", "DBClusterIdentifier": "idle"},
         "InvalidDBClusterStateFault"),
        (rds.create_db_cluster_snapshot,
         {"DBClusterSnapshotIdentifier": "bad--name", "DBClusterIdentifier": "src"},
         "InvalidParameterValue"),
        (rds.describe_db_cluster_snapshots, {"DBClusterSnapshotIdentifier": "nope"},
         "DBClusterSnapshotNotFoundFault"),
        (rds.delete_db_cluster_snapshot, {"DBClusterSnapshotIdentifier": "nope"},
         "DBClusterSnapshotNotFoundFault"),
        (rds.restore_db_cluster_from_snapshot,
         {"DBClusterIdentifier": "r", "SnapshotIdentifier": "nope", "Engine": "aurora-postgresql"},
         "DBClusterSnapshotNotFoundFault"),
        (rds.restore_db_cluster_from_snapshot,
         {"DBClusterIdentifier": "src", "SnapshotIdentifier": "src-bad",
          "Engine": "aurora-postgresql"}, "DBClusterAlreadyExistsFault"),
        (rds.copy_db_cluster_snapshot,
         {"SourceDBClusterSnapshotIdentifier": "src-bad",
          "TargetDBClusterSnapshotIdentifier": "src-x", "KmsKeyId": "alias/aws/rds"},
         "InvalidParameterCombination"),
        (rds.delete_db_cluster,
         {"DBClusterIdentifier": "idle", "FinalDBSnapshotIdentifier": "src-bad"},
         "DBClusterSnapshotAlreadyExistsFault"),
    ]  # fmt: skip
    for call, params, code in calls:
        with pytest.raises(ClientError) as failed:
            call(**params)
        assert error_of(failed)[0] == code, (params, error_of(failed))
    assert server.cluster("idle")["Status"] == "stopped"
    with pytest.raises(ClientError) as missing:
        rds.describe_db_cluster_snapshot_attributes(DBClusterSnapshotIdentifier="nope")
    assert error_of(missing) == (
        "DBClusterSnapshotNotFoundFault",
        "DBClusterSnapshot not found: nope",
    )
