"""The DB cluster operations: Create/Describe/Modify/Delete/Start/Stop DBCluster.

The API records the desired state and answers at once, as RDS does (``creating``,
``modifying``, ``stopping``…); the reconciler converges the PostgreSQL processes and moves
the status on. A cluster's data lives on its volume, which its writer instance runs on; a
cluster with no instance has no process. A change that needs the server (a password, a
port, security groups) reaches it through the reconciler within seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warden.core.redacted import Redacted
from warden.services.context import CallContext

from . import inputs
from . import repository as repo
from .allocation import choose_port
from .attributes import (
    UNSUPPORTED_ON_CREATE,
    UNSUPPORTED_ON_MODIFY,
    create_settings,
    modified_settings,
    refuse_unsupported,
)
from .core import Deps, find_cluster
from .errors import (
    DBClusterAlreadyExistsFault,
    InvalidDBClusterStateFault,
    InvalidParameterCombination,
    InvalidParameterValue,
    cluster_state,
    instance_state,
    not_supported,
)
from .master_secret import MasterSecrets
from .model import AURORA_POSTGRESQL, Cluster, Instance, Server, Status, new_resource_id, rds_arn
from .parameter_apply import statuses
from .secrets import Purpose, generated_master_password
from .snapshot_capture import begin_snapshot, capture, cluster_tags
from .snapshot_repository import Snapshot, SnapshotType
from .views import cluster_view
from .volumes import VolumeRequest, check_port, encryption, new_volume

AURORA_PASSWORD_MAX = 41
_FILTERS = ("db-cluster-id", "db-cluster-resource-id", "engine", "clone-group-id", "domain")


def _matches(cluster: Cluster, wanted: Mapping[str, set[str]]) -> bool:
    fields = {
        "db-cluster-id": {cluster.identifier, cluster.arn},
        "db-cluster-resource-id": {cluster.resource_id},
        "engine": {cluster.engine},
        "clone-group-id": set(),
        "domain": set(),
    }
    return all(fields[name] & values for name, values in wanted.items())


class ClusterOps:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.masters = MasterSecrets(deps)

    def _view(self, cluster: Cluster, members: list[Instance] | None = None) -> dict[str, Any]:
        if members is None:
            with self.deps.store.read() as conn:
                members = repo.members(conn, [cluster.resource_id])
        with self.deps.store.read() as conn:
            applied = statuses(conn, [Server(m, cluster) for m in members])
        view = cluster_view(cluster, members, self.deps.specs.host, applied)
        return {**view, **self.masters.view(cluster)}

    def _reread(self, ctx: CallContext, identifier: str) -> dict[str, Any]:
        with self.deps.store.read() as conn:
            cluster = find_cluster(conn, ctx, identifier)
            members = repo.members(conn, [cluster.resource_id])
        return {"DBCluster": self._view(cluster, members)}

    # -- create and describe -----------------------------------------------------------

    def create_db_cluster(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        deps = self.deps
        ident = inputs.identifier(params["DBClusterIdentifier"], "DBClusterIdentifier")
        engine = str(params["Engine"])
        if engine != AURORA_POSTGRESQL:
            raise InvalidParameterValue(
                message=f"Invalid DB engine: {engine}. warden serves DB clusters of engine "
                f"{AURORA_POSTGRESQL} (and standalone postgres DB instances)."
            )
        refuse_unsupported(params, self.masters.unsupported(UNSUPPORTED_ON_CREATE))
        if params.get("EngineMode") not in (None, "provisioned"):
            raise not_supported(f"Engine mode {params['EngineMode']}")
        version = inputs.engine_version(params.get("EngineVersion"), engine, deps.engine_version)
        username = inputs.master_username(params.get("MasterUsername"))
        master_secret = self.masters.for_create(ctx, params)
        password = (
            generated_master_password()
            if master_secret is not None
            else Redacted(
                inputs.master_password(
                    params.get("MasterUserPassword"), maximum=AURORA_PASSWORD_MAX
                )
            )
        )
        port = inputs.port(params.get("Port"))
        tags = inputs.tags(params.get("Tags"))
        with deps.store.read() as conn:
            if repo.cluster(conn, ctx.account_id, ctx.region, ident) is not None:
                raise DBClusterAlreadyExistsFault(message="DB Cluster already exists")
        settings = create_settings(deps, ctx, params, engine, cluster=True)
        encrypted, key = encryption(
            deps, ctx, params.get("StorageEncrypted"), params.get("KmsKeyId")
        )
        resource_id = new_resource_id(deps.ids, "cluster-")
        volume = new_volume(
            deps,
            VolumeRequest(
                resource_id, ctx.account_id, ctx.region, ident, username, password,
                port, settings.but(storage_encrypted=encrypted, kms_key_id=key),
            ),
        )  # fmt: skip
        cluster = Cluster(
            resource_id=resource_id,
            account_id=ctx.account_id,
            region=ctx.region,
            identifier=ident,
            arn=rds_arn(ctx.region, ctx.account_id, "cluster", ident),
            engine=engine,
            engine_version=version,
            status=Status.CREATING,
            volume=volume,
            created_at=ctx.now,
            tags=tags,
            master_secret=master_secret,
        )
        with deps.store.begin() as conn:
            if repo.cluster(conn, ctx.account_id, ctx.region, ident) is not None:
                raise DBClusterAlreadyExistsFault(message="DB Cluster already exists")
            check_port(conn, volume.port)
            repo.insert_cluster(conn, cluster)
        self.masters.attach(cluster, password)
        return self._reread(ctx, ident)

    def describe_db_clusters(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        inputs.max_records(params)
        wanted = inputs.filters(params, _FILTERS)
        with self.deps.store.read() as conn:
            if params.get("DBClusterIdentifier"):
                ident = inputs.reference(params["DBClusterIdentifier"], "cluster")
                chosen = [find_cluster(conn, ctx, ident)]
            else:
                chosen = repo.clusters(conn, ctx.account_id, ctx.region)
            members = repo.members(conn, [c.resource_id for c in chosen])
            by_id = {c.resource_id: c for c in chosen}
            applied = statuses(conn, [Server(m, by_id[m.cluster_id or ""]) for m in members])
        chosen = [c for c in chosen if _matches(c, wanted)]
        page, more = ctx.page(chosen)
        host = self.deps.specs.host
        views = [
            {
                **cluster_view(
                    c, [m for m in members if m.cluster_id == c.resource_id], host, applied
                ),
                **self.masters.view(c),
            }
            for c in page
        ]
        return {"DBClusters": views, **more}

    # -- modify ------------------------------------------------------------------------

    def modify_db_cluster(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        deps = self.deps
        ident = inputs.reference(params["DBClusterIdentifier"], "cluster")
        refuse_unsupported(params, self.masters.unsupported(UNSUPPORTED_ON_MODIFY))
        with deps.store.read() as conn:
            current = find_cluster(conn, ctx, ident)
            used = repo.used_ports(conn) - {current.volume.port}
        if current.status is not Status.AVAILABLE:
            raise cluster_state(ident, current.status.value)
        inputs.engine_version(params.get("EngineVersion"), current.engine, deps.engine_version)
        settings = modified_settings(deps, ctx, params, current.volume.settings, current.engine)
        values: dict[str, Any] = {}
        new_port = inputs.port(params.get("Port"))
        if new_port is not None and new_port != current.volume.port:
            values["port"] = choose_port(new_port, used, deps.specs.certificate_names())
            settings = settings.but(port_requested=True)
        new_name = params.get("NewDBClusterIdentifier")
        if new_name:
            new_name = inputs.identifier(new_name, "NewDBClusterIdentifier")
            values["identifier"] = new_name
            values["arn"] = rds_arn(ctx.region, ctx.account_id, "cluster", new_name)
        status = Status.MODIFYING if settings != current.volume.settings or values else None
        plan = self.masters.for_modify(ctx, params, current)
        password = plan.generated
        if "MasterUserPassword" in params:
            password = Redacted(
                inputs.master_password(params["MasterUserPassword"], maximum=AURORA_PASSWORD_MAX)
            )
        if password is not None:
            sealed = deps.sealer.seal(Purpose.MASTER, current.resource_id, password)
            values.update(master_password=sealed, password_pending=True, **plan.columns)
            status = Status.RESETTING
        if plan.rotate:
            self.masters.rotate(current)
        with deps.store.begin() as conn:
            cluster = find_cluster(conn, ctx, ident, for_update=True)
            if cluster.status is not Status.AVAILABLE:
                raise cluster_state(ident, cluster.status.value)
            if new_name and repo.cluster(conn, ctx.account_id, ctx.region, new_name) is not None:
                raise DBClusterAlreadyExistsFault(message="DB Cluster already exists")
            if "port" in values:
                check_port(conn, values["port"], repo.used_ports(conn) - {cluster.volume.port})
            repo.update_cluster(
                conn,
                cluster.resource_id,
                settings=settings.to_json(),
                status=(status or cluster.status).value,
                **values,
            )
            changed = repo.cluster_by_id(conn, cluster.resource_id)
        if changed is not None:
            self.masters.finish_modify(changed, plan)
        return self._reread(ctx, new_name or ident)

    # -- delete, start, stop -----------------------------------------------------------

    def delete_db_cluster(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        ident = inputs.reference(params["DBClusterIdentifier"], "cluster")
        skip = bool(params.get("SkipFinalSnapshot", False))
        final = params.get("FinalDBSnapshotIdentifier")
        if params.get("DeleteAutomatedBackups") is False:
            raise not_supported("Retaining automated backups (DeleteAutomatedBackups false)")
        snapshot = self._final_snapshot(ctx, ident, final) if final and not skip else None
        with self.deps.store.begin() as conn:
            cluster = find_cluster(conn, ctx, ident, for_update=True)
            if cluster.volume.settings.deletion_protection:
                raise InvalidParameterCombination(
                    message="Cannot delete protected Cluster, please disable deletion "
                    "protection and try again."
                )
            if skip and final:
                raise InvalidParameterCombination(
                    message="FinalDBSnapshotIdentifier can not be specified when "
                    "SkipFinalSnapshot is enabled."
                )
            if not skip and not final:
                raise InvalidParameterCombination(
                    message="FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot "
                    "is specified."
                )
            if cluster.status not in {Status.AVAILABLE, Status.STOPPED, Status.FAILED}:
                raise cluster_state(ident, cluster.status.value)
            live = [
                m for m in repo.members(conn, [cluster.resource_id])
                if m.status is not Status.DELETING
            ]  # fmt: skip
            if live:
                raise InvalidDBClusterStateFault(
                    message="Cluster cannot be deleted, it still contains DB instances in "
                    "non-deleting state."
                )
            repo.update_cluster(conn, cluster.resource_id, status=Status.DELETING.value)
            if snapshot is not None:
                begin_snapshot(conn, self.deps.ids, snapshot, Status.DELETING)
        return self._reread(ctx, ident)

    def _final_snapshot(self, ctx: CallContext, ident: str, name: Any) -> Snapshot:
        """The final snapshot DeleteDBCluster takes (a manual one), its file key made
        before the deleting transaction (KMS)."""
        name = inputs.identifier(name, "FinalDBSnapshotIdentifier")
        with self.deps.store.read() as conn:
            cluster = find_cluster(conn, ctx, ident)
        tags = cluster_tags(cluster, ())
        return capture(self.deps, cluster, name, SnapshotType.MANUAL, ctx.now, tags, final=True)

    def _switch(
        self, ctx: CallContext, params: Mapping[str, Any], before: Status, after: Status
    ) -> dict[str, Any]:
        """Stop (available → stopping) or start (stopped → starting) a cluster and its
        instances, which must all be in the cluster's state."""
        ident = inputs.reference(params["DBClusterIdentifier"], "cluster")
        with self.deps.store.begin() as conn:
            cluster = find_cluster(conn, ctx, ident, for_update=True)
            if cluster.status is not before:
                raise cluster_state(ident, cluster.status.value)
            members = repo.members(conn, [cluster.resource_id])
            for member in members:
                if member.status is not before:
                    raise instance_state(member.identifier, member.status.value)
            repo.update_cluster(conn, cluster.resource_id, status=after.value)
            for member in members:
                repo.update_instance(conn, member.resource_id, status=after.value)
        return self._reread(ctx, ident)

    def stop_db_cluster(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        return self._switch(ctx, params, Status.AVAILABLE, Status.STOPPING)

    def start_db_cluster(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        return self._switch(ctx, params, Status.STOPPED, Status.STARTING)
