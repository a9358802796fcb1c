"""services/sts."""
