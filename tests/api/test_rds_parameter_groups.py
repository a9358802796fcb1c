"""RDS parameter groups through boto3, applied to real PostgreSQL servers.

One server for the module and one cluster whose DB cluster parameter group sets
``rds.force_ssl`` and a dynamic parameter: PostgreSQL refuses a client without TLS, a
dynamic change is live at once, a static one reports ``pending-reboot`` until
RebootDBInstance. A standalone ``postgres`` instance runs with its DB parameter group. Bad
requests get RDS's error codes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from botocore.exceptions import ClientError
from rds_support import PASSWORD, RdsServer, error_of, rds_server, until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RdsServer]:
    with rds_server(tmp_path_factory.mktemp("rds-pg")) as made:
        yield made


def _set(server: RdsServer, name: str, *items: tuple[str, str, str]) -> None:
    server.rds.modify_db_cluster_parameter_group(
        DBClusterParameterGroupName=name,
        Parameters=[
            {"ParameterName": n, "ParameterValue": v, "ApplyMethod": m} for n, v, m in items
        ],
    )


@pytest.fixture(scope="module")
def secure(server: RdsServer) -> dict[str, Any]:
    """A cluster (with its writer) whose group forces TLS and logs statements over 250 ms."""
    server.rds.create_db_cluster_parameter_group(
        DBClusterParameterGroupName="secure",
        DBParameterGroupFamily="aurora-postgresql17",
        Description="TLS only",
    )
    _set(server, "secure", ("rds.force_ssl", "1", "immediate"),
         ("log_min_duration_statement", "250", "immediate"))  # fmt: skip
    return server.make_cluster("secure", DBClusterParameterGroupName="secure")


def _plain(server: RdsServer, cluster: dict[str, Any]) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host=cluster["Endpoint"], port=cluster["Port"], user="master", password=PASSWORD,
        dbname="app", sslmode="disable", gssencmode="disable", connect_timeout=5,
    )  # fmt: skip


def _show(server: RdsServer, cluster: dict[str, Any], name: str) -> str:
    with server.connect(cluster) as conn:
        row = conn.execute(f"SHOW {name}").fetchone()
    assert row is not None
    return str(row[0])


def _member_status(server: RdsServer, ident: str) -> str:
    return str(server.cluster(ident)["DBClusterMembers"][0]["DBClusterParameterGroupStatus"])


def _instance_status(server: RdsServer, ident: str) -> str:
    return str(server.instance(ident)["DBParameterGroups"][0]["ParameterApplyStatus"])


def test_force_ssl_refuses_plain_connections_and_dynamic_values_apply_live(
    server: RdsServer, secure: dict[str, Any]
) -> None:
    assert secure["DBClusterParameterGroup"] == "secure"
    assert _member_status(server, "secure") == "in-sync"
    with pytest.raises(psycopg.OperationalError) as refused:
        _plain(server, secure)
    assert "no pg_hba.conf entry" in str(refused.value)
    with server.connect(secure) as conn:  # verify-full
        assert conn.info.pgconn.ssl_in_use
    assert _show(server, secure, "log_min_duration_statement") == "250ms"
    _set(server, "secure", ("log_min_duration_statement", "1000", "immediate"))
    until(lambda: _show(server, secure, "log_min_duration_statement") == "1s", timeout=30)
    until(lambda: _member_status(server, "secure") == "in-sync", timeout=30)
    # rds.force_ssl is dynamic: switched off, plain connections are admitted; on, refused
    _set(server, "secure", ("rds.force_ssl", "0", "immediate"))
    until(lambda: _member_status(server, "secure") == "in-sync", timeout=30)
    with _plain(server, secure) as conn:
        assert not conn.info.pgconn.ssl_in_use
    _set(server, "secure", ("rds.force_ssl", "1", "immediate"))
    until(lambda: _member_status(server, "secure") == "in-sync", timeout=30)
    with pytest.raises(psycopg.OperationalError):
        _plain(server, secure)


def test_a_static_parameter_waits_for_a_reboot(server: RdsServer, secure: dict[str, Any]) -> None:
    before = _show(server, secure, "max_connections")
    _set(server, "secure", ("max_connections", "42", "pending-reboot"))
    until(lambda: _member_status(server, "secure") == "pending-reboot", timeout=30)
    assert _instance_status(server, "secure-w") == "pending-reboot"
    assert _show(server, secure, "max_connections") == before
    parameters = server.rds.describe_db_cluster_parameters(
        DBClusterParameterGroupName="secure", Source="user"
    )["Parameters"]
    assert {p["ParameterName"]: p["ParameterValue"] for p in parameters}["max_connections"] == "42"
    server.rds.reboot_db_instance(DBInstanceIdentifier="secure-w")
    server.wait_instance("secure-w")
    until(lambda: _member_status(server, "secure") == "in-sync", timeout=30)
    assert _instance_status(server, "secure-w") == "in-sync"
    assert _show(server, secure, "max_connections") == "42"
    with pytest.raises(psycopg.OperationalError):  # still TLS only after the restart
        _plain(server, secure)


def test_a_server_that_cannot_start_with_new_values_keeps_its_old_ones(
    server: RdsServer, secure: dict[str, Any]
) -> None:
    before = _show(server, secure, "shared_buffers")
    _set(server, "secure", ("shared_buffers", "1073741823", "pending-reboot"))  # 8 TB
    until(lambda: _member_status(server, "secure") == "pending-reboot", timeout=30)
    server.rds.reboot_db_instance(DBInstanceIdentifier="secure-w")
    server.wait_instance("secure-w")
    until(lambda: _member_status(server, "secure") == "failed-to-apply", timeout=30)
    assert _show(server, secure, "shared_buffers") == before
    assert any(
        "shared_buffers could not be applied" in m for m in server.events("secure-w", "db-instance")
    )
    server.rds.reset_db_cluster_parameter_group(
        DBClusterParameterGroupName="secure",
        Parameters=[{"ParameterName": "shared_buffers", "ApplyMethod": "pending-reboot"}],
    )
    until(lambda: _member_status(server, "secure") == "in-sync", timeout=30)


def test_a_standalone_instance_runs_with_its_db_parameter_group(server: RdsServer) -> None:
    rds = server.rds
    rds.create_db_parameter_group(
        DBParameterGroupName="reporting", DBParameterGroupFamily="postgres17", Description="big"
    )
    rds.modify_db_parameter_group(
        DBParameterGroupName="reporting",
        Parameters=[{"ParameterName": "work_mem", "ParameterValue": "65536",
                     "ApplyMethod": "immediate"}],
    )  # fmt: skip
    rds.create_db_instance(
        DBInstanceIdentifier="report", Engine="postgres", DBInstanceClass="db.t3.micro",
        MasterUsername="master", MasterUserPassword=PASSWORD, DBName="app",
        DBParameterGroupName="reporting", PubliclyAccessible=False,
    )  # fmt: skip
    inst = server.wait_instance("report")
    assert inst["DBParameterGroups"] == [
        {"DBParameterGroupName": "reporting", "ParameterApplyStatus": "in-sync"}
    ]
    target = {"Endpoint": inst["Endpoint"]["Address"], "Port": inst["Endpoint"]["Port"]}
    assert _show(server, target, "work_mem") == "64MB"
    with pytest.raises(ClientError) as in_use:
        rds.delete_db_parameter_group(DBParameterGroupName="reporting")
    assert error_of(in_use) == (
        "InvalidDBParameterGroupState",
        "One or more database instances are still members of this parameter group reporting, "
        "so the group cannot be deleted",
    )
    rds.delete_db_instance(DBInstanceIdentifier="report", SkipFinalSnapshot=True)
    rds.get_waiter("db_instance_deleted").wait(
        DBInstanceIdentifier="report", WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    rds.delete_db_parameter_group(DBParameterGroupName="reporting")


def _refused(call: Any, **params: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return error_of(caught)


def test_bad_parameter_group_requests(server: RdsServer, secure: dict[str, Any]) -> None:
    rds = server.rds

    def modify(name: str, value: str, method: str = "immediate") -> tuple[str, str]:
        return _refused(
            rds.modify_db_cluster_parameter_group, DBClusterParameterGroupName="secure",
            Parameters=[{"ParameterName": name, "ParameterValue": value, "ApplyMethod": method}],
        )  # fmt: skip

    code, message = modify("max_connections", "many", "pending-reboot")
    assert code == "InvalidParameterValue" and "max_connections" in message
    assert modify("log_statement", "loud")[0] == "InvalidParameterValue"
    assert modify("no_such_parameter", "1") == (
        "InvalidParameterValue", "Could not find parameter with name: no_such_parameter"
    )  # fmt: skip
    for owned in ("ssl", "listen_addresses", "archive_command", "shared_preload_libraries"):
        assert modify(owned, "x") == (
            "InvalidParameterValue", f"The parameter {owned} cannot be modified."
        ), owned  # fmt: skip
    assert modify("shared_buffers", "65536") == (
        "InvalidParameterCombination", "cannot use immediate apply method for static parameter"
    )  # fmt: skip
    assert _refused(
        rds.create_db_cluster_parameter_group, DBClusterParameterGroupName="other",
        DBParameterGroupFamily="aurora-mysql8.0", Description="d",
    ) == (
        "InvalidParameterValue",
        "ParameterGroupFamily aurora-mysql8.0 is not a valid parameter group family",
    )  # fmt: skip
    assert _refused(
        rds.create_db_cluster_parameter_group, DBClusterParameterGroupName="Secure",
        DBParameterGroupFamily="aurora-postgresql17", Description="d",
    ) == ("DBParameterGroupAlreadyExists", "Parameter group secure already exists")  # fmt: skip
    assert _refused(
        rds.delete_db_cluster_parameter_group,
        DBClusterParameterGroupName="default.aurora-postgresql17",
    ) == (
        "InvalidDBParameterGroupState",
        "Default DBClusterParameterGroup cannot be deleted: default.aurora-postgresql17",
    )
    assert (
        _refused(rds.delete_db_cluster_parameter_group, DBClusterParameterGroupName="secure")[0]
        == "InvalidDBParameterGroupState"
    )
    assert _refused(
        rds.modify_db_parameter_group, DBParameterGroupName="default.postgres17",
        Parameters=[{"ParameterName": "work_mem", "ParameterValue": "8192",
                     "ApplyMethod": "immediate"}],
    ) == ("InvalidParameterValue", "Cannot modify a default parameter group.")  # fmt: skip
    assert _refused(rds.describe_db_cluster_parameters, DBClusterParameterGroupName="missing") == (
        "DBParameterGroupNotFound",
        "DBClusterParameterGroup not found: missing",
    )
    assert (
        _refused(rds.reset_db_cluster_parameter_group, DBClusterParameterGroupName="secure")[0]
        == "InvalidParameterCombination"
    )


def test_describe_pages_through_the_engine_catalog(server: RdsServer) -> None:
    paginator = server.rds.get_paginator("describe_engine_default_cluster_parameters")
    pages = list(
        paginator.paginate(
            DBParameterGroupFamily="aurora-postgresql17", PaginationConfig={"PageSize": 100}
        )
    )
    names = [p["ParameterName"] for page in pages for p in page["EngineDefaults"]["Parameters"]]
    assert len(pages) > 2 and len(names) == len(set(names)) > 300
    by_name = {
        p["ParameterName"]: p for page in pages for p in page["EngineDefaults"]["Parameters"]
    }
    assert by_name["shared_buffers"]["ApplyType"] == "static"
    assert by_name["rds.force_ssl"]["AllowedValues"] == "0,1"
    assert by_name["ssl"]["IsModifiable"] is False
    listed = server.rds.describe_db_parameter_groups()["DBParameterGroups"]
    assert {"default.aurora-postgresql17", "default.postgres17"} <= {
        g["DBParameterGroupName"] for g in listed
    }
