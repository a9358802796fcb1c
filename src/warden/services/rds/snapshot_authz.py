"""Authz entries of the DB cluster snapshot operations (Service Authorization Reference).

Each is authorized on the snapshot's ARN (``cluster-snapshot:<name>``; automated ones are
``cluster-snapshot:rds:<name>``; a snapshot shared from another account by the ARN the
request names), plus the cluster's where AWS lists it: CreateDBClusterSnapshot (``cluster*``,
``cluster-snapshot*``), RestoreDBClusterFromSnapshot (the new ``cluster*``, its
``cluster-pg*``, the ``cluster-snapshot``), DeleteDBCluster with a final snapshot. An
existing snapshot's tags feed ``aws:ResourceTag/*`` and ``rds:cluster-snapshot-tag/*``, a
request's tags ``rds:req-tag/*``. A snapshot that does not exist is authorized on the ARN it
would have, so IAM decides before the handler answers NotFound.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from warden.core.arn import Arn
from warden.policy import ContextValue
from warden.services.context import AuthzEntry, Scope, request_tags
from warden.store.db import Store

from . import repository as repo
from . import snapshot_repository as snaps
from .model import AURORA_POSTGRESQL, rds_arn
from .snapshot_repository import Snapshot
from .views import default_parameter_group

_P = "rds:"
_KIND = "cluster-snapshot"
Resources = Callable[[Scope, Mapping[str, Any]], Sequence[str]]


def _name(value: Any) -> str:
    text = str(value or "*")
    if text.startswith("arn:"):
        return text.split(":", 6)[-1].lower() if text.count(":") >= 6 else "*"
    return text.lower()


def _req_tags(params: Mapping[str, Any]) -> dict[str, ContextValue]:
    return {f"{_P}req-tag/{k}": v for k, v in request_tags(params).items()}


class SnapshotLookup:
    """The snapshot a request names, read for the authorizer."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def arn(self, scope: Scope, value: Any) -> str:
        """The snapshot's ARN as the handlers resolve it: an ARN's name lower-cased and its
        partition canonical, so no spelling of one snapshot escapes a policy naming it."""
        text = str(value or "")
        if not text.startswith("arn:"):
            return rds_arn(scope.region, scope.account_id, _KIND, _name(value))
        try:
            parsed = Arn.parse(text)
        except ValueError:
            return text  # the handler refuses it (InvalidParameterValue)
        kind, _, name = parsed.resource.partition(":")
        if parsed.service != "rds" or kind != _KIND or not name:
            return text
        return rds_arn(parsed.region, parsed.account, _KIND, name.lower())

    def find(self, scope: Scope, value: Any) -> Snapshot | None:
        text = str(value or "")
        with self._store.read() as conn:
            if text.startswith("arn:"):
                return snaps.by_arn(conn, self.arn(scope, text))
            return snaps.find(conn, scope.account_id, scope.region, text.lower())

    def tags(self, member: str) -> Callable[[Scope, Mapping[str, Any]], Mapping[str, str]]:
        def tags(scope: Scope, params: Mapping[str, Any]) -> Mapping[str, str]:
            found = self.find(scope, params.get(member))
            return found.tag_map() if found is not None else {}

        return tags

    def keys(self, member: str) -> Callable[[Scope, Mapping[str, Any]], Mapping[str, ContextValue]]:
        def keys(scope: Scope, params: Mapping[str, Any]) -> Mapping[str, ContextValue]:
            found = self.find(scope, params.get(member)) if params.get(member) else None
            out: dict[str, ContextValue] = {}
            if found is not None:
                out.update({f"{_P}{_KIND}-tag/{k}": v for k, v in found.tags})
            out.update(_req_tags(params))
            return out

        return keys

    def resources(self, *members: str, cluster: str | None = None) -> Resources:
        """The ARNs of the snapshots named in ``members`` (and of the cluster in
        ``cluster``, when the request names one)."""

        def resources(scope: Scope, params: Mapping[str, Any]) -> Sequence[str]:
            found = [self.arn(scope, params.get(m)) for m in members]
            if cluster is not None and params.get(cluster):
                found.insert(0, rds_arn(scope.region, scope.account_id, "cluster",
                                        _name(params[cluster])))  # fmt: skip
            return found

        return resources

    def cluster_tags(self, scope: Scope, params: Mapping[str, Any]) -> Mapping[str, str]:
        with self._store.read() as conn:
            found = repo.cluster(
                conn, scope.account_id, scope.region, _name(params.get("DBClusterIdentifier"))
            )
        return found.tag_map() if found is not None else {}


def snapshot_entries(store: Store, engine_version: str) -> dict[str, AuthzEntry]:
    lookup = SnapshotLookup(store)
    ident = "DBClusterSnapshotIdentifier"

    def on_snapshot(op: str, member: str = ident, read_only: bool = False) -> AuthzEntry:
        return AuthzEntry(
            _P + op,
            lookup.resources(member),
            read_only=read_only,
            conditions=lookup.keys(member),
            resource_tags=lookup.tags(member),
        )

    def restore_resources(scope: Scope, params: Mapping[str, Any]) -> Sequence[str]:
        group = params.get("DBClusterParameterGroupName") or default_parameter_group(
            AURORA_POSTGRESQL, engine_version
        )
        return (
            rds_arn(scope.region, scope.account_id, "cluster",
                    _name(params.get("DBClusterIdentifier"))),
            rds_arn(scope.region, scope.account_id, "cluster-pg", _name(group)),
            lookup.arn(scope, params.get("SnapshotIdentifier")),
        )  # fmt: skip

    return {
        "CreateDBClusterSnapshot": AuthzEntry(
            _P + "CreateDBClusterSnapshot",
            lookup.resources(ident, cluster="DBClusterIdentifier"),
            conditions=lookup.keys(ident),
            resource_tags=lookup.cluster_tags,
        ),
        "DescribeDBClusterSnapshots": AuthzEntry(
            _P + "DescribeDBClusterSnapshots",
            lookup.resources(ident, cluster="DBClusterIdentifier"),
            read_only=True,
        ),
        "DeleteDBClusterSnapshot": on_snapshot("DeleteDBClusterSnapshot"),
        "CopyDBClusterSnapshot": AuthzEntry(
            _P + "CopyDBClusterSnapshot",
            lookup.resources(
                "SourceDBClusterSnapshotIdentifier", "TargetDBClusterSnapshotIdentifier"
            ),
            conditions=lookup.keys("SourceDBClusterSnapshotIdentifier"),
            resource_tags=lookup.tags("SourceDBClusterSnapshotIdentifier"),
        ),
        "RestoreDBClusterFromSnapshot": AuthzEntry(
            _P + "RestoreDBClusterFromSnapshot",
            restore_resources,
            conditions=lookup.keys("SnapshotIdentifier"),
            resource_tags=lookup.tags("SnapshotIdentifier"),
        ),
        "ModifyDBClusterSnapshotAttribute": on_snapshot("ModifyDBClusterSnapshotAttribute"),
        "DescribeDBClusterSnapshotAttributes": on_snapshot(
            "DescribeDBClusterSnapshotAttributes", read_only=True
        ),
    }


def naming_final_snapshot(entry: AuthzEntry) -> AuthzEntry:
    """DeleteDBCluster also authorized on the final snapshot it asks for."""
    base = entry.resources

    def resources(scope: Scope, params: Mapping[str, Any]) -> Sequence[str]:
        found = list(base(scope, params))
        if params.get("FinalDBSnapshotIdentifier"):
            found.append(
                rds_arn(scope.region, scope.account_id, _KIND,
                        _name(params["FinalDBSnapshotIdentifier"]))
            )  # fmt: skip
        return found

    return replace(entry, resources=resources)


def tagging_snapshots(entry: AuthzEntry, store: Store) -> AuthzEntry:
    """A tagging entry that also knows snapshots' tags (``ResourceName`` a snapshot ARN)."""
    lookup = SnapshotLookup(store)
    base_tags, base_keys = entry.resource_tags, entry.conditions

    def names_snapshot(params: Mapping[str, Any]) -> bool:
        return f":{_KIND}:" in str(params.get("ResourceName", ""))

    def tags(scope: Scope, params: Mapping[str, Any]) -> Mapping[str, str]:
        if names_snapshot(params):
            return lookup.tags("ResourceName")(scope, params)
        return base_tags(scope, params) if base_tags else {}

    def keys(scope: Scope, params: Mapping[str, Any]) -> Mapping[str, ContextValue]:
        out = dict(base_keys(scope, params)) if base_keys else {}
        if names_snapshot(params):
            out = {k: v for k, v in out.items() if not k.startswith(_P + "db-tag/")}
            out.update(lookup.keys("ResourceName")(scope, params))
        return out

    return replace(entry, resource_tags=tags, conditions=keys)
