"""Inline policies of users, groups and roles: put, get, delete, list.

Invariants: every stored document is valid for its kind of entity, and the entity's
inline policies together stay within AWS's aggregate size quota (user 2,048, group
5,120, role 10,240 non-whitespace characters), checked with the entity's row locked
so that two concurrent puts cannot both pass. Putting an existing name replaces it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from warden.policy import PolicyError, inline_quota_error, policy_size
from warden.services.context import CallContext, Handler
from warden.store.db import Store
from warden.store.schema import iam_inline_policies

from . import inputs
from .entities import SPECS, Kind, find, listing, url_document
from .errors import NoSuchEntity, from_policy_error

_I = iam_inline_policies.c


def _missing(kind: Kind, name: str) -> NoSuchEntity:
    return NoSuchEntity(message=f"The {kind.value} policy with name {name} cannot be found.")


class InlinePolicies:
    def __init__(self, store: Store) -> None:
        self._store = store

    def put(self, kind: Kind) -> Handler:
        spec = SPECS[kind]

        def handler(ctx: CallContext, params: Mapping[str, Any]) -> Mapping[str, Any]:
            entity_name = inputs.name(params, spec.member, 128)
            policy_name = inputs.name(params, "PolicyName", 128)
            document = inputs.document(params, spec.inline_kind, entity=entity_name)
            with self._store.begin() as conn:
                entity = find(conn, kind, ctx.account_id, entity_name, lock=True)
                owner = (_I.principal_type == kind.value, _I.principal_id == entity[spec.id_column])
                others = conn.execute(
                    sa.select(_I.document).where(*owner, _I.policy_name != policy_name)
                ).scalars()
                total = policy_size(document) + sum(policy_size(d) for d in others)
                over: PolicyError | None = inline_quota_error(
                    spec.inline_kind, entity["name"], total
                )
                if over is not None:
                    raise from_policy_error(over)
                replaced = conn.execute(
                    iam_inline_policies.update()
                    .where(*owner, _I.policy_name == policy_name)
                    .values(document=document)
                ).rowcount
                if not replaced:
                    conn.execute(
                        iam_inline_policies.insert().values(
                            account_id=ctx.account_id,
                            principal_type=kind.value,
                            principal_id=entity[spec.id_column],
                            policy_name=policy_name,
                            document=document,
                        )
                    )
            return {}

        return handler

    def get(self, kind: Kind) -> Handler:
        spec = SPECS[kind]

        def handler(ctx: CallContext, params: Mapping[str, Any]) -> Mapping[str, Any]:
            entity_name = inputs.name(params, spec.member, 128)
            policy_name = inputs.name(params, "PolicyName", 128)
            with self._store.read() as conn:
                entity = find(conn, kind, ctx.account_id, entity_name)
                document = conn.execute(
                    sa.select(_I.document).where(
                        _I.principal_type == kind.value,
                        _I.principal_id == entity[spec.id_column],
                        _I.policy_name == policy_name,
                    )
                ).scalar()
            if document is None:
                raise _missing(kind, policy_name)
            return {
                spec.member: entity["name"],
                "PolicyName": policy_name,
                "PolicyDocument": url_document(document),
            }

        return handler

    def delete(self, kind: Kind) -> Handler:
        spec = SPECS[kind]

        def handler(ctx: CallContext, params: Mapping[str, Any]) -> Mapping[str, Any]:
            entity_name = inputs.name(params, spec.member, 128)
            policy_name = inputs.name(params, "PolicyName", 128)
            with self._store.begin() as conn:
                entity = find(conn, kind, ctx.account_id, entity_name, lock=True)
                gone = conn.execute(
                    iam_inline_policies.delete().where(
                        _I.principal_type == kind.value,
                        _I.principal_id == entity[spec.id_column],
                        _I.policy_name == policy_name,
                    )
                ).rowcount
            if not gone:
                raise _missing(kind, policy_name)
            return {}

        return handler

    def list(self, kind: Kind) -> Handler:
        spec = SPECS[kind]

        def handler(ctx: CallContext, params: Mapping[str, Any]) -> Mapping[str, Any]:
            entity_name = inputs.name(params, spec.member, 128)
            with self._store.read() as conn:
                entity = find(conn, kind, ctx.account_id, entity_name)
                names = list(
                    conn.execute(
                        sa.select(_I.policy_name)
                        .where(
                            _I.principal_type == kind.value,
                            _I.principal_id == entity[spec.id_column],
                        )
                        .order_by(_I.policy_name)
                    ).scalars()
                )
            return listing(ctx, "PolicyNames", names)

        return handler
