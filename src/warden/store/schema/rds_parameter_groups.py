"""RDS DB cluster and DB parameter groups, and what each DB instance's server runs with.

A group's parameters are one JSON object (name → ``{"value", "method"}``): a group holds at
most a few hundred, is always read whole, and is changed in one read-modify-write
transaction. Cluster and DB groups live in two tables with the same columns, so each is
found (and tagged) by its identifier alone, as RDS's ARNs name them. The default groups
(``default.<family>``) are implicit: never stored, never changed.

``rds_parameter_apply`` is the reconciler's record of one instance's server: the groups and
values it was last started with, the digest of the desired values it last applied, and
which names wait for a reboot or were refused by the engine. The API derives the instance's
``ParameterApplyStatus`` from it; it goes when the instance goes.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from .core import account_fk, json_list, metadata, ts


def _group_columns() -> list[Any]:
    return [
        sa.Column("arn", sa.String(), primary_key=True),
        account_fk(),
        sa.Column("region", sa.String(), nullable=False),
        sa.Column("identifier", sa.String(), nullable=False),
        sa.Column("family", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        json_list("tags"),
        ts("created_at"),
        sa.UniqueConstraint("account_id", "region", "identifier"),
    ]


rds_cluster_parameter_groups = sa.Table("rds_cluster_parameter_groups", metadata, *_group_columns())

rds_db_parameter_groups = sa.Table("rds_db_parameter_groups", metadata, *_group_columns())

rds_parameter_apply = sa.Table(
    "rds_parameter_apply",
    metadata,
    sa.Column(
        "instance_id",
        sa.String(),
        sa.ForeignKey("rds_instances.resource_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    json_list("boot_groups"),
    sa.Column("boot_values", sa.JSON(), nullable=False),
    sa.Column("configured", sa.String(), nullable=False),
    json_list("pending"),
    json_list("failed"),
    ts("updated_at"),
)
