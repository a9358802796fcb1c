"""The DB instance operations: Create/Describe/Modify/Delete/Reboot DBInstance.

An ``aurora-postgresql`` instance joins a cluster and runs on its volume: it is the
cluster's writer and *is* the PostgreSQL server. A cluster takes one instance: a second
would have to be a streaming replica, which warden does not implement yet, so it is refused.
A ``postgres`` instance owns its volume, with the attributes an Aurora cluster would hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
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
    parameter_group,
    refuse_unsupported,
)
from .core import Deps, find_cluster, find_instance, server_of
from .errors import (
    DBInstanceAlreadyExistsFault,
    InvalidDBClusterStateFault,
    InvalidParameterCombination,
    InvalidParameterValue,
    cluster_state,
    instance_state,
    not_supported,
)
from .model import (
    AURORA_POSTGRESQL,
    ENGINES,
    Instance,
    InstanceOptions,
    Server,
    Status,
    new_resource_id,
    rds_arn,
)
from .parameter_apply import statuses
from .parameter_store import GroupKind
from .secrets import Purpose
from .views import instance_view
from .volumes import VolumeRequest, check_port, encryption, new_volume

POSTGRES_PASSWORD_MAX = 128
_DB = GroupKind.DB
_FILTERS = ("db-cluster-id", "db-instance-id", "dbi-resource-id", "domain", "engine")
_CLUSTER_LEVEL_CREATE = ("MasterUsername", "MasterUserPassword", "VpcSecurityGroupIds")
_CLUSTER_LEVEL_MODIFY = {
    "MasterUserPassword": "Modify master user password for the DB Cluster using the "
    "ModifyDbCluster API.",
    "VpcSecurityGroupIds": "Modify the VPC security groups for the DB Cluster using the "
    "ModifyDbCluster API.",
    "DBPortNumber": "Modify the port for the DB Cluster using the ModifyDbCluster API.",
    "BackupRetentionPeriod": "Modify the backup retention period for the DB Cluster using "
    "the ModifyDbCluster API.",
    "EnableIAMDatabaseAuthentication": "Modify IAM database authentication for the DB "
    "Cluster using the ModifyDbCluster API.",
    "DeletionProtection": "Modify deletion protection for the DB Cluster using the "
    "ModifyDbCluster API.",
}
_SETTLED = {Status.AVAILABLE, Status.STOPPED, Status.FAILED}


def _matches(server: Server, wanted: Mapping[str, set[str]]) -> bool:
    inst, cluster = server.instance, server.cluster
    fields = {
        "db-cluster-id": {cluster.identifier, cluster.arn} if cluster else set(),
        "db-instance-id": {inst.identifier, inst.arn},
        "dbi-resource-id": {inst.resource_id},
        "engine": {inst.engine},
        "domain": set(),
    }
    return all(fields[name] & values for name, values in wanted.items())


def _options(params: Mapping[str, Any], region: str, base: InstanceOptions) -> InstanceOptions:
    changes: dict[str, Any] = {}
    for member, field in (("PubliclyAccessible", "publicly_accessible"),
                          ("AutoMinorVersionUpgrade", "auto_minor")):  # fmt: skip
        if member in params:
            changes[field] = bool(params[member])
    window = inputs.maintenance_window(params.get("PreferredMaintenanceWindow"))
    if window:
        changes["maintenance_window"] = window
    tier = params.get("PromotionTier")
    if tier is not None:
        if not 0 <= tier <= 15:
            raise InvalidParameterValue(message="PromotionTier must be from 0 to 15.")
        changes["promotion_tier"] = tier
    zone = params.get("AvailabilityZone")
    if zone:
        if not str(zone).startswith(region) or len(str(zone)) != len(region) + 1:
            raise InvalidParameterValue(message=f"Invalid availability zone: {zone}")
        changes["availability_zone"] = str(zone)
    return InstanceOptions(**{**base.to_json(), **changes})


class InstanceOps:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def _reread(self, ctx: CallContext, identifier: str) -> dict[str, Any]:
        with self.deps.store.read() as conn:
            server = server_of(conn, find_instance(conn, ctx, identifier))
            status = statuses(conn, [server])[server.instance.resource_id]
        return {"DBInstance": instance_view(server, self.deps.specs.host, status)}

    # -- create ------------------------------------------------------------------------

    def create_db_instance(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        ident = inputs.identifier(params["DBInstanceIdentifier"], "DBInstanceIdentifier")
        engine = str(params["Engine"])
        if engine not in ENGINES:
            raise InvalidParameterValue(
                message=f"Invalid DB engine: {engine}. warden serves {' and '.join(ENGINES)}."
            )
        klass = inputs.instance_class(params.get("DBInstanceClass"), engine)
        refuse_unsupported(params, UNSUPPORTED_ON_CREATE)
        options = _options(params, ctx.region, InstanceOptions())
        tags = inputs.tags(params.get("Tags"))
        with self.deps.store.read() as conn:
            if repo.instance(conn, ctx.account_id, ctx.region, ident) is not None:
                raise DBInstanceAlreadyExistsFault(message="DB instance already exists")
        if engine == AURORA_POSTGRESQL:
            group = parameter_group(self.deps, ctx, _DB, params.get("DBParameterGroupName"), engine)
            options = replace(options, parameter_group=group)
            self._join_cluster(ctx, params, ident, klass, options, tags)
        else:
            self._standalone(ctx, params, ident, klass, options, tags)
        return self._reread(ctx, ident)

    def _join_cluster(
        self,
        ctx: CallContext,
        params: Mapping[str, Any],
        ident: str,
        klass: str,
        options: InstanceOptions,
        tags: tuple[tuple[str, str], ...],
    ) -> None:
        if not params.get("DBClusterIdentifier"):
            raise InvalidParameterCombination(
                message=f"DBClusterIdentifier is required for engine {AURORA_POSTGRESQL}."
            )
        for member in _CLUSTER_LEVEL_CREATE:
            if member in params:
                raise InvalidParameterCombination(
                    message="The requested DB Instance will be a member of a DB Cluster. "
                    f"Set {member} for the DB Cluster."
                )
        cluster_ident = inputs.reference(params["DBClusterIdentifier"], "cluster")
        with self.deps.store.begin() as conn:
            if repo.instance(conn, ctx.account_id, ctx.region, ident) is not None:
                raise DBInstanceAlreadyExistsFault(message="DB instance already exists")
            cluster = find_cluster(conn, ctx, cluster_ident, for_update=True)
            if cluster.status not in {Status.CREATING, Status.AVAILABLE, Status.MODIFYING}:
                raise cluster_state(cluster_ident, cluster.status.value)
            for other in repo.members(conn, [cluster.resource_id]):
                if other.status is Status.DELETING:
                    raise InvalidDBClusterStateFault(
                        message=f"DB cluster {cluster_ident} is still deleting its instance "
                        f"{other.identifier}; try again when it is gone."
                    )
                raise InvalidParameterCombination(
                    message=f"DB cluster {cluster_ident} already has its writer instance "
                    f"{other.identifier}. warden does not support Aurora Replicas (a second "
                    "instance would need streaming replication) yet."
                )
            repo.insert_instance(
                conn,
                Instance(
                    new_resource_id(self.deps.ids, "db-"), ctx.account_id, ctx.region, ident,
                    rds_arn(ctx.region, ctx.account_id, "db", ident), cluster.resource_id,
                    cluster.engine, cluster.engine_version, klass, Status.CREATING, options,
                    ctx.now, None, tags,
                ),
            )  # fmt: skip

    def _standalone(
        self,
        ctx: CallContext,
        params: Mapping[str, Any],
        ident: str,
        klass: str,
        options: InstanceOptions,
        tags: tuple[tuple[str, str], ...],
    ) -> None:
        deps = self.deps
        if params.get("DBClusterIdentifier"):
            raise InvalidParameterCombination(
                message="The engine name requested for your DB instance (postgres) doesn't "
                f"match the engine name of your DB cluster ({AURORA_POSTGRESQL})."
            )
        version = inputs.engine_version(
            params.get("EngineVersion"), "postgres", deps.engine_version
        )
        username = inputs.master_username(params.get("MasterUsername"))
        password = inputs.master_password(
            params.get("MasterUserPassword"), maximum=POSTGRES_PASSWORD_MAX
        )
        port = inputs.port(params.get("Port"))
        settings = create_settings(deps, ctx, params, "postgres", cluster=False)
        encrypted, key = encryption(
            deps, ctx, params.get("StorageEncrypted"), params.get("KmsKeyId")
        )
        resource_id = new_resource_id(deps.ids, "db-")
        volume = new_volume(
            deps,
            VolumeRequest(
                resource_id, ctx.account_id, ctx.region, ident, username, Redacted(password),
                port, settings.but(storage_encrypted=encrypted, kms_key_id=key),
            ),
        )  # fmt: skip
        instance = Instance(
            resource_id, ctx.account_id, ctx.region, ident,
            rds_arn(ctx.region, ctx.account_id, "db", ident), None, "postgres", version, klass,
            Status.CREATING, options, ctx.now, volume, tags,
        )  # fmt: skip
        with deps.store.begin() as conn:
            if repo.instance(conn, ctx.account_id, ctx.region, ident) is not None:
                raise DBInstanceAlreadyExistsFault(message="DB instance already exists")
            check_port(conn, volume.port)
            repo.insert_instance(conn, instance)

    # -- describe ----------------------------------------------------------------------

    def describe_db_instances(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        inputs.max_records(params)
        wanted = inputs.filters(params, _FILTERS)
        with self.deps.store.read() as conn:
            if params.get("DBInstanceIdentifier"):
                ident = inputs.reference(params["DBInstanceIdentifier"], "db")
                chosen = [find_instance(conn, ctx, ident)]
            else:
                chosen = repo.instances(conn, ctx.account_id, ctx.region)
            clusters = {c.resource_id: c for c in repo.clusters(conn, ctx.account_id, ctx.region)}
        servers = [Server(i, clusters.get(i.cluster_id) if i.cluster_id else None) for i in chosen]
        servers = [s for s in servers if _matches(s, wanted)]
        page, more = ctx.page(servers)
        host = self.deps.specs.host
        with self.deps.store.read() as conn:
            applied = statuses(conn, page)
        views = [instance_view(s, host, applied[s.instance.resource_id]) for s in page]
        return {"DBInstances": views, **more}

    # -- modify, delete, reboot --------------------------------------------------------

    def modify_db_instance(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        deps = self.deps
        ident = inputs.reference(params["DBInstanceIdentifier"], "db")
        refuse_unsupported(params, UNSUPPORTED_ON_MODIFY)
        with deps.store.read() as conn:
            current = find_instance(conn, ctx, ident)
            used = repo.used_ports(conn)
        if current.status is not Status.AVAILABLE:
            raise instance_state(ident, current.status.value)
        values: dict[str, Any] = {}
        status: Status | None = None
        if current.volume is None:
            for member, advice in _CLUSTER_LEVEL_MODIFY.items():
                if member in params:
                    raise InvalidParameterCombination(
                        message=f"The specified DB Instance is a member of a cluster. {advice}"
                    )
        else:
            values, status = self._volume_changes(ctx, params, current, used)
        options = _options(params, ctx.region, current.options)
        if current.volume is None and params.get("DBParameterGroupName"):
            group = parameter_group(deps, ctx, _DB, params["DBParameterGroupName"], current.engine)
            options = replace(options, parameter_group=group)
        if options != current.options:
            values["options"] = options.to_json()
            status = status or Status.MODIFYING
        if params.get("DBInstanceClass"):
            values["instance_class"] = inputs.instance_class(
                params["DBInstanceClass"], current.engine
            )
        if params.get("CACertificateIdentifier") not in (None, "warden-ca"):
            raise InvalidParameterValue(
                message=f"CACertificateIdentifier {params['CACertificateIdentifier']} not found."
            )
        new_name = params.get("NewDBInstanceIdentifier")
        if new_name:
            new_name = inputs.identifier(new_name, "NewDBInstanceIdentifier")
            values["identifier"] = new_name
            values["arn"] = rds_arn(ctx.region, ctx.account_id, "db", new_name)
            status = status or Status.MODIFYING
        with deps.store.begin() as conn:
            instance = find_instance(conn, ctx, ident, for_update=True)
            if instance.status is not Status.AVAILABLE:
                raise instance_state(ident, instance.status.value)
            if new_name and repo.instance(conn, ctx.account_id, ctx.region, new_name):
                raise DBInstanceAlreadyExistsFault(message="DB instance already exists")
            if "port" in values and instance.volume is not None:
                check_port(conn, values["port"], repo.used_ports(conn) - {instance.volume.port})
            repo.update_instance(
                conn, instance.resource_id, status=(status or instance.status).value, **values
            )
        return self._reread(ctx, new_name or ident)

    def _volume_changes(
        self, ctx: CallContext, params: Mapping[str, Any], current: Instance, used: set[int]
    ) -> tuple[dict[str, Any], Status | None]:
        """A standalone instance's volume attributes: settings, port, master password."""
        deps, volume = self.deps, current.volume
        if volume is None:  # pragma: no cover - callers check
            return {}, None
        settings = modified_settings(deps, ctx, params, volume.settings, current.engine)
        values: dict[str, Any] = {}
        port = inputs.port(params.get("DBPortNumber"))
        if port is not None and port != volume.port:
            values["port"] = choose_port(port, used - {volume.port}, deps.specs.certificate_names())
            settings = settings.but(port_requested=True)
        status = Status.MODIFYING if settings != volume.settings or values else None
        values["settings"] = settings.to_json()
        if "MasterUserPassword" in params:
            password = inputs.master_password(
                params["MasterUserPassword"], maximum=POSTGRES_PASSWORD_MAX
            )
            sealed = deps.sealer.seal(Purpose.MASTER, volume.owner, Redacted(password))
            values.update(master_password=sealed, password_pending=True)
            status = Status.RESETTING
        return values, status

    def delete_db_instance(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        ident = inputs.reference(params["DBInstanceIdentifier"], "db")
        skip = bool(params.get("SkipFinalSnapshot", False))
        final = params.get("FinalDBSnapshotIdentifier")
        with self.deps.store.begin() as conn:
            instance = find_instance(conn, ctx, ident, for_update=True)
            if instance.volume is None:
                if final:
                    raise InvalidParameterCombination(
                        message="FinalDBSnapshotIdentifier can not be specified when deleting "
                        "a cluster instance."
                    )
            else:
                if instance.volume.settings.deletion_protection:
                    raise InvalidParameterCombination(
                        message="Cannot delete protected DB Instance, please disable deletion "
                        "protection and try again."
                    )
                if not skip and not final:
                    raise InvalidParameterCombination(
                        message="FinalDBSnapshotIdentifier is required unless "
                        "SkipFinalSnapshot is specified."
                    )
                if final:
                    raise not_supported("A final snapshot (FinalDBSnapshotIdentifier)")
            if instance.status not in _SETTLED:
                raise instance_state(ident, instance.status.value)
            repo.update_instance(conn, instance.resource_id, status=Status.DELETING.value)
        return self._reread(ctx, ident)

    def reboot_db_instance(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        ident = inputs.reference(params["DBInstanceIdentifier"], "db")
        if params.get("ForceFailover"):
            raise not_supported("ForceFailover (a failover needs a replica)")
        with self.deps.store.begin() as conn:
            instance = find_instance(conn, ctx, ident, for_update=True)
            if instance.status is not Status.AVAILABLE:
                raise instance_state(ident, instance.status.value)
            repo.update_instance(conn, instance.resource_id, status=Status.REBOOTING.value)
        return self._reread(ctx, ident)
