"""RDS DB cluster snapshots and their attributes."""

from __future__ import annotations
