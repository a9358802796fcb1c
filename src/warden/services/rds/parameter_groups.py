"""DB cluster and DB parameter groups: Create/Describe/Delete, and finding a group by name.

Both kinds behave alike and differ only in names (``GroupKind``). The families are those
of the running engine's major version (``aurora-postgresql17``, ``postgres17``); each has
an implicit default group (``default.<family>``) of either kind, which lists, describes and
attaches like any other but cannot be modified or deleted. A group in use by a DB cluster
or instance cannot be deleted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from warden.services.context import CallContext

from . import inputs
from . import parameter_store as store
from . import repository as repo
from .core import Deps
from .errors import (
    DBParameterGroupAlreadyExistsFault,
    DBParameterGroupNotFoundFault,
    DBParameterGroupQuotaExceededFault,
    InvalidDBParameterGroupStateFault,
    InvalidParameterValue,
)
from .model import AURORA_POSTGRESQL, POSTGRES, Server, rds_arn
from .parameter_apply import group_names, is_default
from .parameter_store import GroupKind, ParameterGroup
from .views import major

MAX_GROUPS = 100  # RDS's default quota per kind, account and region
MAX_DESCRIPTION = 1000
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,254}$")


def member(kind: GroupKind) -> str:
    """The request member naming a group of ``kind``."""
    return f"{kind.label}Name"


def families(engine_version: str) -> tuple[str, ...]:
    return tuple(f"{engine}{major(engine_version)}" for engine in (AURORA_POSTGRESQL, POSTGRES))


def family_of(engine: str, engine_version: str) -> str:
    return f"{engine}{major(engine_version)}"


def check_family(deps: Deps, value: Any) -> str:
    family = str(value or "")
    if family not in families(deps.engine_version):
        raise InvalidParameterValue(
            message=f"ParameterGroupFamily {family} is not a valid parameter group family"
        )
    return family


def group_name(value: Any, kind: GroupKind) -> str:
    text = str(value or "").lower()
    if not _NAME.match(text) or "--" in text or text.endswith("-"):
        raise InvalidParameterValue(
            message=f"The parameter {member(kind)} is not a valid identifier. Identifiers must "
            "begin with a letter; must contain only ASCII letters, digits, and hyphens; and "
            "must not end with a hyphen or contain two consecutive hyphens."
        )
    return text


def not_found(kind: GroupKind, name: str) -> DBParameterGroupNotFoundFault:
    return DBParameterGroupNotFoundFault(message=f"{kind.label} not found: {name}")


def default_group(kind: GroupKind, ctx: CallContext, family: str) -> ParameterGroup:
    what = "cluster parameter group" if kind is GroupKind.CLUSTER else "parameter group"
    name = f"default.{family}"
    return ParameterGroup(
        kind=kind,
        arn=rds_arn(ctx.region, ctx.account_id, kind.arn_type, name),
        account_id=ctx.account_id,
        region=ctx.region,
        identifier=name,
        family=family,
        description=f"Default {what} for {family}",
        default=True,
    )


def lookup(
    conn: Connection,
    deps: Deps,
    ctx: CallContext,
    kind: GroupKind,
    name: Any,
    *,
    for_update: bool = False,
) -> ParameterGroup | None:
    """The group named (a default group included), or None."""
    text = str(name or "").lower()
    if is_default(text):
        family = text.removeprefix("default.")
        return default_group(kind, ctx, family) if family in families(deps.engine_version) else None
    return store.group(conn, kind, ctx.account_id, ctx.region, text, for_update=for_update)


def find(
    conn: Connection,
    deps: Deps,
    ctx: CallContext,
    kind: GroupKind,
    name: Any,
    *,
    for_update: bool = False,
) -> ParameterGroup:
    found = lookup(conn, deps, ctx, kind, name, for_update=for_update)
    if found is None:
        raise not_found(kind, str(name))
    return found


def group_view(found: ParameterGroup) -> dict[str, Any]:
    label = found.kind.label
    return {
        f"{label}Name": found.identifier,
        "DBParameterGroupFamily": found.family,
        "Description": found.description,
        f"{label}Arn": found.arn,
    }


def _in_use(conn: Connection, ctx: CallContext, found: ParameterGroup) -> bool:
    clusters = {c.resource_id: c for c in repo.clusters(conn, ctx.account_id, ctx.region)}
    if found.kind is GroupKind.CLUSTER:
        return any(c.volume.settings.parameter_group == found.identifier for c in clusters.values())
    return any(
        group_names(Server(i, clusters.get(i.cluster_id) if i.cluster_id else None))[1]
        == found.identifier
        for i in repo.instances(conn, ctx.account_id, ctx.region)
    )


class ParameterGroupOps:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def create(
        self, kind: GroupKind, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        name = group_name(params.get(member(kind)), kind)
        family = check_family(self.deps, params.get("DBParameterGroupFamily"))
        description = params.get("Description")
        if description is None or len(str(description)) > MAX_DESCRIPTION:
            raise InvalidParameterValue(
                message="The parameter Description must be provided and must be at most "
                f"{MAX_DESCRIPTION} characters."
            )
        made = ParameterGroup(
            kind=kind,
            arn=rds_arn(ctx.region, ctx.account_id, kind.arn_type, name),
            account_id=ctx.account_id,
            region=ctx.region,
            identifier=name,
            family=family,
            description=str(description),
            tags=inputs.tags(params.get("Tags")),
            created_at=ctx.now,
        )
        with self.deps.store.begin() as conn:
            if store.group(conn, kind, ctx.account_id, ctx.region, name) is not None:
                raise DBParameterGroupAlreadyExistsFault(
                    message=f"Parameter group {name} already exists"
                )
            if store.count(conn, kind, ctx.account_id, ctx.region) >= MAX_GROUPS:
                raise DBParameterGroupQuotaExceededFault(
                    message=f"Quota of {MAX_GROUPS} {kind.label}s exceeded"
                )
            store.insert_group(conn, made)
        return {kind.label: group_view(made)}

    def describe(
        self, kind: GroupKind, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        inputs.max_records(params)
        inputs.filters(params, ())
        with self.deps.store.read() as conn:
            if params.get(member(kind)):
                chosen = [find(conn, self.deps, ctx, kind, params[member(kind)])]
            else:
                defaults = [default_group(kind, ctx, f) for f in families(self.deps.engine_version)]
                stored = store.groups(conn, kind, ctx.account_id, ctx.region)
                chosen = sorted([*defaults, *stored], key=lambda g: g.identifier)
        page, more = ctx.page(chosen)
        return {f"{kind.label}s": [group_view(g) for g in page], **more}

    def delete(
        self, kind: GroupKind, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        name = str(params.get(member(kind)) or "").lower()
        with self.deps.store.begin() as conn:
            found = find(conn, self.deps, ctx, kind, name, for_update=True)
            if found.default:
                raise InvalidDBParameterGroupStateFault(
                    message=f"Default {kind.label} cannot be deleted: {name}"
                )
            if _in_use(conn, ctx, found):
                users = "DB clusters" if kind is GroupKind.CLUSTER else "database instances"
                raise InvalidDBParameterGroupStateFault(
                    message=f"One or more {users} are still members of this parameter group "
                    f"{name}, so the group cannot be deleted"
                )
            store.delete_group(conn, found)
        return {}
