"""The PostgreSQL engine: real servers run from the bundled (or a given) installation.

``PostgresEngine`` implements ``warden.engines.base.Engine`` and ``PostgresAccounts``
implements ``warden.engines.base.Accounts``; ``certs.issue`` makes an instance's TLS
material from warden's CA. Everything else in this package is internal to the engine.
"""

from .binaries import PgBinaries
from .engine import PostgresEngine
from .roles import PostgresAccounts

__all__ = ["PgBinaries", "PostgresAccounts", "PostgresEngine"]
