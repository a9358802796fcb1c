"""The RDS control plane over a real store and the fake engine: API calls record desired
state, reconciler ticks converge it, events say what happened.

The engine is ``FakeEngine`` (no processes); the store, key ring, EC2 security groups,
sealing, specs and the reconciler are the production code. KMS is not needed (nothing here
is encrypted at rest) and refuses if asked.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rds_doubles import ACCOUNT, REGION, T0, LocalCa, NoKeys

from warden.core.clock import FixedClock
from warden.core.errors import AwsError
from warden.core.ids import RandomIds
from warden.core.principal import Principal, PrincipalType
from warden.core.redacted import Redacted
from warden.engines.base import InstanceState
from warden.engines.fake import FakeEngine
from warden.engines.postgres.scram import make_verifier
from warden.services.context import CallContext
from warden.services.ec2.directory import SecurityGroupDirectory
from warden.services.rds.handlers import Rds, build
from warden.store.db import Store
from warden.store.keyring import KeyRing
from warden.store.schema import accounts

PASSWORD = "initial-Passw0rd"


class World:
    def __init__(self, tmp: Path) -> None:
        self.store = Store.sqlite_in(tmp)
        with self.store.begin() as conn:
            conn.execute(
                sa.insert(accounts).values(
                    account_id=ACCOUNT, created_at=T0, root_password_hash="x", root_user_id="r"
                )
            )
        self.clock = FixedClock(T0)
        self.engine = FakeEngine()
        ids = RandomIds()
        self.groups = SecurityGroupDirectory(self.store, self.clock, ids)
        self.rds: Rds = build(
            self.store, KeyRing.create(tmp), self.clock, ids,
            engine=self.engine, engine_version="17.4", data_keys=NoKeys(), groups=self.groups,
            ca=LocalCa(), root=tmp / "rds", host="127.0.0.1", drift_seconds=5.0,
        )  # fmt: skip

    def call(self, operation: str, **params: Any) -> Any:
        principal = Principal(
            f"arn:aws:iam::{ACCOUNT}:user/t", PrincipalType.IAM_USER, ACCOUNT, "AIDA", "AKIA", "t"
        )

        def page(
            items: Sequence[Any], *, default_page: int = 100
        ) -> tuple[list[Any], dict[str, Any]]:
            return list(items), {}

        ctx = CallContext(
            "req", ACCOUNT, REGION, "rds", operation, principal, "127.0.0.1", "t", True,
            self.clock.now(), page,
        )  # fmt: skip
        return self.rds.service.handlers[operation](ctx, params)

    def settle(self, ticks: int = 10) -> None:
        for _ in range(ticks):
            if not self.rds.reconciler.tick():
                return

    def cluster(self, ident: str = "c1") -> Mapping[str, Any]:
        return self.call("DescribeDBClusters", DBClusterIdentifier=ident)["DBClusters"][0]

    def instance(self, ident: str = "c1-w") -> Mapping[str, Any]:
        return self.call("DescribeDBInstances", DBInstanceIdentifier=ident)["DBInstances"][0]

    def events(self, kind: str, ident: str) -> list[str]:
        found = self.call("DescribeEvents", SourceType=kind, SourceIdentifier=ident)["Events"]
        return [e["Message"] for e in found]

    def spec(self, ident: str = "c1-w") -> Any:
        steps = self.rds.reconciler.steps
        return next(s for s in steps.applied.values() if s.instance_id == ident)

    def make(self, ident: str = "c1") -> None:
        self.call(
            "CreateDBCluster", DBClusterIdentifier=ident, Engine="aurora-postgresql",
            MasterUsername="master", MasterUserPassword=PASSWORD, DatabaseName="app",
        )  # fmt: skip
        self.call(
            "CreateDBInstance", DBInstanceIdentifier=f"{ident}-w", DBClusterIdentifier=ident,
            Engine="aurora-postgresql", DBInstanceClass="db.r6g.large",
        )  # fmt: skip
        self.settle()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    made = World(tmp_path)
    try:
        yield made
    finally:
        made.store.close()


def test_create_converges_to_available_with_events(world: World) -> None:
    world.call(
        "CreateDBCluster", DBClusterIdentifier="c1", Engine="aurora-postgresql",
        MasterUsername="master", MasterUserPassword=PASSWORD,
    )  # fmt: skip
    assert world.cluster()["Status"] == "creating"
    world.call(
        "CreateDBInstance", DBInstanceIdentifier="c1-w", DBClusterIdentifier="c1",
        Engine="aurora-postgresql", DBInstanceClass="db.r6g.large",
    )  # fmt: skip
    assert world.instance()["DBInstanceStatus"] == "creating"
    world.settle()
    assert world.cluster()["Status"] == "available"
    assert world.instance()["DBInstanceStatus"] == "available"
    assert world.engine.password_matches(world.spec(), "master", Redacted(PASSWORD))
    assert world.events("db-cluster", "c1") == ["DB cluster created"]
    assert world.events("db-instance", "c1-w") == ["DB instance created"]


def test_a_crashed_server_is_restarted_with_an_event(world: World) -> None:
    world.make()
    world.engine.crash(world.spec())
    assert world.rds.reconciler.tick()
    assert world.engine.status(world.spec()).state is InstanceState.RUNNING
    assert any("stopped unexpectedly" in m for m in world.events("db-instance", "c1-w"))


def test_security_group_changes_reach_the_running_server(world: World) -> None:
    world.make()
    default = world.cluster()["VpcSecurityGroups"][0]["VpcSecurityGroupId"]
    assert world.spec().access.ingress == ("127.0.0.1/32",)
    from warden.services.ec2 import repository as sg_repo
    from warden.services.ec2.model import Rule, RuleKey

    with world.store.begin() as conn:
        rule = Rule("sgr-1", default, RuleKey("tcp", 1150, 65535, "10.0.0.0/8"))
        sg_repo.insert_rules(conn, [rule], T0)
    assert world.rds.reconciler.tick()
    assert world.spec().access.ingress == ("10.0.0.0/8", "127.0.0.1/32")
    assert not world.rds.reconciler.tick()  # nothing more to do


def test_a_password_changed_in_sql_is_noticed_once_and_reset_through_the_api(world: World) -> None:
    world.make()
    world.engine.set_role_verifier(world.spec(), "master", str(make_verifier("changed-by-sql")))
    world.clock.advance(timedelta(seconds=6))
    world.settle()
    world.clock.advance(timedelta(seconds=6))
    world.settle()
    drift = [m for m in world.events("db-cluster", "c1") if "changed inside the database" in m]
    assert len(drift) == 1
    world.call("ModifyDBCluster", DBClusterIdentifier="c1", MasterUserPassword="New-Passw0rd")
    assert world.cluster()["Status"] == "resetting-master-credentials"
    world.settle()
    assert world.cluster()["Status"] == "available"
    assert world.engine.password_matches(world.spec(), "master", Redacted("New-Passw0rd"))
    assert "Reset master credentials" in world.events("db-cluster", "c1")


def test_a_create_that_keeps_failing_ends_failed(world: World) -> None:
    world.call(
        "CreateDBInstance", DBInstanceIdentifier="solo", Engine="postgres",
        DBInstanceClass="db.t3.micro", MasterUsername="master", MasterUserPassword=PASSWORD,
    )  # fmt: skip
    world.call(
        "CreateDBInstance", DBInstanceIdentifier="healthy", Engine="postgres",
        DBInstanceClass="db.t3.micro", MasterUsername="master", MasterUserPassword=PASSWORD,
    )  # fmt: skip
    # The fake refuses a reserved master name exactly as the engine does: every try fails.
    from warden.services.rds import repository as repo

    with world.store.begin() as conn:
        solo = repo.instance(conn, ACCOUNT, REGION, "solo")
        assert solo is not None
        repo.update_instance(conn, solo.resource_id, master_username="rds_superuser")
    for _ in range(3):
        world.rds.reconciler.tick()
    assert world.instance("solo")["DBInstanceStatus"] == "failed"
    assert any("could not be created" in m for m in world.events("db-instance", "solo"))
    assert world.instance("healthy")["DBInstanceStatus"] == "available"
    world.call("DeleteDBInstance", DBInstanceIdentifier="solo", SkipFinalSnapshot=True)
    world.settle()
    with pytest.raises(AwsError) as gone:
        world.instance("solo")
    assert gone.value.wire_name == "DBInstanceNotFoundFault"


def test_deleting_the_writer_keeps_the_cluster_volume(world: World) -> None:
    world.make()
    spec = world.spec()
    world.call("DeleteDBInstance", DBInstanceIdentifier="c1-w")
    world.settle()
    assert world.engine.status(spec).state is InstanceState.STOPPED  # the volume stays
    world.call(
        "CreateDBInstance", DBInstanceIdentifier="c1-w2", DBClusterIdentifier="c1",
        Engine="aurora-postgresql", DBInstanceClass="db.r6g.large",
    )  # fmt: skip
    world.settle()
    assert world.instance("c1-w2")["DBInstanceStatus"] == "available"
    assert world.engine.password_matches(world.spec("c1-w2"), "master", Redacted(PASSWORD))
    world.call("DeleteDBInstance", DBInstanceIdentifier="c1-w2")
    world.settle()
    world.call("DeleteDBCluster", DBClusterIdentifier="c1", SkipFinalSnapshot=True)
    world.settle()
    assert world.engine.status(spec).state is InstanceState.ABSENT
    assert world.call("DescribeDBClusters")["DBClusters"] == []


def test_a_new_port_restarts_the_server_on_it(world: World) -> None:
    world.make()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        new = probe.getsockname()[1]
    modified = world.call("ModifyDBCluster", DBClusterIdentifier="c1", Port=new)["DBCluster"]
    assert modified["Status"] == "modifying"
    world.settle()
    assert world.cluster()["Status"] == "available"
    assert world.cluster()["Port"] == new == world.spec().port
    assert world.instance()["Endpoint"]["Port"] == new
    assert world.engine.status(world.spec()).port == new
