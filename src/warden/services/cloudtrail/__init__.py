"""services/cloudtrail."""
