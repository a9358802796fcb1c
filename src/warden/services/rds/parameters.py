"""The parameters of a group: Modify/Reset, Describe…Parameters, DescribeEngineDefault….

Names, types, allowed values, apply types and defaults come from the running engine's
catalog (its ``pg_settings``), plus the engine's own ``rds.force_ssl``. A value is accepted
only if the engine says it would accept it; what the engine reserves to itself (TLS files,
ports, logging warden relies on, anything that runs programs) is listed but not modifiable.
Names match case-insensitively, as PostgreSQL's do, and are kept as the catalog spells them.

Invariants: a request changes all its parameters or none; a default group never changes;
a static parameter never takes ``ApplyMethod=immediate``; values never appear in messages
(the model marks them potentially sensitive).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy.engine import Connection

from warden.engines.base import ApplyType, Engine, ParameterInfo
from warden.engines.errors import InvalidParameters
from warden.services.context import CallContext, Handler

from . import inputs
from . import parameter_store as store
from .core import Deps
from .errors import InvalidParameterCombination, InvalidParameterValue
from .parameter_groups import ParameterGroupOps, check_family, find, member
from .parameter_store import IMMEDIATE, PENDING_REBOOT, GroupKind, ParameterGroup, UserValue

MAX_CHANGES = 20
SOURCES = ("user", "system", "engine-default")
_METHODS = (IMMEDIATE, PENDING_REBOOT)


@dataclass(frozen=True, slots=True)
class Catalog:
    """The engine's parameters by lower-case name."""

    by_name: Mapping[str, ParameterInfo]

    @classmethod
    def of(cls, infos: Sequence[ParameterInfo]) -> Catalog:
        return cls({p.name.lower(): p for p in infos})

    def info(self, name: Any) -> ParameterInfo:
        found = self.by_name.get(str(name or "").lower())
        if found is None:
            raise InvalidParameterValue(message=f"Could not find parameter with name: {name}")
        return found

    def modifiable(self, name: Any) -> ParameterInfo:
        info = self.info(name)
        if not info.modifiable:
            raise InvalidParameterValue(message=f"The parameter {info.name} cannot be modified.")
        return info


def parameter_view(info: ParameterInfo, user: UserValue | None, kind: GroupKind) -> dict[str, Any]:
    source = "user" if user else "engine-default" if info.modifiable else "system"
    out: dict[str, Any] = {
        "ParameterName": info.name,
        "Description": f"({info.unit}) {info.description}" if info.unit else info.description,
        "Source": source,
        "ApplyType": info.apply_type.value,
        "DataType": info.data_type.value,
        "IsModifiable": info.modifiable,
        "ApplyMethod": user.method if user else PENDING_REBOOT,
    }
    value = user.value if user else info.default
    if value != "":
        out["ParameterValue"] = value
    if info.allowed_values:
        out["AllowedValues"] = info.allowed_values
    if kind is GroupKind.CLUSTER:
        out["SupportedEngineModes"] = ["provisioned"]
    return out


def _method(info: ParameterInfo, value: Any) -> str:
    static = info.apply_type is ApplyType.STATIC
    method = str(value) if value else (PENDING_REBOOT if static else IMMEDIATE)
    if method not in _METHODS:
        raise InvalidParameterValue(
            message=f"Invalid ApplyMethod {method}: valid values are {', '.join(_METHODS)}."
        )
    if method == IMMEDIATE and static:
        raise InvalidParameterCombination(
            message="cannot use immediate apply method for static parameter"
        )
    return method


def _items(params: Mapping[str, Any], *, required: bool) -> list[Mapping[str, Any]]:
    items = list(params.get("Parameters") or [])
    if required and not items:
        raise InvalidParameterValue(message="At least one parameter must be provided.")
    if len(items) > MAX_CHANGES:
        raise InvalidParameterValue(
            message=f"A maximum of {MAX_CHANGES} parameters can be modified in a single request."
        )
    return items


class ParameterOps:
    def __init__(self, deps: Deps, engine: Engine) -> None:
        self.deps = deps
        self.engine = engine

    def catalog(self) -> Catalog:
        return Catalog.of(self.engine.parameter_catalog())

    def _changes(self, params: Mapping[str, Any]) -> dict[str, UserValue]:
        catalog = self.catalog()
        changes: dict[str, UserValue] = {}
        for item in _items(params, required=True):
            info = catalog.modifiable(item.get("ParameterName"))
            value = item.get("ParameterValue")
            if value is None:
                raise InvalidParameterValue(
                    message=f"The parameter value for {info.name} must be provided."
                )
            changes[info.name] = UserValue(str(value), _method(info, item.get("ApplyMethod")))
        try:
            self.engine.check_parameters({n: v.value for n, v in changes.items()})
        except InvalidParameters as exc:
            problem = exc.problems[0]
            info = catalog.info(problem.name)
            allowed = f" allowed values are: {info.allowed_values}" if info.allowed_values else ""
            raise InvalidParameterValue(
                message=f"Invalid parameter value for: {info.name}{allowed} ({problem.reason})"
            ) from None
        return changes

    def _resets(self, params: Mapping[str, Any]) -> list[str] | None:
        """The names to reset; None for all of them."""
        items = _items(params, required=False)
        if params.get("ResetAllParameters") and items:
            raise InvalidParameterCombination(
                message="ResetAllParameters cannot be combined with a list of Parameters."
            )
        if not params.get("ResetAllParameters") and not items:
            raise InvalidParameterCombination(
                message="Either ResetAllParameters or a list of Parameters must be provided."
            )
        if not items:
            return None
        catalog = self.catalog()
        names = []
        for item in items:
            info = catalog.modifiable(item.get("ParameterName"))
            if item.get("ApplyMethod"):
                _method(info, item["ApplyMethod"])
            names.append(info.name)
        return names

    def _writable(
        self, conn: Connection, kind: GroupKind, ctx: CallContext, name: Any, *, lock: bool
    ) -> ParameterGroup:
        found = find(conn, self.deps, ctx, kind, name, for_update=lock)
        if found.default:
            raise InvalidParameterValue(message="Cannot modify a default parameter group.")
        return found

    def modify(
        self, kind: GroupKind, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        name = params.get(member(kind))
        with self.deps.store.read() as conn:
            self._writable(conn, kind, ctx, name, lock=False)  # its errors before the values'
        changes = self._changes(params)
        with self.deps.store.begin() as conn:
            found = self._writable(conn, kind, ctx, name, lock=True)
            store.save_parameters(conn, found, {**found.parameters, **changes})
        return {member(kind): found.identifier}

    def reset(self, kind: GroupKind, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        name = params.get(member(kind))
        with self.deps.store.read() as conn:
            self._writable(conn, kind, ctx, name, lock=False)
        names = self._resets(params)
        with self.deps.store.begin() as conn:
            found = self._writable(conn, kind, ctx, name, lock=True)
            kept = {} if names is None else {
                n: v for n, v in found.parameters.items() if n not in names
            }  # fmt: skip
            store.save_parameters(conn, found, kept)
        return {member(kind): found.identifier}

    def _listed(
        self, params: Mapping[str, Any], user: Mapping[str, UserValue], kind: GroupKind
    ) -> list[dict[str, Any]]:
        inputs.max_records(params)
        names = inputs.filters(params, ("parameter-name",)).get("parameter-name")
        wanted = None if names is None else {n.lower() for n in names}
        source = params.get("Source")
        if source is not None and source not in SOURCES:
            raise InvalidParameterValue(
                message=f"Invalid value {source} for Source: valid values are {', '.join(SOURCES)}."
            )
        views = [
            parameter_view(info, user.get(info.name), kind)
            for info in self.engine.parameter_catalog()
            if wanted is None or info.name.lower() in wanted
        ]
        return [v for v in views if source is None or v["Source"] == source]

    def describe_parameters(
        self, kind: GroupKind, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        with self.deps.store.read() as conn:
            found = find(conn, self.deps, ctx, kind, params.get(member(kind)))
        page, more = ctx.page(self._listed(params, found.parameters, kind))
        return {"Parameters": page, **more}

    def engine_defaults(
        self, kind: GroupKind, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        family = check_family(self.deps, params.get("DBParameterGroupFamily"))
        page, more = ctx.page(self._listed(params, {}, kind))
        defaults = {"DBParameterGroupFamily": family, "Parameters": page}
        defaults.update(more.get("EngineDefaults", {}))
        return {"EngineDefaults": defaults}


def parameter_group_handlers(deps: Deps, engine: Engine) -> dict[str, Handler]:
    """The fourteen parameter-group operations, by name."""
    groups, parameters = ParameterGroupOps(deps), ParameterOps(deps, engine)
    out: dict[str, Handler] = {}
    for kind, infix in ((GroupKind.CLUSTER, "DBCluster"), (GroupKind.DB, "DB")):
        out[f"Create{infix}ParameterGroup"] = partial(groups.create, kind)
        out[f"Describe{infix}ParameterGroups"] = partial(groups.describe, kind)
        out[f"Delete{infix}ParameterGroup"] = partial(groups.delete, kind)
        out[f"Modify{infix}ParameterGroup"] = partial(parameters.modify, kind)
        out[f"Reset{infix}ParameterGroup"] = partial(parameters.reset, kind)
        out[f"Describe{infix}Parameters"] = partial(parameters.describe_parameters, kind)
    defaults = parameters.engine_defaults
    out["DescribeEngineDefaultClusterParameters"] = partial(defaults, GroupKind.CLUSTER)
    out["DescribeEngineDefaultParameters"] = partial(defaults, GroupKind.DB)
    return out
