"""DB cluster snapshots through the production RDS service (real store, key ring and KMS;
the in-memory engine; a fixed clock): the states a snapshot and its cluster go through,
restores that the writer waits for, final snapshots, crash recovery, the automated backup
schedule driven by the clock, KMS encryption and re-encryption, and the AWS errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rds_doubles import ACCOUNT, REGION, T0
from rds_snapshot_world import PASSWORD, World

from warden.core.errors import AwsError
from warden.core.redacted import Redacted
from warden.services.rds.backups import BackupSchedule, in_window
from warden.services.rds.snapshot_worker import MAX_ATTEMPTS, SnapshotOptions, SnapshotWorker
from warden.store.schema.rds_snapshots import rds_cluster_snapshots


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    made = World(tmp_path)
    try:
        yield made
    finally:
        made.store.close()


def _error(exc: pytest.ExceptionInfo[AwsError]) -> tuple[str, str]:
    return exc.value.wire_name, exc.value.message


def _manual(world: World, **params: Any) -> list[str]:
    return world.snapshots(SnapshotType="manual", **params)


def test_a_snapshot_is_taken_while_its_cluster_is_backing_up(world: World) -> None:
    world.make("c1", Tags=[{"Key": "team", "Value": "db"}], CopyTagsToSnapshot=True)
    made = world.call(
        "CreateDBClusterSnapshot", DBClusterSnapshotIdentifier="Snap-1", DBClusterIdentifier="c1"
    )["DBClusterSnapshot"]
    assert made["Status"] == "creating" and made["DBClusterSnapshotIdentifier"] == "snap-1"
    assert made["DBClusterSnapshotArn"] == (
        f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster-snapshot:snap-1"
    )
    assert made["TagList"] == [{"Key": "team", "Value": "db"}]  # CopyTagsToSnapshot
    assert world.cluster("c1")["Status"] == "backing-up"
    assert world.worker.tick()
    snap = world.snapshot("snap-1")
    assert snap["Status"] == "available" and snap["PercentProgress"] == 100
    assert snap["SnapshotType"] == "manual" and snap["MasterUsername"] == "master"
    assert snap["StorageEncrypted"] is False and "KmsKeyId" not in snap
    assert snap["Port"] == world.cluster("c1")["Port"]
    assert world.cluster("c1")["Status"] == "available"
    assert sorted(world.events("db-cluster-snapshot", "snap-1")) == [
        "Creating manual cluster snapshot",
        "Manual cluster snapshot created",
    ]  # at one instant of the fixed clock: in no particular order
    files = [p.name for p in world.files()]
    assert any(name.endswith(".tar.enc") for name in files)
    for path in world.files():  # the fake engine's snapshot is JSON: none of it in clear
        assert b"databases" not in path.read_bytes() and b"master" not in path.read_bytes()


def test_a_restore_fills_the_new_cluster_before_its_writer_starts(world: World) -> None:
    world.make("c1")
    world.take("s1", "c1")
    world.settle()
    restored = world.call(
        "RestoreDBClusterFromSnapshot", DBClusterIdentifier="c2", SnapshotIdentifier="s1",
        Engine="aurora-postgresql", Tags=[{"Key": "from", "Value": "s1"}],
    )["DBCluster"]  # fmt: skip
    assert restored["Status"] == "creating" and restored["MasterUsername"] == "master"
    assert restored["DatabaseName"] == "app" and restored["TagList"] == [
        {"Key": "from", "Value": "s1"}
    ]
    world.add_instance("c2")
    for _ in range(3):  # without the snapshot worker, nothing moves: the data is not there
        world.rds.reconciler.tick()
    assert world.cluster("c2")["Status"] == "creating"
    writer = world.call("DescribeDBInstances", DBInstanceIdentifier="c2-w")["DBInstances"][0]
    assert writer["DBInstanceStatus"] == "creating"
    world.settle()
    assert world.cluster("c2")["Status"] == "available"
    spec = world.spec_of("c2")
    assert world.engine.password_matches(spec, "master", Redacted(PASSWORD))
    assert any("created from snapshot" in m for m in world.events("db-cluster", "c2"))
    with pytest.raises(AwsError) as exc:
        world.call("DeleteDBClusterSnapshot", DBClusterSnapshotIdentifier="nope")
    assert _error(exc) == ("DBClusterSnapshotNotFoundFault", "DBClusterSnapshot not found: nope")


def test_delete_with_a_final_snapshot_keeps_a_restorable_snapshot(world: World) -> None:
    world.make("c1")
    world.call("DeleteDBInstance", DBInstanceIdentifier="c1-w")
    world.call("DeleteDBCluster", DBClusterIdentifier="c1", FinalDBSnapshotIdentifier="last")
    assert world.snapshot("last")["Status"] == "creating"
    world.settle()
    assert world.call("DescribeDBClusters")["DBClusters"] == []
    last = world.snapshot("last")
    assert last["Status"] == "available" and last["SnapshotType"] == "manual"
    assert world.snapshots(SnapshotType="automated") == []  # gone with the cluster
    world.call(
        "RestoreDBClusterFromSnapshot", DBClusterIdentifier="again", SnapshotIdentifier="last",
        Engine="aurora-postgresql",
    )  # fmt: skip
    world.add_instance("again")
    world.settle()
    assert world.engine.password_matches(world.spec_of("again"), "master", Redacted(PASSWORD))


def test_a_final_snapshot_name_in_use_leaves_the_cluster_alone(world: World) -> None:
    world.make("c1", instance=False)
    world.take("s1", "c1")
    world.settle()
    with pytest.raises(AwsError) as exc:
        world.call("DeleteDBCluster", DBClusterIdentifier="c1", FinalDBSnapshotIdentifier="s1")
    assert _error(exc)[0] == "DBClusterSnapshotAlreadyExistsFault"
    assert world.cluster("c1")["Status"] == "available"


def _crashed(world: World, ident: str, attempts: int) -> SnapshotWorker:
    """The state a kill -9 mid-snapshot leaves: the row ``creating`` with its attempt
    counted, a partial file; and a fresh worker, as after the restart."""
    with world.store.begin() as conn:
        conn.execute(
            sa.update(rds_cluster_snapshots)
            .where(rds_cluster_snapshots.c.identifier == ident)
            .values(attempts=attempts)
        )
        snapshot_id = conn.execute(
            sa.select(rds_cluster_snapshots.c.snapshot_id).where(
                rds_cluster_snapshots.c.identifier == ident
            )
        ).scalar_one()
    folder = world.tmp / "rds" / "snapshots"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{snapshot_id}.tar.enc.partial").write_bytes(b"half a snapshot")
    return SnapshotWorker(world.rds.snapshots.deps, world.engine)


def test_a_snapshot_interrupted_by_a_crash_is_taken_again(world: World) -> None:
    world.make("c1")
    world.settle()
    world.take("s1", "c1")
    restarted = _crashed(world, "s1", attempts=1)
    assert restarted.tick()
    assert world.snapshot("s1")["Status"] == "available"
    assert not any(p.name.endswith(".partial") for p in world.files())
    assert world.cluster("c1")["Status"] == "available"


def test_a_snapshot_that_keeps_failing_fails_cleanly(world: World) -> None:
    world.make("c1")
    world.settle()
    world.take("s1", "c1")
    restarted = _crashed(world, "s1", attempts=MAX_ATTEMPTS)
    assert restarted.tick()
    assert world.snapshot("s1")["Status"] == "failed"
    assert world.files() == [p for p in world.files() if "partial" not in p.name]
    assert len(world.files()) == len(world.snapshots(SnapshotType="automated"))
    assert world.cluster("c1")["Status"] == "available"
    assert any("failed" in m for m in world.events("db-cluster-snapshot", "s1"))
    world.call("DeleteDBClusterSnapshot", DBClusterSnapshotIdentifier="s1")


def test_automated_snapshots_follow_the_window_and_expire(tmp_path: Path) -> None:
    world = World(tmp_path)
    try:
        world.make("c1", PreferredBackupWindow="07:00-07:30", BackupRetentionPeriod=2)
        world.clock.advance(timedelta(minutes=1))  # the schedule is looked at each minute
        world.settle()
        first = "rds:c1-2030-01-01-09-01"  # at once, as RDS backs up a new cluster
        assert world.snapshots(SnapshotType="automated") == [first]
        assert world.snapshot(first)["Status"] == "available"
        with pytest.raises(AwsError) as exc:
            world.call("DeleteDBClusterSnapshot", DBClusterSnapshotIdentifier=first)
        assert _error(exc) == (
            "InvalidDBClusterSnapshotStateFault",
            "Only manual snapshots may be deleted.",
        )
        world.clock.advance(timedelta(hours=21, minutes=29))  # 06:30: before the window
        world.settle()
        assert world.snapshots(SnapshotType="automated") == [first]
        world.clock.advance(timedelta(minutes=31))  # 07:01: in the window
        world.settle()
        second = "rds:c1-2030-01-02-07-01"
        assert world.snapshots(SnapshotType="automated") == [first, second]
        world.clock.advance(timedelta(days=1))
        world.settle()
        third = "rds:c1-2030-01-03-07-01"
        assert world.snapshots(SnapshotType="automated") == [first, second, third]
        world.clock.advance(timedelta(hours=2))  # the first is two days old now
        world.settle()
        assert world.snapshots(SnapshotType="automated") == [second, third]
        world.call("DeleteDBInstance", DBInstanceIdentifier="c1-w")
        world.settle()
        world.call("DeleteDBCluster", DBClusterIdentifier="c1", SkipFinalSnapshot=True)
        world.settle()
        world.clock.advance(timedelta(minutes=2))
        world.settle()
        assert world.snapshots(SnapshotType="automated") == []
        assert world.files() == []
    finally:
        world.store.close()


def test_a_shortened_interval_backs_up_without_a_window(tmp_path: Path) -> None:
    options = SnapshotOptions(BackupSchedule.from_env("30"))
    world = World(tmp_path, options)
    try:
        world.make("c1", BackupRetentionPeriod=1)
        world.clock.advance(timedelta(seconds=16))  # looked at every 15 s
        world.settle()
        assert world.snapshots(SnapshotType="automated") == ["rds:c1-2030-01-01-09-00"]
        world.clock.advance(timedelta(seconds=61))
        assert world.worker.backups.tick()
        taking = world.snapshot("rds:c1-2030-01-01-09-01")
        assert taking["Status"] == "creating" and taking["SnapshotType"] == "automated"
        assert world.cluster("c1")["Status"] == "available"  # backups are continuous in Aurora
        world.settle()
        assert world.snapshots(SnapshotType="automated") == ["rds:c1-2030-01-01-09-01"]
        assert world.snapshot("rds:c1-2030-01-01-09-01")["Status"] == "available"
    finally:
        world.store.close()
    assert BackupSchedule.from_env("") == BackupSchedule()
    with pytest.raises(ValueError):
        BackupSchedule.from_env("-1")
    assert in_window("23:30-00:15", T0.replace(hour=0, minute=5))
    assert not in_window("23:30-00:15", T0.replace(hour=0, minute=15))


def test_encrypted_snapshots_use_kms_and_copies_re_encrypt(world: World) -> None:
    world.make("enc", StorageEncrypted=True)
    managed = world.cluster("enc")["KmsKeyId"]
    world.take("e1", "enc")
    world.settle()
    assert world.snapshot("e1")["KmsKeyId"] == managed
    key = world.kms_call("CreateKey", Description="snapshots")["KeyMetadata"]["Arn"]
    copy = world.call(
        "CopyDBClusterSnapshot", SourceDBClusterSnapshotIdentifier="e1",
        TargetDBClusterSnapshotIdentifier="e2", KmsKeyId=key,
    )["DBClusterSnapshot"]  # fmt: skip
    assert copy["Status"] == "copying" and copy["KmsKeyId"] == key
    world.settle()
    e2 = world.snapshot("e2")
    assert e2["Status"] == "available" and e2["SourceDBClusterSnapshotArn"].endswith(":e1")
    with pytest.raises(AwsError) as exc:  # encrypted: never public
        world.call(
            "ModifyDBClusterSnapshotAttribute", DBClusterSnapshotIdentifier="e2",
            AttributeName="restore", ValuesToAdd=["all"],
        )  # fmt: skip
    assert _error(exc)[0] == "InvalidParameterValue"
    with pytest.raises(AwsError):  # the AWS-managed key cannot be shared at all
        world.call(
            "ModifyDBClusterSnapshotAttribute", DBClusterSnapshotIdentifier="e1",
            AttributeName="restore", ValuesToAdd=["210987654321"],
        )  # fmt: skip
    world.call(
        "ModifyDBClusterSnapshotAttribute", DBClusterSnapshotIdentifier="e2",
        AttributeName="restore", ValuesToAdd=["210987654321"],
    )  # fmt: skip
    world.kms_call("DisableKey", KeyId=key)
    with pytest.raises(AwsError) as exc:
        world.call(
            "RestoreDBClusterFromSnapshot", DBClusterIdentifier="r2", SnapshotIdentifier="e2",
            Engine="aurora-postgresql",
        )  # fmt: skip
    assert _error(exc)[0] == "KMSKeyNotAccessibleFault"


def test_bad_requests_get_the_aws_errors(world: World) -> None:
    world.make("c1", instance=False)
    world.call("StopDBCluster", DBClusterIdentifier="c1")
    world.settle()
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("CreateDBClusterSnapshot", {"DBClusterSnapshotIdentifier": "s1",
                                     "DBClusterIdentifier": "c1"}, "InvalidDBClusterStateFault"),
        ("CreateDBClusterSnapshot", {"DBClusterSnapshotIdentifier": "bad--id",
                                     "DBClusterIdentifier": "c1"}, "InvalidParameterValue"),
        ("CreateDBClusterSnapshot", {"DBClusterSnapshotIdentifier": "s1",
                                     "DBClusterIdentifier": "nope"}, "DBClusterNotFoundFault"),
        ("DescribeDBClusterSnapshots", {"DBClusterSnapshotIdentifier": "nope"},
         "DBClusterSnapshotNotFoundFault"),
        ("DescribeDBClusterSnapshots", {"SnapshotType": "weekly"}, "InvalidParameterValue"),
        ("CopyDBClusterSnapshot", {"SourceDBClusterSnapshotIdentifier": "nope",
                                   "TargetDBClusterSnapshotIdentifier": "t"},
         "DBClusterSnapshotNotFoundFault"),
        ("RestoreDBClusterFromSnapshot", {"DBClusterIdentifier": "r", "SnapshotIdentifier": "x",
                                          "Engine": "aurora-postgresql"},
         "DBClusterSnapshotNotFoundFault"),
        ("ModifyDBClusterSnapshotAttribute", {"DBClusterSnapshotIdentifier": "x",
                                              "AttributeName": "copy"}, "InvalidParameterValue"),
        ("DescribeDBClusterSnapshotAttributes", {"DBClusterSnapshotIdentifier": "x"},
         "DBClusterSnapshotNotFoundFault"),
    ]  # fmt: skip
    for operation, params, code in cases:
        with pytest.raises(AwsError) as exc:
            world.call(operation, **params)
        assert exc.value.wire_name == code, (operation, params)
    world.call("StartDBCluster", DBClusterIdentifier="c1")
    world.settle()
    world.take("s1", "c1")
    with pytest.raises(AwsError) as exc:  # the cluster is backing-up
        world.call(
            "CreateDBClusterSnapshot", DBClusterSnapshotIdentifier="s2", DBClusterIdentifier="c1"
        )
    assert _error(exc)[0] == "InvalidDBClusterStateFault"
    world.settle()
    with pytest.raises(AwsError) as exc:
        world.call(
            "CreateDBClusterSnapshot", DBClusterSnapshotIdentifier="s1", DBClusterIdentifier="c1"
        )
    assert _error(exc) == (
        "DBClusterSnapshotAlreadyExistsFault",
        "Cannot create the cluster snapshot because one with the identifier s1 already exists.",
    )
    with pytest.raises(AwsError) as exc:
        world.call(
            "CopyDBClusterSnapshot", SourceDBClusterSnapshotIdentifier="s1",
            TargetDBClusterSnapshotIdentifier="s3", KmsKeyId="alias/aws/rds",
        )  # fmt: skip
    assert _error(exc)[0] == "InvalidParameterCombination"
    assert _manual(world) == ["s1"]


def test_every_spelling_of_a_snapshot_arn_is_authorized_as_the_snapshot(world: World) -> None:
    from dataclasses import replace

    from warden.services.context import Scope
    from warden.services.rds.snapshot_authz import SnapshotLookup

    world.make("src")
    world.take("prod", "src")
    world.settle()
    arn = world.snapshot("prod")["DBClusterSnapshotArn"]
    lookup, scope = SnapshotLookup(world.store), Scope(ACCOUNT, REGION, "p")
    shouted = arn.replace("arn:aws:", "arn:aws-cn:").removesuffix("prod") + "PROD"
    for spelling in ("prod", "PROD", arn, shouted):
        assert lookup.arn(scope, spelling) == arn, spelling
        found = lookup.find(scope, spelling)
        assert found is not None and found.arn == arn
    # Authorized on another account's snapshot of that name: the caller's own is not touched.
    other = arn.replace(ACCOUNT, "999999999999")
    for operation in ("DeleteDBClusterSnapshot", "DescribeDBClusterSnapshotAttributes"):
        ctx = replace(world.ctx(operation), resources=(other,))
        with pytest.raises(AwsError) as err:
            world.rds.service.handlers[operation](ctx, {"DBClusterSnapshotIdentifier": other})
        assert err.value.wire_name == "DBClusterSnapshotNotFoundFault"
    assert world.snapshot("prod")["Status"] == "available"
