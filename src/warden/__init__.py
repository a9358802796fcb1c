"""warden: the Amazon Aurora security system for PostgreSQL, self-hosted."""

__version__ = "0.1.0"
