"""The RDS attributes a create or modify request sets on a volume (``DbSettings``), validated.

Requests that ask for what warden does not implement (Secrets-Manager-managed master
passwords of standalone instances, global databases, Multi-AZ DB clusters, …) are refused
with a clear error, never accepted and ignored. Options that only tune AWS's own
infrastructure (monitoring, Performance Insights, capacity) are accepted and have no effect.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warden.services.context import CallContext

from . import inputs
from .core import Deps
from .errors import (
    DBClusterParameterGroupNotFoundFault,
    DBParameterGroupNotFoundFault,
    DBSubnetGroupNotFoundFault,
    InvalidParameterCombination,
    InvalidParameterValue,
    not_supported,
)
from .model import AURORA_POSTGRESQL, DbSettings
from .parameter_groups import family_of, lookup
from .parameter_store import GroupKind

UNSUPPORTED_ON_CREATE = {
    "ManageMasterUserPassword": "A master password managed in Secrets Manager",
    "GlobalClusterIdentifier": "Aurora global databases",
    "ReplicationSourceIdentifier": "Cross-Region read replicas",
    "DBClusterInstanceClass": "Multi-AZ DB clusters",
    "EnableLimitlessDatabase": "Aurora Limitless Database",
    "EnableGlobalWriteForwarding": "Write forwarding",
    "MultiAZ": "Multi-AZ deployments",
    "Domain": "Kerberos authentication",
}
UNSUPPORTED_ON_MODIFY = {
    "ManageMasterUserPassword": "A master password managed in Secrets Manager",
    "RotateMasterUserPassword": "Rotating a managed master password",
    "DBClusterInstanceClass": "Multi-AZ DB clusters",
    "MultiAZ": "Multi-AZ deployments",
    "Domain": "Kerberos authentication",
    "AllowMajorVersionUpgrade": "Major version upgrades",
}


def refuse_unsupported(params: Mapping[str, Any], unsupported: Mapping[str, str]) -> None:
    for member, what in unsupported.items():
        if params.get(member):
            raise not_supported(what)


def security_groups(deps: Deps, ctx: CallContext, requested: Any) -> tuple[str, ...]:
    """The named groups (all must exist), or the region's default group."""
    wanted = tuple(dict.fromkeys(str(g) for g in requested or []))
    if not wanted:
        return (deps.specs.groups.default_group(ctx.account_id, ctx.region),)
    unknown = deps.specs.groups.unknown(ctx.account_id, ctx.region, wanted)
    if unknown:
        raise InvalidParameterValue(
            message=f"Invalid security group , groupId= {unknown[0]}, groupName=."
        )
    return wanted


def parameter_group(deps: Deps, ctx: CallContext, kind: GroupKind, name: Any, engine: str) -> str:
    """The DB cluster (``kind`` CLUSTER) or DB parameter group a request names: it must
    exist and be of the engine's family. None named: the family's default group."""
    family = family_of(engine, deps.engine_version)
    if name in (None, ""):
        return f"default.{family}"
    with deps.store.read() as conn:
        found = lookup(conn, deps, ctx, kind, name)
    if found is None and kind is GroupKind.CLUSTER:
        raise DBClusterParameterGroupNotFoundFault(
            message=f"DBClusterParameterGroup not found: {name}"
        )
    if found is None:
        raise DBParameterGroupNotFoundFault(message=f"DBParameterGroup not found: {name}")
    if found.family != family:
        raise InvalidParameterCombination(
            message=f"The parameter group {found.identifier} with DBParameterGroupFamily "
            f"{found.family} can't be used for this instance. Use a parameter group with "
            f"DBParameterGroupFamily {family}."
        )
    return found.identifier


def subnet_group(name: Any) -> None:
    if name not in (None, "", "default"):
        raise DBSubnetGroupNotFoundFault(message=f"DBSubnetGroup '{name}' not found.")


def create_settings(
    deps: Deps, ctx: CallContext, params: Mapping[str, Any], engine: str, *, cluster: bool
) -> DbSettings:
    """Every attribute of a new volume except encryption (see ``volumes.encryption``)."""
    subnet_group(params.get("DBSubnetGroupName"))
    name_member = "DatabaseName" if cluster else "DBName"
    kind = GroupKind.CLUSTER if cluster else GroupKind.DB
    group = parameter_group(deps, ctx, kind, params.get(f"{kind.label}Name"), engine)
    defaults = DbSettings()
    return DbSettings(
        database_name=inputs.database_name(params.get(name_member), name_member),
        security_groups=security_groups(deps, ctx, params.get("VpcSecurityGroupIds")),
        parameter_group=group,
        deletion_protection=bool(params.get("DeletionProtection", False)),
        backup_retention=_retention(params, cluster, defaults.backup_retention),
        backup_window=inputs.backup_window(params.get("PreferredBackupWindow"))
        or defaults.backup_window,
        maintenance_window=inputs.maintenance_window(params.get("PreferredMaintenanceWindow"))
        or defaults.maintenance_window,
        copy_tags=bool(params.get("CopyTagsToSnapshot", False)),
        iam_auth=bool(params.get("EnableIAMDatabaseAuthentication", False)),
        log_exports=inputs.log_exports(params.get("EnableCloudwatchLogsExports"), engine) or (),
        auto_minor=bool(params.get("AutoMinorVersionUpgrade", True)),
        allocated_storage=_storage(params, cluster),
    )


def _storage(params: Mapping[str, Any], cluster: bool) -> int:
    """Aurora reports 1 (its storage grows by itself); an instance what it asked, else 20."""
    storage = params.get("AllocatedStorage")
    if cluster:
        return 1
    return storage if isinstance(storage, int) and storage > 0 else 20


def _retention(params: Mapping[str, Any], cluster: bool, default: int) -> int:
    found = inputs.retention(params.get("BackupRetentionPeriod"), minimum=1 if cluster else 0)
    return default if found is None else found


def modified_settings(
    deps: Deps, ctx: CallContext, params: Mapping[str, Any], current: DbSettings, engine: str
) -> DbSettings:
    """``current`` with what a Modify request changes."""
    changes: dict[str, Any] = {}
    if "VpcSecurityGroupIds" in params:
        changes["security_groups"] = security_groups(deps, ctx, params["VpcSecurityGroupIds"])
    kind = GroupKind.CLUSTER if engine == AURORA_POSTGRESQL else GroupKind.DB
    if params.get(f"{kind.label}Name"):
        changes["parameter_group"] = parameter_group(
            deps, ctx, kind, params[f"{kind.label}Name"], engine
        )
    if "BackupRetentionPeriod" in params:
        changes["backup_retention"] = _retention(params, engine == AURORA_POSTGRESQL, 1)
    simple = {
        "PreferredBackupWindow": ("backup_window", inputs.backup_window),
        "PreferredMaintenanceWindow": ("maintenance_window", inputs.maintenance_window),
    }
    for name, (field, check) in simple.items():
        if params.get(name) is not None:
            changes[field] = check(params[name])
    flags = {
        "DeletionProtection": "deletion_protection",
        "CopyTagsToSnapshot": "copy_tags",
        "EnableIAMDatabaseAuthentication": "iam_auth",
        "AutoMinorVersionUpgrade": "auto_minor",
    }
    changes.update({field: bool(params[name]) for name, field in flags.items() if name in params})
    logs = params.get("CloudwatchLogsExportConfiguration")
    if logs:
        enable = inputs.log_exports(logs.get("EnableLogTypes") or [], engine) or ()
        disable = set(inputs.log_exports(logs.get("DisableLogTypes") or [], engine) or ())
        merged = [t for t in (*current.log_exports, *enable) if t not in disable]
        changes["log_exports"] = tuple(dict.fromkeys(merged))
    return current.but(**changes)
