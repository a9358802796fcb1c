"""Authz entries for every RDS operation warden serves (Service Authorization Reference).

Operations on a cluster are authorized on its ARN, on an instance on the instance's (plus
the cluster's for CreateDBInstance into one; plus the cluster parameter group's for
CreateDBCluster). The resource's tags feed ``aws:ResourceTag/*`` and the RDS aliases
``rds:cluster-tag/*`` / ``rds:db-tag/*``; a request's tags ``rds:req-tag/*``; an instance
carries the ``db`` resource type's keys (``rds:DatabaseEngine``, ``rds:StorageEncrypted``…)
and a create request the keys of what it asks for. A resource that does not exist is
authorized on the ARN it would have, so IAM decides before the handler answers NotFound.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from warden.policy import ContextValue
from warden.services.context import AuthzEntry, RequestMemo, Scope, request_tags
from warden.store.db import Store

from . import repository as repo
from .model import AURORA_POSTGRESQL, Cluster, Instance, rds_arn
from .parameter_authz import naming_group, parameter_group_entries
from .snapshot_authz import naming_final_snapshot, snapshot_entries, tagging_snapshots
from .views import default_parameter_group

_P = "rds:"
Keys = Callable[[Scope, Mapping[str, Any]], Mapping[str, ContextValue]]


def _ident(value: Any) -> str:
    text = str(value or "*")
    return text.rsplit(":", 1)[-1].lower() if text.startswith("arn:") else text.lower()


def _req_tags(params: Mapping[str, Any]) -> dict[str, ContextValue]:
    return {f"{_P}req-tag/{k}": v for k, v in request_tags(params).items()}


def _instance_keys(instance: Instance, cluster: Cluster | None) -> dict[str, ContextValue]:
    volume = cluster.volume if cluster is not None else instance.volume
    settings = volume.settings if volume is not None else None
    keys: dict[str, ContextValue] = {
        _P + "DatabaseClass": instance.instance_class,
        _P + "DatabaseEngine": instance.engine,
        _P + "MultiAz": False,
        _P + "Piops": 0,
        _P + "Vpc": True,
        _P + "StorageSize": settings.allocated_storage if settings else 1,
        _P + "StorageEncrypted": bool(settings and settings.storage_encrypted),
    }
    if settings and settings.database_name:
        keys[_P + "DatabaseName"] = settings.database_name
    keys.update({f"{_P}db-tag/{k}": v for k, v in instance.tags})
    return keys


def _create_cluster_keys(scope: Scope, params: Mapping[str, Any]) -> Mapping[str, ContextValue]:
    keys: dict[str, ContextValue] = {
        _P + "DatabaseEngine": str(params.get("Engine", "")),
        _P + "StorageEncrypted": bool(params.get("StorageEncrypted") or params.get("KmsKeyId")),
        _P + "ManageMasterUserPassword": bool(params.get("ManageMasterUserPassword", False)),
        _P + "Piops": int(params.get("Iops") or 0),
    }
    if params.get("DatabaseName"):
        keys[_P + "DatabaseName"] = str(params["DatabaseName"])
    if params.get("DBClusterInstanceClass"):
        keys[_P + "DatabaseClass"] = str(params["DBClusterInstanceClass"])
    keys.update(_req_tags(params))
    return keys


def _create_instance_keys(scope: Scope, params: Mapping[str, Any]) -> Mapping[str, ContextValue]:
    keys: dict[str, ContextValue] = {
        _P + "DatabaseClass": str(params.get("DBInstanceClass", "")),
        _P + "DatabaseEngine": str(params.get("Engine", "")),
        _P + "StorageEncrypted": bool(params.get("StorageEncrypted") or params.get("KmsKeyId")),
        _P + "PubliclyAccessible": bool(params.get("PubliclyAccessible", True)),
        _P + "ManageMasterUserPassword": bool(params.get("ManageMasterUserPassword", False)),
        _P + "MultiAz": bool(params.get("MultiAZ", False)),
        _P + "Piops": int(params.get("Iops") or 0),
        _P + "StorageSize": int(params.get("AllocatedStorage") or 0),
        _P + "Vpc": True,
        _P + "BackupTarget": str(params.get("BackupTarget") or "region"),
    }
    if params.get("DBName"):
        keys[_P + "DatabaseName"] = str(params["DBName"])
    keys.update(_req_tags(params))
    return keys


class RdsLookup:
    """The cluster or instance a request names, read for the authorizer."""

    def __init__(self, store: Store) -> None:
        self._store = store
        # The authorizer asks for a request's resource tags and condition keys in turn: one
        # read serves both.
        self._clusters: RequestMemo[Cluster | None] = RequestMemo()
        self._instances: RequestMemo[tuple[Instance, Cluster | None] | None] = RequestMemo()
        self._named_ones: RequestMemo[Cluster | Instance | None] = RequestMemo()

    def cluster(self, scope: Scope, value: Any) -> Cluster | None:
        ident = _ident(value)
        if ident == "*":  # none named (DescribeDBClusters of all): no identifier is "*"
            return None
        with self._store.read() as conn:
            return repo.cluster(conn, scope.account_id, scope.region, ident)

    def instance(self, scope: Scope, value: Any) -> tuple[Instance, Cluster | None] | None:
        ident = _ident(value)
        if ident == "*":
            return None
        with self._store.read() as conn:
            found = repo.instance(conn, scope.account_id, scope.region, ident)
            if found is None:
                return None
            cluster = repo.cluster_by_id(conn, found.cluster_id) if found.cluster_id else None
        return found, cluster

    # -- clusters ------------------------------------------------------------------------

    def cluster_resources(self, scope: Scope, params: Mapping[str, Any]) -> Sequence[str]:
        return (
            rds_arn(
                scope.region, scope.account_id, "cluster", _ident(params.get("DBClusterIdentifier"))
            ),
        )

    def _cluster_of(self, scope: Scope, params: Mapping[str, Any]) -> Cluster | None:
        name = params.get("DBClusterIdentifier")
        return self._clusters.get(params, "cluster", lambda: self.cluster(scope, name))

    def _instance_of(
        self, scope: Scope, params: Mapping[str, Any]
    ) -> tuple[Instance, Cluster | None] | None:
        name = params.get("DBInstanceIdentifier")
        return self._instances.get(params, "instance", lambda: self.instance(scope, name))

    def cluster_tags(self, scope: Scope, params: Mapping[str, Any]) -> Mapping[str, str]:
        found = self._cluster_of(scope, params)
        return found.tag_map() if found is not None else {}

    def cluster_keys(self, scope: Scope, params: Mapping[str, Any]) -> Mapping[str, ContextValue]:
        found = self._cluster_of(scope, params)
        keys: dict[str, ContextValue] = {}
        if found is not None:
            keys.update({f"{_P}cluster-tag/{k}": v for k, v in found.tags})
        if "ManageMasterUserPassword" in params:
            keys[_P + "ManageMasterUserPassword"] = bool(params["ManageMasterUserPassword"])
        return keys

    # -- instances -----------------------------------------------------------------------

    def instance_resources(self, scope: Scope, params: Mapping[str, Any]) -> Sequence[str]:
        return (
            rds_arn(
                scope.region, scope.account_id, "db", _ident(params.get("DBInstanceIdentifier"))
            ),
        )

    def instance_tags(self, scope: Scope, params: Mapping[str, Any]) -> Mapping[str, str]:
        found = self._instance_of(scope, params)
        return found[0].tag_map() if found is not None else {}

    def instance_keys(self, scope: Scope, params: Mapping[str, Any]) -> Mapping[str, ContextValue]:
        found = self._instance_of(scope, params)
        return _instance_keys(*found) if found is not None else {}

    def create_instance_resources(self, scope: Scope, params: Mapping[str, Any]) -> Sequence[str]:
        out = [
            rds_arn(
                scope.region, scope.account_id, "db", _ident(params.get("DBInstanceIdentifier"))
            )
        ]
        if params.get("DBClusterIdentifier"):
            out.append(
                rds_arn(
                    scope.region, scope.account_id, "cluster", _ident(params["DBClusterIdentifier"])
                )
            )
        return out

    # -- tagging -------------------------------------------------------------------------

    def _named(self, scope: Scope, params: Mapping[str, Any]) -> Cluster | Instance | None:
        return self._named_ones.get(params, "named", lambda: self._read_named(scope, params))

    def _read_named(self, scope: Scope, params: Mapping[str, Any]) -> Cluster | Instance | None:
        name = str(params.get("ResourceName", ""))
        kind = name.split(":")[5] if name.count(":") >= 6 else ""
        if kind == "cluster":
            return self.cluster(scope, name)
        if kind == "db":
            found = self.instance(scope, name)
            return found[0] if found is not None else None
        return None

    def named_resources(self, scope: Scope, params: Mapping[str, Any]) -> Sequence[str]:
        return (str(params.get("ResourceName") or "*"),)

    def named_tags(self, scope: Scope, params: Mapping[str, Any]) -> Mapping[str, str]:
        found = self._named(scope, params)
        return found.tag_map() if found is not None else {}

    def named_keys(self, scope: Scope, params: Mapping[str, Any]) -> Mapping[str, ContextValue]:
        found = self._named(scope, params)
        prefix = "cluster-tag" if isinstance(found, Cluster) else "db-tag"
        keys: dict[str, ContextValue] = {}
        if found is not None:
            keys.update({f"{_P}{prefix}/{k}": v for k, v in found.tags})
        keys.update(_req_tags(params))
        if params.get("Tags") is not None:
            keys[_P + "TagsFromRequest"] = True
        if params.get("TagKeys"):
            keys["aws:TagKeys"] = [str(k) for k in params["TagKeys"]]
        return keys


def build_authz(store: Store, engine_version: str) -> dict[str, AuthzEntry]:
    lookup = RdsLookup(store)

    def cluster_entry(op: str, read_only: bool = False) -> AuthzEntry:
        return AuthzEntry(
            _P + op,
            lookup.cluster_resources,
            read_only=read_only,
            conditions=lookup.cluster_keys,
            resource_tags=lookup.cluster_tags,
        )

    def instance_entry(op: str, read_only: bool = False) -> AuthzEntry:
        return AuthzEntry(
            _P + op,
            lookup.instance_resources,
            read_only=read_only,
            conditions=lookup.instance_keys,
            resource_tags=lookup.instance_tags,
        )

    def tag_entry(op: str, read_only: bool = False) -> AuthzEntry:
        return AuthzEntry(
            _P + op,
            lookup.named_resources,
            read_only=read_only,
            conditions=lookup.named_keys,
            resource_tags=lookup.named_tags,
        )

    def create_cluster_resources(scope: Scope, params: Mapping[str, Any]) -> Sequence[str]:
        group = params.get("DBClusterParameterGroupName") or default_parameter_group(
            AURORA_POSTGRESQL, engine_version
        )
        return (
            *lookup.cluster_resources(scope, params),
            rds_arn(scope.region, scope.account_id, "cluster-pg", str(group)),
        )

    entries = {
        op: cluster_entry(op)
        for op in ("ModifyDBCluster", "DeleteDBCluster", "StartDBCluster", "StopDBCluster")
    }
    entries["DescribeDBClusters"] = cluster_entry("DescribeDBClusters", read_only=True)
    entries.update(
        {
            op: instance_entry(op)
            for op in ("ModifyDBInstance", "DeleteDBInstance", "RebootDBInstance")
        }
    )
    entries["DescribeDBInstances"] = instance_entry("DescribeDBInstances", read_only=True)
    entries["CreateDBCluster"] = AuthzEntry(
        _P + "CreateDBCluster", create_cluster_resources, conditions=_create_cluster_keys
    )
    entries["CreateDBInstance"] = AuthzEntry(
        _P + "CreateDBInstance", lookup.create_instance_resources, conditions=_create_instance_keys
    )
    entries["AddTagsToResource"] = tag_entry("AddTagsToResource")
    entries["RemoveTagsFromResource"] = tag_entry("RemoveTagsFromResource")
    entries["ListTagsForResource"] = tag_entry("ListTagsForResource", read_only=True)
    entries["DescribeEvents"] = AuthzEntry(_P + "DescribeEvents", read_only=True)
    entries.update(parameter_group_entries(store))
    for op, member in (("CreateDBInstance", "DBParameterGroupName"),
                       ("ModifyDBInstance", "DBParameterGroupName"),
                       ("ModifyDBCluster", "DBClusterParameterGroupName")):  # fmt: skip
        entries[op] = naming_group(entries[op], member)
    entries.update(snapshot_entries(store, engine_version))
    entries["DeleteDBCluster"] = naming_final_snapshot(entries["DeleteDBCluster"])
    for op in ("AddTagsToResource", "RemoveTagsFromResource", "ListTagsForResource"):
        entries[op] = tagging_snapshots(entries[op], store)
    return entries
