"""RDS DB cluster and DB parameter groups and their parameters."""

from __future__ import annotations
