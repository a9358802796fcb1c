"""Where warden_admin connects: the instance's socket only where its path can hold one, and
the replication connection string quoted whatever the paths hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from warden.engines.base import Endpoint, TlsMode
from warden.engines.postgres.backup import replication_conninfo
from warden.engines.postgres.config import InstancePaths


def _libpq_parse(conninfo: str) -> dict[str, str]:
    """libpq's own reading of a conninfo string (psycopg exposes it)."""
    from psycopg.conninfo import conninfo_to_dict

    return {k: str(v) for k, v in conninfo_to_dict(conninfo).items()}


@pytest.mark.parametrize(
    ("root", "has_socket"),
    [
        ("/var/lib/warden/rds/volumes/cluster-ABCDEFGHIJKLMNOPQRSTUVWXYZ", True),
        ("/srv/" + "x" * 90, False),  # .s.PGSQL.<port> would not fit sockaddr_un
        ("/srv/with space/v", False),  # unix_socket_directories is a list: no odd characters
        ("/srv/with,comma/v", False),
        ("/srv/quote'd/v", False),
        ("relative/root", False),  # libpq would take it for a host name
    ],
)
def test_a_socket_only_where_the_path_can_hold_one(root: str, has_socket: bool) -> None:
    found = InstancePaths(Path(root)).admin_socket(54321)
    assert (found is not None) is has_socket
    if found is not None:
        assert found == Path(root) / "run" / ".s.PGSQL.54321"
        assert len(str(found)) <= 107


def test_replication_conninfo_is_quoted_for_libpq() -> None:
    ca = Path("/data dir/it's\\here/ca.pem")
    over_tls = _libpq_parse(replication_conninfo(Endpoint("127.0.0.1", 5432, ca_file=ca)))
    assert over_tls["sslrootcert"] == str(ca)
    assert over_tls["sslmode"] == "verify-full"
    assert over_tls["user"] == "warden_admin" and "password" not in over_tls
    socket = _libpq_parse(replication_conninfo(Endpoint("/srv/run", 5433, tls=TlsMode.DISABLE)))
    assert (socket["host"], socket["port"], socket["sslmode"]) == ("/srv/run", "5433", "disable")
    assert "sslrootcert" not in socket
