"""Customer managed policies and their versions; AWS managed ones are readable only.

Invariants: a policy has 1 to ``MAX_VERSIONS`` versions, exactly one of them the
default; version ids are ``v<n>`` with ``n`` taken from the policy's counter, so an id
is never reused (compiled-policy caches key on the version id). A policy is deleted only
when nothing is attached to it, nothing uses it as a permissions boundary and it has no
version but the default. Every change is one transaction with the policy row locked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import RowMapping

from warden.core.arn import iam_arn
from warden.core.ids import IdFactory
from warden.policy import PolicyKind
from warden.services.context import CallContext
from warden.store.db import Store
from warden.store.schema import iam_attachments, iam_managed_policies, iam_policy_versions

from . import catalog, inputs
from .catalog import MAX_VERSIONS, Policy
from .entities import count, listing, url_document, writing
from .errors import DeleteConflict, EntityAlreadyExists, LimitExceeded, NoSuchEntity

MAX_POLICIES = 1500
_V = iam_policy_versions.c


def _exists(name: str) -> EntityAlreadyExists:
    return EntityAlreadyExists(
        message=f"A policy called {name} already exists. Duplicate names are not allowed."
    )


def _no_version(arn: str, version: str) -> NoSuchEntity:
    return NoSuchEntity(
        message=f"Policy {arn} version {version} does not exist or is not attachable."
    )


def _version_out(row: Mapping[Any, Any], default: str, *, document: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "VersionId": row["version_id"],
        "IsDefaultVersion": row["version_id"] == default,
        "CreateDate": row["created_at"],
    }
    if document:
        out["Document"] = url_document(row["document"])
    return out


def _versions(conn: sa.Connection, arn: str) -> list[RowMapping]:
    rows = conn.execute(sa.select(iam_policy_versions).where(_V.policy_arn == arn)).mappings()
    # Newest first, by number: "v10" sorts after "v9".
    return sorted(rows, key=lambda r: int(str(r["version_id"])[1:].split(".")[0]), reverse=True)


class Policies:
    def __init__(self, store: Store, ids: IdFactory) -> None:
        self._store = store
        self._ids = ids

    def create_policy(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        name = inputs.name(params, "PolicyName", 128)
        path = inputs.path(params, policy=True) or "/"
        description = inputs.description(params)
        tags = inputs.tags(params)
        document = inputs.document(params, PolicyKind.MANAGED)
        account = ctx.account_id
        arn = iam_arn(account, "policy", name, path)
        policy_id = self._ids.unique_id("ANPA")
        table = iam_managed_policies
        with writing(self._store, _exists(name)) as conn:
            taken = count(
                conn,
                table,
                table.c.account_id == account,
                sa.func.lower(table.c.name) == name.lower(),
            )
            if taken:
                raise _exists(name)
            if count(conn, table, table.c.account_id == account) >= MAX_POLICIES:
                raise LimitExceeded(
                    message=f"Cannot exceed quota for PoliciesPerAccount: {MAX_POLICIES}"
                )
            conn.execute(
                table.insert().values(
                    policy_id=policy_id,
                    account_id=account,
                    name=name,
                    path=path,
                    arn=arn,
                    default_version_id="v1",
                    description=description,
                    created_at=ctx.now,
                    updated_at=ctx.now,
                    next_version=2,
                    tags=tags,
                )
            )
            conn.execute(
                iam_policy_versions.insert().values(
                    policy_arn=arn, version_id="v1", document=document, created_at=ctx.now
                )
            )
            out = catalog.policy_out(conn, account, catalog.resolve(conn, account, arn))
        return {"Policy": out}

    def get_policy(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        text = inputs.policy_arn(params).arn
        with self._store.read() as conn:
            policy = catalog.resolve(conn, ctx.account_id, text)
            return {"Policy": catalog.policy_out(conn, ctx.account_id, policy)}

    def delete_policy(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        text = inputs.policy_arn(params).arn
        with self._store.begin() as conn:
            policy = catalog.resolve(conn, ctx.account_id, text, lock=True)
            row = policy.writable()
            attached = count(conn, iam_attachments, iam_attachments.c.policy_arn == text)
            if attached or row["permissions_boundary_usage_count"]:
                raise DeleteConflict(message="Cannot delete a policy attached to entities.")
            if count(conn, iam_policy_versions, _V.policy_arn == text) > 1:
                raise DeleteConflict(
                    message="This policy has more than one version. Before you delete a policy, "
                    "you must delete the policy's versions. The default version is deleted with "
                    "the policy."
                )
            conn.execute(iam_policy_versions.delete().where(_V.policy_arn == text))
            conn.execute(iam_managed_policies.delete().where(iam_managed_policies.c.arn == text))
        return {}

    def create_policy_version(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        text = inputs.policy_arn(params).arn
        document = inputs.document(params, PolicyKind.MANAGED)
        make_default = bool(params.get("SetAsDefault", False))
        with self._store.begin() as conn:
            policy = catalog.resolve(conn, ctx.account_id, text, lock=True)
            row = policy.writable()
            if count(conn, iam_policy_versions, _V.policy_arn == text) >= MAX_VERSIONS:
                raise LimitExceeded(
                    message=f"A managed policy can have up to {MAX_VERSIONS} versions. Before "
                    "you create a new version, you must delete an existing version."
                )
            version = f"v{row['next_version']}"
            conn.execute(
                iam_policy_versions.insert().values(
                    policy_arn=text, version_id=version, document=document, created_at=ctx.now
                )
            )
            changes: dict[str, Any] = {
                "next_version": row["next_version"] + 1,
                "updated_at": ctx.now,
            }
            if make_default:
                changes["default_version_id"] = version
            conn.execute(
                iam_managed_policies.update()
                .where(iam_managed_policies.c.arn == text)
                .values(**changes)
            )
        default = version if make_default else row["default_version_id"]
        out = {"version_id": version, "created_at": ctx.now, "document": document}
        return {"PolicyVersion": _version_out(out, default, document=False)}

    def get_policy_version(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        text = inputs.policy_arn(params).arn
        version = inputs.version_id(params)
        with self._store.read() as conn:
            policy = catalog.resolve(conn, ctx.account_id, text)
            found = self._version(conn, policy, version)
        return {"PolicyVersion": _version_out(found, policy.default_version, document=True)}

    def list_policy_versions(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        text = inputs.policy_arn(params).arn
        with self._store.read() as conn:
            policy = catalog.resolve(conn, ctx.account_id, text)
            rows: Sequence[Mapping[Any, Any]]
            if policy.shipped is not None:
                rows = [self._version(conn, policy, policy.default_version)]
            else:
                rows = _versions(conn, text)
        default = policy.default_version
        return listing(ctx, "Versions", [_version_out(r, default, document=False) for r in rows])

    def delete_policy_version(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        text = inputs.policy_arn(params).arn
        version = inputs.version_id(params)
        with self._store.begin() as conn:
            policy = catalog.resolve(conn, ctx.account_id, text, lock=True)
            row = policy.writable()
            self._version(conn, policy, version)
            if version == row["default_version_id"]:
                raise DeleteConflict(message="Cannot delete the default version of a policy.")
            conn.execute(
                iam_policy_versions.delete().where(_V.policy_arn == text, _V.version_id == version)
            )
        return {}

    def set_default_policy_version(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        text = inputs.policy_arn(params).arn
        version = inputs.version_id(params)
        with self._store.begin() as conn:
            policy = catalog.resolve(conn, ctx.account_id, text, lock=True)
            policy.writable()
            self._version(conn, policy, version)
            conn.execute(
                iam_managed_policies.update()
                .where(iam_managed_policies.c.arn == text)
                .values(default_version_id=version, updated_at=ctx.now)
            )
        return {}

    @staticmethod
    def _version(conn: sa.Connection, policy: Policy, version: str) -> Mapping[Any, Any]:
        arn = policy.arn.arn
        if policy.shipped is not None:
            if version != policy.shipped.default_version_id:
                raise _no_version(arn, version)
            return {
                "version_id": version,
                "created_at": policy.shipped.update_date,
                "document": policy.shipped.document,
            }
        row = (
            conn.execute(
                sa.select(iam_policy_versions).where(_V.policy_arn == arn, _V.version_id == version)
            )
            .mappings()
            .first()
        )
        if row is None:
            raise _no_version(arn, version)
        return row
