"""RDS parameter groups over a real store (SQLite and PostgreSQL) and the fake engine: the
API's validation and errors, the groups' lifecycle, and how the reconciler applies them
(dynamic values live, static ones and ``pending-reboot`` ones at the next reboot).

The engine is ``FakeEngine`` (its catalog: ``log_statement`` and ``work_mem`` dynamic,
``max_connections`` static, ``shared_preload_libraries`` not modifiable, ``rds.force_ssl``);
everything else — store, key ring, EC2 security groups, specs, reconciler — is production
code.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rds_doubles import ACCOUNT, REGION, T0, LocalCa, NoKeys

from warden.core.clock import FixedClock
from warden.core.errors import AwsError
from warden.core.ids import RandomIds
from warden.core.principal import Principal, PrincipalType
from warden.engines.base import InstanceSpec
from warden.engines.fake import FakeEngine
from warden.services.context import CallContext, Scope
from warden.services.ec2.directory import SecurityGroupDirectory
from warden.services.rds import parameter_store
from warden.services.rds.handlers import Rds, build
from warden.services.rds.parameter_apply import Desired, plan
from warden.services.rds.parameter_store import Applied, GroupKind, UserValue
from warden.store.db import Store
from warden.store.keyring import KeyRing
from warden.store.schema import accounts

PASSWORD = "initial-Passw0rd"


class World:
    def __init__(self, tmp: Path, url: str) -> None:
        self.store = Store.open(url)
        with self.store.begin() as conn:
            conn.execute(
                sa.insert(accounts).values(
                    account_id=ACCOUNT, created_at=T0, root_password_hash="x", root_user_id="r"
                )
            )
        self.clock = FixedClock(T0)
        self.engine = FakeEngine()
        ids = RandomIds()
        groups = SecurityGroupDirectory(self.store, self.clock, ids)
        self.rds: Rds = build(
            self.store, KeyRing.create(tmp), self.clock, ids,
            engine=self.engine, engine_version="17.4", data_keys=NoKeys(), groups=groups,
            ca=LocalCa(), root=tmp / "rds", host="127.0.0.1",
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

    def error(self, operation: str, **params: Any) -> tuple[str, str]:
        with pytest.raises(AwsError) as caught:
            self.call(operation, **params)
        return caught.value.wire_name, caught.value.message

    def settle(self, ticks: int = 10) -> None:
        for _ in range(ticks):
            if not self.rds.reconciler.tick():
                return

    def spec(self, ident: str = "c1-w") -> InstanceSpec:
        steps = self.rds.reconciler.steps
        return next(s for s in steps.applied.values() if s.instance_id == ident)

    def running(self, ident: str = "c1-w") -> dict[str, str]:
        """The values the fake server runs with (static ones change only at a start)."""
        return dict(self.engine._get(self.spec(ident)).applied)

    def member_status(self, cluster: str = "c1") -> str:
        found = self.call("DescribeDBClusters", DBClusterIdentifier=cluster)["DBClusters"][0]
        return str(found["DBClusterMembers"][0]["DBClusterParameterGroupStatus"])

    def instance_groups(self, ident: str = "c1-w") -> list[dict[str, str]]:
        found = self.call("DescribeDBInstances", DBInstanceIdentifier=ident)["DBInstances"][0]
        return list(found["DBParameterGroups"])

    def group(self, name: str = "pg1", family: str = "aurora-postgresql17") -> None:
        self.call(
            "CreateDBClusterParameterGroup", DBClusterParameterGroupName=name,
            DBParameterGroupFamily=family, Description="test group",
        )  # fmt: skip

    def set(self, *items: tuple[str, str, str], name: str = "pg1") -> None:
        self.call(
            "ModifyDBClusterParameterGroup",
            DBClusterParameterGroupName=name,
            Parameters=[
                {"ParameterName": n, "ParameterValue": v, "ApplyMethod": m} for n, v, m in items
            ],
        )

    def make(self, ident: str = "c1", **extra: Any) -> None:
        self.call(
            "CreateDBCluster", DBClusterIdentifier=ident, Engine="aurora-postgresql",
            MasterUsername="master", MasterUserPassword=PASSWORD, **extra,
        )  # fmt: skip
        self.call(
            "CreateDBInstance", DBInstanceIdentifier=f"{ident}-w", DBClusterIdentifier=ident,
            Engine="aurora-postgresql", DBInstanceClass="db.r6g.large",
        )  # fmt: skip
        self.settle()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    url = (
        f"sqlite:///{tmp_path / 'warden.db'}"
        if request.param == "sqlite"
        else str(request.getfixturevalue("pg_url"))
    )
    made = World(tmp_path, url)
    try:
        yield made
    finally:
        made.store.close()


# -- groups --------------------------------------------------------------------------------


def test_groups_are_created_listed_with_the_defaults_and_deleted(world: World) -> None:
    made = world.call(
        "CreateDBParameterGroup", DBParameterGroupName="My-Group",
        DBParameterGroupFamily="postgres17", Description="mine",
        Tags=[{"Key": "team", "Value": "db"}],
    )["DBParameterGroup"]  # fmt: skip
    assert made == {
        "DBParameterGroupName": "my-group",
        "DBParameterGroupFamily": "postgres17",
        "Description": "mine",
        "DBParameterGroupArn": f"arn:aws:rds:{REGION}:{ACCOUNT}:pg:my-group",
    }
    listed = world.call("DescribeDBParameterGroups")["DBParameterGroups"]
    assert [g["DBParameterGroupName"] for g in listed] == [
        "default.aurora-postgresql17", "default.postgres17", "my-group",
    ]  # fmt: skip
    assert listed[0]["DBParameterGroupArn"].endswith(":pg:default.aurora-postgresql17")
    world.group("cpg")
    clusters = world.call("DescribeDBClusterParameterGroups")["DBClusterParameterGroups"]
    assert [g["DBClusterParameterGroupName"] for g in clusters] == [
        "cpg", "default.aurora-postgresql17", "default.postgres17",
    ]  # fmt: skip
    assert clusters[0]["DBClusterParameterGroupArn"].endswith(":cluster-pg:cpg")
    tags = world.call("ListTagsForResource", ResourceName=made["DBParameterGroupArn"])
    assert tags["TagList"] == [{"Key": "team", "Value": "db"}]
    world.call("DeleteDBParameterGroup", DBParameterGroupName="my-group")
    assert world.error("DescribeDBParameterGroups", DBParameterGroupName="my-group") == (
        "DBParameterGroupNotFoundFault",
        "DBParameterGroup not found: my-group",
    )


def test_bad_group_requests_get_the_aws_errors(world: World) -> None:
    world.group()
    assert world.error(
        "CreateDBClusterParameterGroup", DBClusterParameterGroupName="PG1",
        DBParameterGroupFamily="aurora-postgresql17", Description="again",
    ) == ("DBParameterGroupAlreadyExistsFault", "Parameter group pg1 already exists")  # fmt: skip
    code, message = world.error(
        "CreateDBParameterGroup", DBParameterGroupName="x",
        DBParameterGroupFamily="mysql8.0", Description="d",
    )  # fmt: skip
    assert code == "InvalidParameterValue"
    assert message == "ParameterGroupFamily mysql8.0 is not a valid parameter group family"
    for bad in ("1abc", "a--b", "a-", "a.b", "a" * 256):
        code, _ = world.error(
            "CreateDBParameterGroup", DBParameterGroupName=bad,
            DBParameterGroupFamily="postgres17", Description="d",
        )  # fmt: skip
        assert code == "InvalidParameterValue", bad
    assert world.error(
        "DeleteDBClusterParameterGroup", DBClusterParameterGroupName="default.aurora-postgresql17"
    ) == (
        "InvalidDBParameterGroupStateFault",
        "Default DBClusterParameterGroup cannot be deleted: default.aurora-postgresql17",
    )
    assert world.error(
        "ModifyDBParameterGroup", DBParameterGroupName="default.postgres17",
        Parameters=[{"ParameterName": "work_mem", "ParameterValue": "8192"}],
    ) == ("InvalidParameterValue", "Cannot modify a default parameter group.")  # fmt: skip
    assert (
        world.error("DescribeEngineDefaultParameters", DBParameterGroupFamily="postgres16")[0]
        == "InvalidParameterValue"
    )


def test_parameter_values_are_validated_against_the_engine_catalog(world: World) -> None:
    world.group()

    def refused(name: str, value: str, method: str = "immediate") -> tuple[str, str]:
        return world.error(
            "ModifyDBClusterParameterGroup", DBClusterParameterGroupName="pg1",
            Parameters=[{"ParameterName": name, "ParameterValue": value, "ApplyMethod": method}],
        )  # fmt: skip

    assert refused("no_such_thing", "1") == (
        "InvalidParameterValue", "Could not find parameter with name: no_such_thing"
    )  # fmt: skip
    assert refused("shared_preload_libraries", "x") == (
        "InvalidParameterValue", "The parameter shared_preload_libraries cannot be modified."
    )  # fmt: skip
    code, message = refused("max_connections", "0", "pending-reboot")
    assert code == "InvalidParameterValue"
    assert "max_connections allowed values are: 1-262143" in message and "0" not in message
    assert refused("log_statement", "everything")[0] == "InvalidParameterValue"
    assert refused("max_connections", "200") == (
        "InvalidParameterCombination", "cannot use immediate apply method for static parameter"
    )  # fmt: skip
    assert refused("work_mem", "8192", "later")[0] == "InvalidParameterValue"
    too_many = [{"ParameterName": "work_mem", "ParameterValue": "100"}] * 21
    code, _ = world.error(
        "ModifyDBClusterParameterGroup", DBClusterParameterGroupName="pg1", Parameters=too_many
    )
    assert code == "InvalidParameterValue"
    # one bad parameter refuses the whole request
    code, _ = world.error(
        "ModifyDBClusterParameterGroup", DBClusterParameterGroupName="pg1",
        Parameters=[
            {"ParameterName": "work_mem", "ParameterValue": "8192", "ApplyMethod": "immediate"},
            {"ParameterName": "work_mem2", "ParameterValue": "1", "ApplyMethod": "immediate"},
        ],
    )  # fmt: skip
    assert code == "InvalidParameterValue"
    user = world.call(
        "DescribeDBClusterParameters", DBClusterParameterGroupName="pg1", Source="user"
    )["Parameters"]
    assert user == []


def test_described_parameters_show_user_values_sources_and_types(world: World) -> None:
    world.group()
    world.set(("WORK_MEM", "8192", "immediate"), ("max_connections", "50", "pending-reboot"))
    described = world.call("DescribeDBClusterParameters", DBClusterParameterGroupName="pg1")
    by_name = {p["ParameterName"]: p for p in described["Parameters"]}
    assert by_name["work_mem"] == {
        "ParameterName": "work_mem",
        "ParameterValue": "8192",
        "Description": "(kB) Query work memory.",
        "Source": "user",
        "ApplyType": "dynamic",
        "DataType": "integer",
        "AllowedValues": "64-2147483647",
        "IsModifiable": True,
        "ApplyMethod": "immediate",
        "SupportedEngineModes": ["provisioned"],
    }
    assert by_name["max_connections"]["ApplyType"] == "static"
    assert by_name["log_statement"]["Source"] == "engine-default"
    assert by_name["shared_preload_libraries"]["Source"] == "system"
    assert by_name["shared_preload_libraries"]["IsModifiable"] is False
    user = world.call(
        "DescribeDBClusterParameters", DBClusterParameterGroupName="pg1", Source="user"
    )["Parameters"]
    assert sorted(p["ParameterName"] for p in user) == ["max_connections", "work_mem"]
    named = world.call(
        "DescribeDBClusterParameters", DBClusterParameterGroupName="pg1",
        Filters=[{"Name": "parameter-name", "Values": ["rds.force_ssl"]}],
    )["Parameters"]  # fmt: skip
    assert [p["ParameterName"] for p in named] == ["rds.force_ssl"]
    defaults = world.call(
        "DescribeEngineDefaultClusterParameters", DBParameterGroupFamily="aurora-postgresql17"
    )["EngineDefaults"]
    assert defaults["DBParameterGroupFamily"] == "aurora-postgresql17"
    assert {p["Source"] for p in defaults["Parameters"]} == {"engine-default", "system"}
    world.call(
        "ResetDBClusterParameterGroup", DBClusterParameterGroupName="pg1",
        Parameters=[{"ParameterName": "work_mem"}],
    )  # fmt: skip
    user = world.call(
        "DescribeDBClusterParameters", DBClusterParameterGroupName="pg1", Source="user"
    )["Parameters"]
    assert [p["ParameterName"] for p in user] == ["max_connections"]
    world.call(
        "ResetDBClusterParameterGroup", DBClusterParameterGroupName="pg1", ResetAllParameters=True
    )
    user = world.call(
        "DescribeDBClusterParameters", DBClusterParameterGroupName="pg1", Source="user"
    )["Parameters"]
    assert user == []


# -- groups attached to clusters and instances ------------------------------------------------


def test_a_cluster_runs_with_its_group_and_live_changes_apply_on_reload(world: World) -> None:
    world.group()
    world.set(("rds.force_ssl", "1", "immediate"), ("work_mem", "8192", "immediate"))
    world.make(DBClusterParameterGroupName="PG1")
    assert (
        world.call("DescribeDBClusters", DBClusterIdentifier="c1")["DBClusters"][0][
            "DBClusterParameterGroup"
        ]
        == "pg1"
    )
    assert world.spec().parameters.force_ssl
    assert world.running()["work_mem"] == "8192"
    assert world.member_status() == "in-sync"
    world.set(("work_mem", "16384", "immediate"))
    assert world.member_status() == "applying"
    world.settle()
    assert world.running()["work_mem"] == "16384"
    assert world.member_status() == "in-sync"
    assert world.instance_groups() == [
        {"DBParameterGroupName": "default.aurora-postgresql17", "ParameterApplyStatus": "in-sync"}
    ]
    assert world.error("DeleteDBClusterParameterGroup", DBClusterParameterGroupName="pg1") == (
        "InvalidDBParameterGroupStateFault",
        "One or more DB clusters are still members of this parameter group pg1, so the group "
        "cannot be deleted",
    )


def test_static_and_pending_reboot_values_wait_for_a_reboot(world: World) -> None:
    world.group()
    world.make(DBClusterParameterGroupName="pg1")
    world.set(
        ("max_connections", "50", "pending-reboot"), ("log_statement", "all", "pending-reboot")
    )
    world.settle()
    assert world.member_status() == "pending-reboot"
    assert world.instance_groups()[0]["ParameterApplyStatus"] == "pending-reboot"
    assert "max_connections" not in world.running() and "log_statement" not in world.running()
    world.call("RebootDBInstance", DBInstanceIdentifier="c1-w")
    world.settle()
    assert world.running()["max_connections"] == "50"
    assert world.running()["log_statement"] == "all"
    assert world.member_status() == "in-sync"
    # a reset of a static value waits too; of a dynamic one applies at once
    world.call(
        "ResetDBClusterParameterGroup", DBClusterParameterGroupName="pg1", ResetAllParameters=True
    )
    world.settle()
    assert world.member_status() == "pending-reboot"
    assert world.spec().parameters.get("log_statement") is None
    assert world.spec().parameters.get("max_connections") == "50"


def test_instance_groups_attach_with_the_right_family_and_replacing_waits_for_reboot(
    world: World,
) -> None:
    world.group("cpg-postgres", family="postgres17")
    code, message = world.error(
        "CreateDBCluster", DBClusterIdentifier="c2", Engine="aurora-postgresql",
        MasterUsername="master", MasterUserPassword=PASSWORD,
        DBClusterParameterGroupName="cpg-postgres",
    )  # fmt: skip
    assert code == "InvalidParameterCombination" and "aurora-postgresql17" in message
    assert world.error(
        "CreateDBCluster",
        DBClusterIdentifier="c2",
        Engine="aurora-postgresql",
        MasterUsername="master",
        MasterUserPassword=PASSWORD,
        DBClusterParameterGroupName="nope",
    ) == ("DBClusterParameterGroupNotFoundFault", "DBClusterParameterGroup not found: nope")
    world.make()
    world.call(
        "CreateDBParameterGroup", DBParameterGroupName="ipg",
        DBParameterGroupFamily="aurora-postgresql17", Description="instance",
    )  # fmt: skip
    world.call(
        "ModifyDBParameterGroup", DBParameterGroupName="ipg",
        Parameters=[{"ParameterName": "work_mem", "ParameterValue": "2048"}],
    )  # fmt: skip
    world.call("ModifyDBInstance", DBInstanceIdentifier="c1-w", DBParameterGroupName="ipg")
    world.settle()
    assert world.instance_groups() == [
        {"DBParameterGroupName": "ipg", "ParameterApplyStatus": "pending-reboot"}
    ]
    assert "work_mem" not in world.running()
    assert world.error("DeleteDBParameterGroup", DBParameterGroupName="ipg")[0] == (
        "InvalidDBParameterGroupStateFault"
    )
    world.call("RebootDBInstance", DBInstanceIdentifier="c1-w")
    world.settle()
    assert world.running()["work_mem"] == "2048"
    assert world.instance_groups()[0]["ParameterApplyStatus"] == "in-sync"


def test_a_value_the_engine_refuses_is_left_out_and_reported(world: World) -> None:
    world.group()
    world.make(DBClusterParameterGroupName="pg1")
    with world.store.begin() as conn:  # as if the catalog had changed under a stored value
        found = parameter_store.group(conn, GroupKind.CLUSTER, ACCOUNT, REGION, "pg1")
        assert found is not None
        now = "immediate"
        bad = {"work_mem": UserValue("1", now), "log_statement": UserValue("ddl", now)}
        parameter_store.save_parameters(conn, found, bad)
    world.settle()
    assert world.running()["log_statement"] == "ddl"
    assert "work_mem" not in world.running()
    assert world.member_status() == "failed-to-apply"
    events = world.call("DescribeEvents", SourceType="db-instance", SourceIdentifier="c1-w")
    assert any("work_mem could not be applied" in e["Message"] for e in events["Events"])
    world.set(("work_mem", "4096", "immediate"))
    world.settle()
    assert world.member_status() == "in-sync"
    assert world.running()["work_mem"] == "4096"


# -- the plan, as a function -------------------------------------------------------------------


def test_the_plan_defers_static_pending_reboot_and_replaced_groups() -> None:
    static = frozenset({"max_connections"})
    desired = Desired(
        ("pg1", "default.aurora-postgresql17"),
        {
            "work_mem": UserValue("8192", "immediate"),
            "log_statement": UserValue("all", "pending-reboot"),
            "max_connections": UserValue("50", "pending-reboot"),
        },
    )
    booted = Applied("db-1", desired.groups, {"max_connections": "20", "log_statement": "ddl"}, "x")
    live = plan(desired, booted, static, boot=False)
    assert live.values == {"work_mem": "8192", "log_statement": "ddl", "max_connections": "20"}
    assert live.pending == {"log_statement", "max_connections"}
    at_boot = plan(desired, booted, static, boot=True)
    assert at_boot.values == {n: v.value for n, v in desired.values.items()}
    assert at_boot.pending == frozenset()
    replaced = Applied("db-1", ("other", "default.aurora-postgresql17"), {"work_mem": "64"}, "x")
    waiting = plan(desired, replaced, static, boot=False)
    assert waiting.values == {"work_mem": "64"}
    assert waiting.pending == {"work_mem", "log_statement", "max_connections"}
    assert Desired(desired.groups, {}).digest != desired.digest


# -- authorization reads ---------------------------------------------------------------------


def test_authorizing_a_request_reads_its_resource_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.make("c1", Tags=[{"Key": "team", "Value": "a"}])
    reads: list[None] = []
    real_read = world.store.read

    def counted() -> Any:
        reads.append(None)
        return real_read()

    monkeypatch.setattr(world.store, "read", counted)
    authz = world.rds.service.authz
    scope = Scope(ACCOUNT, REGION, f"arn:aws:iam::{ACCOUNT}:user/t")

    def facts(operation: str, params: dict[str, Any]) -> tuple[Any, Any]:
        entry = authz[operation]
        assert entry.resource_tags is not None and entry.conditions is not None
        return entry.resource_tags(scope, params), entry.conditions(scope, params)

    # The tags and the condition keys of one request come from one read of the cluster.
    tags, keys = facts("ModifyDBCluster", {"DBClusterIdentifier": "c1"})
    assert tags == {"team": "a"} and keys["rds:cluster-tag/team"] == "a"
    assert len(reads) == 1
    # Another request (another params object, however equal) reads again.
    facts("ModifyDBCluster", {"DBClusterIdentifier": "c1"})
    assert len(reads) == 2
    tags, keys = facts("ModifyDBInstance", {"DBInstanceIdentifier": "c1-w"})
    assert keys["rds:DatabaseEngine"] == "aurora-postgresql" and len(reads) == 3
    # A describe of all of them names no resource: nothing to read.
    assert facts("DescribeDBClusters", {}) == ({}, {})
    assert facts("DescribeDBInstances", {}) == ({}, {})
    assert len(reads) == 3
    # Absent ones are looked up (and found absent) once too.
    assert facts("ModifyDBCluster", {"DBClusterIdentifier": "nope"}) == ({}, {})
    assert len(reads) == 4
