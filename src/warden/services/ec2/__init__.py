"""EC2, as far as warden needs it: the security groups that guard DB instances."""
