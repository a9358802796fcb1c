"""Opening psycopg connections to an ``Endpoint``, and telling failures apart.

TLS is verified by default (``sslmode=verify-full`` against the endpoint's CA file, or the
system store when none is given); ``PREFER_VERIFIED`` tries that first and falls back to
plain TCP only when TLS itself failed, as AWS's rotation templates do. GSS encryption is
off so libpq never probes a Kerberos cache first.

A connection failure becomes ``LoginFailed`` when the server answered with a FATAL error
(wrong password, no pg_hba entry, unknown role or database) and ``Unreachable`` otherwise
(refused, timed out, TLS verification failed). Messages come from libpq and never contain
the password.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from ..base import Endpoint, Login, LoginCheck, TlsMode
from ..errors import LoginFailed, Unreachable

Connection = psycopg.Connection[tuple[Any, ...]]

# Session settings every warden connection pins, whatever the server, database or role
# defaults say (parameter groups and ALTER DATABASE/ROLE … SET let the master user choose
# them): the system catalog first on the search path, so a user's function or operator
# can never shadow the ones warden's SQL names (it runs as warden's superuser), and no
# read-only default or timeout can break a password change half-way.
SESSION_OPTIONS = (
    "-c search_path=pg_catalog,pg_temp -c default_transaction_read_only=off"
    " -c statement_timeout=0 -c lock_timeout=0 -c idle_in_transaction_session_timeout=0"
)


def _params(endpoint: Endpoint, login: Login, sslmode: str) -> dict[str, Any]:
    params: dict[str, Any] = {
        "host": endpoint.host,
        "port": endpoint.port,
        "dbname": endpoint.dbname,
        "user": login.user,
        "password": login.password.reveal(),
        "connect_timeout": endpoint.connect_timeout,
        "sslmode": sslmode,
        "gssencmode": "disable",
        "application_name": "warden",
        "options": SESSION_OPTIONS,
    }
    if sslmode == "verify-full":
        params["sslrootcert"] = str(endpoint.ca_file) if endpoint.ca_file else "system"
    return params


def _classify(exc: psycopg.OperationalError) -> LoginFailed | Unreachable:
    text = str(exc).strip()
    if "FATAL:" in text:
        return LoginFailed(text)
    return Unreachable(text)


def open_connection(endpoint: Endpoint, login: Login, *, autocommit: bool = True) -> Connection:
    """A new connection; raises ``LoginFailed`` or ``Unreachable``."""
    modes = {
        TlsMode.VERIFY_FULL: ("verify-full",),
        TlsMode.PREFER_VERIFIED: ("verify-full", "disable"),
        TlsMode.DISABLE: ("disable",),
    }[endpoint.tls]
    failure: LoginFailed | Unreachable | None = None
    for sslmode in modes:
        try:
            return psycopg.connect(**_params(endpoint, login, sslmode), autocommit=autocommit)
        except psycopg.OperationalError as exc:
            failure = _classify(exc)
            if isinstance(failure, LoginFailed):
                break  # the server judged the credentials: a plain retry cannot help
    if failure is None:  # pragma: no cover - modes is never empty
        raise Unreachable("no connection attempted")
    raise failure


@contextmanager
def connected(endpoint: Endpoint, login: Login) -> Iterator[Connection]:
    conn = open_connection(endpoint, login)
    try:
        yield conn
    finally:
        conn.close()


def check_login(endpoint: Endpoint, login: Login) -> LoginCheck:
    """Whether ``login`` can connect and run a query; never raises for a refusal."""
    try:
        with connected(endpoint, login) as conn:
            conn.execute("SELECT 1").fetchone()
    except (LoginFailed, Unreachable) as exc:
        return LoginCheck(ok=False, reason=str(exc))
    except psycopg.Error as exc:
        return LoginCheck(ok=False, reason=str(exc).strip())
    return LoginCheck(ok=True)
