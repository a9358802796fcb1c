"""RDS DB cluster snapshots and their attributes.

Frozen once released: later schema changes are new revisions. Every name is spelt out.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
