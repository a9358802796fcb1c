"""Attaching managed policies to users, groups and roles, and listing what is attached.

Invariants: an entity has at most ``MAX_ATTACHED`` managed policies (checked with the
entity's row locked); attaching an attached policy again changes nothing, as in AWS;
only policies that exist (shipped AWS ones, or the account's own) can be attached; a
customer policy's ``attachment_count`` moves in the same transaction as the attachment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from warden.services.context import CallContext, Handler
from warden.store.db import Store
from warden.store.schema import iam_attachments

from . import catalog, inputs
from .entities import MAX_ATTACHED, SPECS, Kind, count, find, listing
from .errors import LimitExceeded, NoSuchEntity

_A = iam_attachments.c


def _owned(kind: Kind, entity_id: str) -> tuple[sa.ColumnElement[bool], ...]:
    return (_A.principal_type == kind.value, _A.principal_id == entity_id)


class Attachments:
    def __init__(self, store: Store) -> None:
        self._store = store

    def attach(self, kind: Kind) -> Handler:
        spec = SPECS[kind]

        def handler(ctx: CallContext, params: Mapping[str, Any]) -> Mapping[str, Any]:
            name = inputs.name(params, spec.member, spec.max_name)
            text = inputs.policy_arn(params).arn
            with self._store.begin() as conn:
                entity = find(conn, kind, ctx.account_id, name, lock=True)
                catalog.resolve(conn, ctx.account_id, text, lock=True)
                entity_id = entity[spec.id_column]
                owned = _owned(kind, entity_id)
                if count(conn, iam_attachments, *owned, _A.policy_arn == text):
                    return {}
                if count(conn, iam_attachments, *owned) >= MAX_ATTACHED:
                    raise LimitExceeded(
                        message=f"Cannot exceed quota for {spec.quota}: {MAX_ATTACHED}"
                    )
                conn.execute(
                    iam_attachments.insert().values(
                        account_id=ctx.account_id,
                        principal_type=kind.value,
                        principal_id=entity_id,
                        policy_arn=text,
                    )
                )
                catalog.adjust(conn, text, attachments=1)
            return {}

        return handler

    def detach(self, kind: Kind) -> Handler:
        spec = SPECS[kind]

        def handler(ctx: CallContext, params: Mapping[str, Any]) -> Mapping[str, Any]:
            name = inputs.name(params, spec.member, spec.max_name)
            text = inputs.policy_arn(params).arn
            with self._store.begin() as conn:
                entity = find(conn, kind, ctx.account_id, name, lock=True)
                gone = conn.execute(
                    iam_attachments.delete().where(
                        *_owned(kind, entity[spec.id_column]), _A.policy_arn == text
                    )
                ).rowcount
                if not gone:
                    raise NoSuchEntity(message=f"Policy {text} was not found.")
                catalog.adjust(conn, text, attachments=-1)
            return {}

        return handler

    def list_attached(self, kind: Kind) -> Handler:
        spec = SPECS[kind]

        def handler(ctx: CallContext, params: Mapping[str, Any]) -> Mapping[str, Any]:
            name = inputs.name(params, spec.member, 128)
            prefix = inputs.path_prefix(params, policy=True)
            with self._store.read() as conn:
                entity = find(conn, kind, ctx.account_id, name)
                arns = conn.execute(
                    sa.select(_A.policy_arn)
                    .where(*_owned(kind, entity[spec.id_column]))
                    .order_by(_A.policy_arn)
                ).scalars()
                policies = [
                    {"PolicyName": parsed.name, "PolicyArn": parsed.arn}
                    for parsed in map(inputs.parse_policy_arn, arns)
                    if parsed.path.startswith(prefix)
                ]
            return listing(ctx, "AttachedPolicies", policies)

        return handler
