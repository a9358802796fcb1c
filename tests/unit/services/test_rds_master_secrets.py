"""RDS-managed master passwords over the real store, KMS, Secrets Manager and rotation
executor, with the fake engine (no processes) and a fixed clock.

RDS and Secrets Manager are wired as the server wires them: RDS creates its secrets through
``ServiceSecrets`` and Secrets Manager's executor applies rotated passwords through RDS's
``ManagedRotation``. Waiting for the reconciler is a reconciler tick here (the production
rotation sleeps while the reconciler thread works).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rds_doubles import ACCOUNT, REGION, T0, LocalCa, allow_keys, whole_page

from warden.core.clock import FixedClock
from warden.core.errors import AwsError
from warden.core.ids import RandomIds
from warden.core.principal import Principal, PrincipalType
from warden.core.redacted import Redacted
from warden.engines.fake import FakeEngine
from warden.services.context import CallContext
from warden.services.ec2.directory import SecurityGroupDirectory
from warden.services.kms.handlers import Kms
from warden.services.ports import ServiceSecret
from warden.services.rds.handlers import Rds, build
from warden.services.rds.master_rotation import MasterPasswordRotation
from warden.services.rds.reconciler import Reconciler
from warden.services.secretsmanager import handlers as sm_handlers
from warden.services.secretsmanager.dbsecret import Trust
from warden.services.secretsmanager.rotation_workers import RotationConfig, build_workers
from warden.services.secretsmanager.rotator import RotationExecutor
from warden.services.secretsmanager.scheduler import RotationScheduler
from warden.store.db import Store
from warden.store.jobs import JobQueue
from warden.store.keyring import KeyRing
from warden.store.schema import accounts, rds_clusters

PRINCIPAL = Principal(
    f"arn:aws:iam::{ACCOUNT}:user/t", PrincipalType.IAM_USER, ACCOUNT, "AIDA", "AKIA", "t"
)


def _allow_all(ctx: CallContext, action: str, resource: str, **_: Any) -> str | None:
    return None


class World:
    def __init__(self, tmp: Path) -> None:
        self.store = Store.sqlite_in(tmp)
        with self.store.begin() as conn:
            conn.execute(
                sa.insert(accounts).values(
                    account_id=ACCOUNT, created_at=T0, root_password_hash="x", root_user_id="r"
                )
            )
        ring = KeyRing.create(tmp)
        self.clock = FixedClock(T0)
        ids = RandomIds()
        self.engine = FakeEngine()
        keys = Kms(self.store, ring, self.clock, ids, access=allow_keys).data_keys
        jobs = JobQueue(self.store, self.clock, ids)
        self.owned = sm_handlers.service_secrets(self.store, self.clock, ids, keys, jobs)
        self.rds: Rds = build(
            self.store, ring, self.clock, ids, engine=self.engine, engine_version="17.4",
            data_keys=keys, groups=SecurityGroupDirectory(self.store, self.clock, ids),
            ca=LocalCa(), root=tmp / "rds", host="127.0.0.1", secrets=self.owned,
        )  # fmt: skip
        self.sm = sm_handlers.build(self.store, self.clock, ids, keys, _allow_all, jobs)
        # The rotation's wait for the reconciler: one reconciler tick per poll.
        self.passwords = MasterPasswordRotation(
            self.rds.reconciler.deps, self.engine, pause=lambda _: self.tick(), polls=20
        )
        config = RotationConfig(
            accounts=None,  # type: ignore[arg-type]  # managed rotations never use it
            trust=Trust(),
            node="test",
            managed={"rds": self.passwords},
            executors=1,
        )
        deps = sm_handlers.deps_for(self.store, self.clock, ids, keys, jobs)
        scheduler, executor = (p.worker for p in build_workers(deps, config))
        assert isinstance(scheduler, RotationScheduler)
        assert isinstance(executor, RotationExecutor)
        self.scheduler, self.executor = scheduler, executor

    def ctx(self, service: str, operation: str) -> CallContext:
        return CallContext(
            "req", ACCOUNT, REGION, service, operation, PRINCIPAL, "127.0.0.1", "t", True,
            self.clock.now(), whole_page,
        )  # fmt: skip

    def call(self, operation: str, **params: Any) -> Any:
        return self.rds.service.handlers[operation](self.ctx("rds", operation), params)

    def secrets(self, operation: str, **params: Any) -> Any:
        return self.sm.handlers[operation](self.ctx("secretsmanager", operation), params)

    def tick(self) -> bool:
        return self.rds.reconciler.tick()

    def settle(self, ticks: int = 10) -> None:
        for _ in range(ticks):
            if not self.tick():
                return

    def cluster(self, ident: str = "c1") -> Mapping[str, Any]:
        return self.call("DescribeDBClusters", DBClusterIdentifier=ident)["DBClusters"][0]

    def writer_spec(self) -> Any:
        steps = self.rds.reconciler.steps
        return next(s for s in steps.applied.values() if s.instance_id == "c1-w")

    def make(self, *, instance: bool = True, **extra: Any) -> Mapping[str, Any]:
        out = self.call(
            "CreateDBCluster", DBClusterIdentifier="c1", Engine="aurora-postgresql",
            MasterUsername="master", ManageMasterUserPassword=True, **extra,
        )  # fmt: skip
        if instance:
            self.call(
                "CreateDBInstance", DBInstanceIdentifier="c1-w", DBClusterIdentifier="c1",
                Engine="aurora-postgresql", DBInstanceClass="db.r6g.large",
            )  # fmt: skip
        self.settle()
        return dict(out["DBCluster"])

    def value(self, **params: Any) -> dict[str, str]:
        arn = self.cluster()["MasterUserSecret"]["SecretArn"]
        found: dict[str, str] = json.loads(
            self.secrets("GetSecretValue", SecretId=arn, **params)["SecretString"]
        )
        return found

    def accepts(self, password: str) -> bool:
        return self.engine.password_matches(self.writer_spec(), "master", Redacted(password))

    def scheduled_rotation(self) -> None:
        """The schedule's next window (7 days on) opens: the scheduler starts a rotation."""
        self.clock.advance(timedelta(days=8))
        self.scheduler.tick()
        assert self.cluster()["MasterUserSecret"]["SecretStatus"] == "rotating"
        assert self.executor.run_once()

    def rotate_now(self) -> None:
        self.call(
            "ModifyDBCluster", DBClusterIdentifier="c1", RotateMasterUserPassword=True,
            ApplyImmediately=True,
        )  # fmt: skip
        assert self.cluster()["MasterUserSecret"]["SecretStatus"] == "rotating"
        assert self.executor.run_once()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    made = World(tmp_path)
    try:
        yield made
    finally:
        made.store.close()


def _code(exc: pytest.ExceptionInfo[AwsError]) -> tuple[str, str]:
    return exc.value.code, exc.value.message


def test_a_managed_cluster_keeps_its_generated_password_in_an_rds_secret(world: World) -> None:
    created = world.make()
    assert created["MasterUserSecret"]["SecretStatus"] == "creating"
    secret = world.cluster()["MasterUserSecret"]
    assert secret["SecretStatus"] == "active"
    assert secret["KmsKeyId"].startswith(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/")
    assert secret["SecretArn"] == created["MasterUserSecret"]["SecretArn"]
    described = world.secrets("DescribeSecret", SecretId=secret["SecretArn"])
    assert described["Name"].startswith("rds!cluster-") and described["OwningService"] == "rds"
    assert described["RotationEnabled"] is True
    assert described["RotationRules"] == {"AutomaticallyAfterDays": 7}
    assert described["NextRotationDate"] < T0 + timedelta(days=8)
    assert {"Key": "aws:rds:primaryDBClusterArn", "Value": world.cluster()["DBClusterArn"]} in (
        described["Tags"]
    )
    value = world.value()
    assert set(value) == {"username", "password"} and value["username"] == "master"
    assert len(value["password"]) == 32
    assert world.accepts(value["password"])


def test_rotation_changes_the_password_in_the_database_and_keeps_the_previous(
    world: World,
) -> None:
    world.make()
    old = world.value()["password"]
    world.rotate_now()
    new = world.value()["password"]
    assert new != old and world.accepts(new) and not world.accepts(old)
    assert world.value(VersionStage="AWSPREVIOUS")["password"] == old
    assert world.cluster()["MasterUserSecret"]["SecretStatus"] == "active"
    # The reconciler expects the rotated password: no drift, no "restored" old password.
    for _ in range(3):
        world.clock.advance(timedelta(seconds=10))
        world.settle()
    assert world.accepts(new)
    assert not any("changed inside" in m for m in _events(world))
    # The schedule's next window rotates again (every 7 days).
    world.scheduled_rotation()
    assert world.accepts(world.value()["password"]) and not world.accepts(new)


def _events(world: World) -> list[str]:
    found = world.call("DescribeEvents", SourceType="db-cluster", SourceIdentifier="c1")
    return [e["Message"] for e in found["Events"]]


def test_a_stopped_cluster_takes_the_rotated_password_when_it_starts(world: World) -> None:
    world.make()
    world.call("StopDBCluster", DBClusterIdentifier="c1")
    world.settle()
    assert world.cluster()["Status"] == "stopped"
    old = world.value()["password"]
    world.scheduled_rotation()
    new = world.value()["password"]
    assert new != old
    world.call("StartDBCluster", DBClusterIdentifier="c1")
    world.settle()
    assert world.cluster()["Status"] == "available"
    assert world.accepts(new) and not world.accepts(old)


def test_management_turned_off_and_on_again(world: World) -> None:
    world.make()
    first = world.cluster()["MasterUserSecret"]["SecretArn"]
    world.call(
        "ModifyDBCluster", DBClusterIdentifier="c1", ManageMasterUserPassword=False,
        MasterUserPassword="Own-Passw0rd", ApplyImmediately=True,
    )  # fmt: skip
    world.settle()
    assert "MasterUserSecret" not in world.cluster()
    assert world.accepts("Own-Passw0rd")
    with pytest.raises(AwsError, match="can't find the specified secret"):
        world.secrets("DescribeSecret", SecretId=first)
    out = world.call(
        "ModifyDBCluster", DBClusterIdentifier="c1", ManageMasterUserPassword=True,
        ApplyImmediately=True,
    )  # fmt: skip
    assert out["DBCluster"]["MasterUserSecret"]["SecretStatus"] == "creating"
    world.settle()
    second = world.cluster()["MasterUserSecret"]
    assert second["SecretStatus"] == "active" and second["SecretArn"] != first
    assert world.accepts(world.value()["password"]) and not world.accepts("Own-Passw0rd")


@pytest.mark.parametrize(
    ("operation", "params", "message"),
    [
        (
            "CreateDBCluster",
            {"ManageMasterUserPassword": True, "MasterUserPassword": "Some-Passw0rd"},
            "can't specify MasterUserPassword",
        ),
        (
            "CreateDBCluster",
            {
                "MasterUserSecretKmsKeyId": "alias/aws/secretsmanager",
                "MasterUserPassword": "Some-Passw0rd",
            },
            "only when",
        ),
        ("ModifyDBCluster", {"ManageMasterUserPassword": False}, "must be provided"),
        ("ModifyDBCluster", {"MasterUserPassword": "Some-Passw0rd"}, "can't specify"),
        ("ModifyDBCluster", {"RotateMasterUserPassword": True}, "ApplyImmediately"),
        ("ModifyDBCluster", {"MasterUserSecretKmsKeyId": "alias/x"}, "can't change the KMS key"),
        (
            "ModifyDBCluster",
            {"ManageMasterUserPassword": True, "MasterUserPassword": "Some-Passw0rd"},
            "can't specify",
        ),
    ],
)
def test_bad_combinations_are_refused(
    world: World, operation: str, params: dict[str, Any], message: str
) -> None:
    world.make(instance=False)
    ident = "c1" if operation == "ModifyDBCluster" else "c2"
    base = {"DBClusterIdentifier": ident}
    if operation == "CreateDBCluster":
        base.update(Engine="aurora-postgresql", MasterUsername="master")
    with pytest.raises(AwsError) as refused:
        world.call(operation, **base, **params)
    code, text = _code(refused)
    assert code == "InvalidParameterCombination" and message in text


def test_rotation_of_an_unmanaged_cluster_is_refused(world: World) -> None:
    world.call(
        "CreateDBCluster", DBClusterIdentifier="plain", Engine="aurora-postgresql",
        MasterUsername="master", MasterUserPassword="Plain-Passw0rd",
    )  # fmt: skip
    world.settle()
    with pytest.raises(AwsError) as refused:
        world.call(
            "ModifyDBCluster", DBClusterIdentifier="plain", RotateMasterUserPassword=True,
            ApplyImmediately=True,
        )  # fmt: skip
    assert _code(refused)[0] == "InvalidParameterCombination"
    assert "MasterUserSecret" not in world.cluster("plain")


def test_a_secret_a_crash_left_unmade_or_unowned_is_converged(world: World) -> None:
    world.make(instance=False)
    arn = world.cluster()["MasterUserSecret"]["SecretArn"]
    name = world.secrets("DescribeSecret", SecretId=arn)["Name"]
    # A crash after the row named the secret, before it existed.
    world.owned.delete(ACCOUNT, REGION, arn)
    with world.store.begin() as conn:
        conn.execute(sa.update(rds_clusters).values(master_secret_arn=None))
    assert world.cluster()["MasterUserSecret"]["SecretStatus"] == "creating"
    world.settle()
    remade = world.cluster()["MasterUserSecret"]
    assert remade["SecretStatus"] == "active"
    assert world.secrets("DescribeSecret", SecretId=remade["SecretArn"])["Name"] == name
    # A crash after a secret was made for a cluster row that never committed.
    orphan = world.owned.ensure(
        ServiceSecret(ACCOUNT, REGION, "rds!cluster-orphan", "rds", Redacted("{}"), None, "", (), 7)
    )
    Reconciler(world.rds.reconciler.deps, world.engine).tick()  # a restarted reconciler
    with pytest.raises(AwsError, match="can't find"):
        world.secrets("DescribeSecret", SecretId=orphan)
    assert world.secrets("DescribeSecret", SecretId=remade["SecretArn"])["Name"] == name


def test_deleting_the_cluster_deletes_its_secret(world: World) -> None:
    world.make(instance=False)
    arn = world.cluster()["MasterUserSecret"]["SecretArn"]
    out = world.call("DeleteDBCluster", DBClusterIdentifier="c1", SkipFinalSnapshot=True)
    assert out["DBCluster"]["MasterUserSecret"]["SecretArn"] == arn
    world.settle()
    assert world.owned.owned("rds") == ()
