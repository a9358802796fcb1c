"""services/iam."""
