"""Tags on users, roles and customer managed policies, and permissions boundaries on
users and roles.

Invariants: tag keys are unique per resource ignoring case (a new value for a key
replaces the old one, taking the new key's case), at most 50 per resource, never
``aws:``-prefixed. A permissions boundary is a managed policy that exists; the
policy's boundary-usage count moves in the same transaction as the boundary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warden.services.context import CallContext, Handler
from warden.store.db import Store
from warden.store.schema import iam_managed_policies

from . import catalog, inputs
from .entities import SPECS, Kind, find, listing


class Tagging:
    def __init__(self, store: Store) -> None:
        self._store = store

    def _retag(
        self,
        ctx: CallContext,
        kind: Kind,
        name: str,
        change: Mapping[str, Any],
    ) -> None:
        spec = SPECS[kind]
        with self._store.begin() as conn:
            row = find(conn, kind, ctx.account_id, name, lock=True)
            tags = _apply(row["tags"], change)
            conn.execute(
                spec.table.update().where(spec.id == row[spec.id_column]).values(tags=tags)
            )

    def tag(self, kind: Kind) -> Handler:
        spec = SPECS[kind]

        def handler(ctx: CallContext, params: Mapping[str, Any]) -> Mapping[str, Any]:
            name = inputs.name(params, spec.member, 128)
            self._retag(ctx, kind, name, {"add": inputs.tags(params)})
            return {}

        return handler

    def untag(self, kind: Kind) -> Handler:
        spec = SPECS[kind]

        def handler(ctx: CallContext, params: Mapping[str, Any]) -> Mapping[str, Any]:
            name = inputs.name(params, spec.member, 128)
            self._retag(ctx, kind, name, {"remove": inputs.tag_keys(params)})
            return {}

        return handler

    def list_tags(self, kind: Kind) -> Handler:
        spec = SPECS[kind]

        def handler(ctx: CallContext, params: Mapping[str, Any]) -> Mapping[str, Any]:
            name = inputs.name(params, spec.member, 128)
            with self._store.read() as conn:
                row = find(conn, kind, ctx.account_id, name)
            return listing(ctx, "Tags", list(row["tags"] or []))

        return handler

    def _retag_policy(
        self, ctx: CallContext, params: Mapping[str, Any], change: Mapping[str, Any]
    ) -> None:
        text = inputs.policy_arn(params).arn
        with self._store.begin() as conn:
            row = catalog.resolve(conn, ctx.account_id, text, lock=True).writable()
            conn.execute(
                iam_managed_policies.update()
                .where(iam_managed_policies.c.arn == text)
                .values(tags=_apply(row["tags"], change))
            )

    def tag_policy(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        self._retag_policy(ctx, params, {"add": inputs.tags(params)})
        return {}

    def untag_policy(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        self._retag_policy(ctx, params, {"remove": inputs.tag_keys(params)})
        return {}

    def list_policy_tags(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        text = inputs.policy_arn(params).arn
        with self._store.read() as conn:
            policy = catalog.resolve(conn, ctx.account_id, text)
        tags = list(policy.row["tags"] or []) if policy.row is not None else []
        return listing(ctx, "Tags", tags)

    def put_boundary(self, kind: Kind) -> Handler:
        spec = SPECS[kind]

        def handler(ctx: CallContext, params: Mapping[str, Any]) -> Mapping[str, Any]:
            name = inputs.name(params, spec.member, spec.max_name)
            text = inputs.policy_arn(params, "PermissionsBoundary").arn
            with self._store.begin() as conn:
                row = find(conn, kind, ctx.account_id, name, lock=True)
                catalog.resolve(conn, ctx.account_id, text, lock=True)
                old = row["permissions_boundary_arn"]
                if old != text:
                    conn.execute(
                        spec.table.update()
                        .where(spec.id == row[spec.id_column])
                        .values(permissions_boundary_arn=text)
                    )
                    catalog.adjust(conn, old, boundaries=-1)
                    catalog.adjust(conn, text, boundaries=1)
            return {}

        return handler

    def delete_boundary(self, kind: Kind) -> Handler:
        spec = SPECS[kind]

        def handler(ctx: CallContext, params: Mapping[str, Any]) -> Mapping[str, Any]:
            name = inputs.name(params, spec.member, spec.max_name)
            with self._store.begin() as conn:
                row = find(conn, kind, ctx.account_id, name, lock=True)
                old = row["permissions_boundary_arn"]
                if old is not None:
                    conn.execute(
                        spec.table.update()
                        .where(spec.id == row[spec.id_column])
                        .values(permissions_boundary_arn=None)
                    )
                    catalog.adjust(conn, old, boundaries=-1)
            return {}

        return handler


def _apply(existing: Any, change: Mapping[str, Any]) -> list[dict[str, str]]:
    current = list(existing or [])
    if "add" in change:
        return inputs.merge_tags(current, change["add"])
    return inputs.remove_tags(current, change["remove"])
