"""secretsmanager."""
