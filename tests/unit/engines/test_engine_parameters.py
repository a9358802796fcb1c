"""Parameters from the engine's own pg_settings: catalog, validation, dynamic values applied
on reload, static ones pending a reboot, and a value the server rejects rolled back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from engine_helpers import Running, connect, with_parameters

from warden.engines.base import ApplyType, DataType, InstanceSpec
from warden.engines.errors import InvalidParameters
from warden.engines.postgres import PostgresEngine

pytestmark = pytest.mark.slow


@pytest.fixture
def restore_config(engine: PostgresEngine, running: Running) -> Iterator[None]:
    yield
    engine.restart(running.spec)


def _show(spec: InstanceSpec, running: Running, name: str) -> str:
    with connect(spec, running.master.username, running.master.password.reveal()) as conn:
        row = conn.execute(f"SHOW {name}").fetchone()
        assert row is not None
        return str(row[0])


def test_catalog_comes_from_the_engine(engine: PostgresEngine) -> None:
    catalog = {p.name: p for p in engine.parameter_catalog()}
    work_mem = catalog["work_mem"]
    assert (work_mem.data_type, work_mem.apply_type, work_mem.unit) == (
        DataType.INTEGER,
        ApplyType.DYNAMIC,
        "kB",
    )
    assert work_mem.modifiable and work_mem.allowed_values == "64-2147483647"
    assert catalog["max_connections"].apply_type is ApplyType.STATIC
    assert catalog["log_statement"].choices == ("none", "ddl", "mod", "all")
    assert catalog["rds.force_ssl"].allowed_values == "0,1"
    for locked in ("ssl_cert_file", "archive_command", "shared_preload_libraries", "port"):
        assert not catalog[locked].modifiable, locked
    assert not catalog["server_version"].modifiable  # internal


def test_validation_reasons(engine: PostgresEngine) -> None:
    engine.check_parameters({"work_mem": "64MB", "log_statement": "ALL", "rds.force_ssl": "1"})
    with pytest.raises(InvalidParameters) as caught:
        engine.check_parameters(
            {
                "work_mem": "1",
                "max_connections": "1.5",
                "log_statement": "everything",
                "enable_seqscan": "maybe",
                "no_such_parameter": "1",
                "ssl": "off",
                "statement_timeout": "5 parsecs",
                "application_name": "two\nlines",
                "log_min_messages": "panic",  # would hide FATAL login failures
            }
        )
    reasons = {p.name: p.reason for p in caught.value.problems}
    assert reasons == {
        "work_mem": "must be between 64 and 2147483647",
        "max_connections": "must be an integer",
        "log_statement": "must be one of none,ddl,mod,all",
        "enable_seqscan": "must be 0 or 1",
        "no_such_parameter": "is not a parameter of this engine",
        "ssl": "is not modifiable",
        "statement_timeout": "unit 'parsecs' does not fit this parameter (unit ms)",
        "application_name": "must be a single line",
        "log_min_messages": "must be one of debug5,debug4,debug3,debug2,debug1,info,notice,"
        "warning,error,log",
    }
    engine.check_parameters({"log_min_messages": "log"})
    for hidden in ({"log_min_messages": "fatal"}, {"log_error_verbosity": "terse"},
                   {"lc_messages": "de_DE.UTF-8"}):  # fmt: skip
        with pytest.raises(InvalidParameters):
            engine.check_parameters(hidden)


def test_dynamic_and_static_parameters(
    engine: PostgresEngine, running: Running, restore_config: None
) -> None:
    spec = running.spec
    dynamic = with_parameters(spec, work_mem="8MB")
    assert engine.configure(dynamic).pending_reboot == frozenset()
    assert _show(spec, running, "work_mem") == "8MB"

    static = with_parameters(dynamic, max_connections="150")
    assert engine.configure(static).pending_reboot == {"max_connections"}
    assert _show(spec, running, "max_connections") == "100"
    engine.restart(static)
    assert _show(spec, running, "max_connections") == "150"
    assert engine.configure(static).pending_reboot == frozenset()


def test_value_the_server_rejects_is_rolled_back(
    engine: PostgresEngine, running: Running, restore_config: None
) -> None:
    spec = running.spec
    before = _show(spec, running, "TimeZone")
    with pytest.raises(InvalidParameters, match="TimeZone"):
        engine.configure(with_parameters(spec, TimeZone="Mars/Olympus_Mons"))
    assert _show(spec, running, "TimeZone") == before
    assert engine.configure(with_parameters(spec, TimeZone="Europe/Paris")).pending_reboot == (
        frozenset()
    )
    assert _show(spec, running, "TimeZone") == "Europe/Paris"
