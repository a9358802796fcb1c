"""AddTagsToResource, RemoveTagsFromResource, ListTagsForResource.

``ResourceName`` is an ARN of this account and region. ``TAGGABLE`` maps each ARN resource
type to the table that keeps its tags: DB clusters, instances, (custom) parameter groups
and DB cluster snapshots.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warden.core.arn import Arn
from warden.services.context import CallContext
from warden.store.schema import rds_clusters, rds_instances
from warden.store.schema.rds_snapshots import rds_cluster_snapshots

from . import inputs
from .core import Deps
from .errors import (
    InvalidParameterValue,
    cluster_not_found,
    instance_not_found,
    snapshot_not_found,
)
from .inputs import MAX_TAGS
from .parameter_groups import not_found
from .parameter_store import GroupKind

TAGGABLE: dict[str, tuple[sa.Table, Any]] = {
    "cluster": (rds_clusters, cluster_not_found),
    "db": (rds_instances, instance_not_found),
    "cluster-pg": (GroupKind.CLUSTER.table, partial(not_found, GroupKind.CLUSTER)),
    "pg": (GroupKind.DB.table, partial(not_found, GroupKind.DB)),
    "cluster-snapshot": (rds_cluster_snapshots, snapshot_not_found),
}


def parse_resource(ctx: CallContext, name: Any) -> tuple[str, str]:
    """(resource type, identifier) of an ARN naming a resource of the caller's scope."""
    try:
        arn = Arn.parse(str(name))
    except ValueError:
        raise InvalidParameterValue(message=f"Invalid resource name: {name}") from None
    kind, _, ident = arn.resource.partition(":")
    if (
        arn.service != "rds"
        or not ident
        or arn.account != ctx.account_id
        or arn.region != ctx.region
    ):
        raise InvalidParameterValue(message=f"Invalid resource name: {name}")
    if kind not in TAGGABLE:
        raise InvalidParameterValue(
            message=f"Tagging {kind} resources is not supported by warden yet."
        )
    return kind, ident.lower()


class TagOps:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def _row(
        self, conn: Connection, ctx: CallContext, kind: str, ident: str
    ) -> list[tuple[str, str]]:
        table, missing = TAGGABLE[kind]
        tags = conn.execute(
            sa.select(table.c.tags).where(
                table.c.account_id == ctx.account_id,
                table.c.region == ctx.region,
                table.c.identifier == ident,
            )
        ).scalar_one_or_none()
        if tags is None:
            raise missing(ident)
        return [(t["Key"], t["Value"]) for t in tags]

    def _save(
        self, conn: Connection, ctx: CallContext, kind: str, ident: str, tags: dict[str, str]
    ) -> None:
        table, _ = TAGGABLE[kind]
        conn.execute(
            sa.update(table)
            .where(
                table.c.account_id == ctx.account_id,
                table.c.region == ctx.region,
                table.c.identifier == ident,
            )
            .values(tags=[{"Key": k, "Value": v} for k, v in tags.items()])
        )

    def add_tags_to_resource(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        kind, ident = parse_resource(ctx, params["ResourceName"])
        new = inputs.tags(params.get("Tags"))
        with self.deps.store.begin() as conn:
            tags = dict(self._row(conn, ctx, kind, ident))
            tags.update(new)
            if len(tags) > MAX_TAGS:
                raise InvalidParameterValue(message=f"A resource can have at most {MAX_TAGS} tags.")
            self._save(conn, ctx, kind, ident, tags)
        return {}

    def remove_tags_from_resource(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        kind, ident = parse_resource(ctx, params["ResourceName"])
        gone = {str(k) for k in params.get("TagKeys") or []}
        with self.deps.store.begin() as conn:
            tags = {k: v for k, v in self._row(conn, ctx, kind, ident) if k not in gone}
            self._save(conn, ctx, kind, ident, tags)
        return {}

    def list_tags_for_resource(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        kind, ident = parse_resource(ctx, params["ResourceName"])
        if params.get("Filters"):
            raise InvalidParameterValue(message="Filters are not supported by ListTagsForResource")
        with self.deps.store.read() as conn:
            tags = self._row(conn, ctx, kind, ident)
        return {"TagList": [{"Key": k, "Value": v} for k, v in tags]}
