"""RDS: Aurora PostgreSQL clusters and PostgreSQL instances on real PostgreSQL servers."""
