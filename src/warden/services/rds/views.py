"""Clusters and instances in the output shapes (``DBCluster``, ``DBInstance``).

Endpoints are addresses clients can reach (loopback, or the server's host address for a
publicly accessible instance), not DNS names; an Aurora cluster's reader endpoint is its
writer's, as Aurora routes it when a cluster has no replicas. Attributes warden does not
model report RDS's values for a cluster that does not use them (no Multi-AZ, no
Performance Insights, IPv4 network).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from cryptography import x509

from .model import HOSTED_ZONE, Cluster, Instance, Server, Status
from .specs import endpoint_address

CA_IDENTIFIER = "warden-ca"


@lru_cache(maxsize=256)
def _valid_till(cert_pem: str) -> datetime:
    return x509.load_pem_x509_certificate(cert_pem.encode()).not_valid_after_utc


def _tags(tags: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags]


def _groups(ids: Sequence[str]) -> list[dict[str, str]]:
    return [{"VpcSecurityGroupId": g, "Status": "active"} for g in ids]


def major(version: str) -> str:
    return version.split(".")[0]


def default_parameter_group(engine: str, version: str) -> str:
    return f"default.{engine}{major(version)}"


def db_parameter_group(server: Server) -> str:
    """A member's own group (in its options), a standalone instance's (a volume setting)."""
    inst = server.instance
    name = (
        inst.options.parameter_group if server.cluster else server.volume.settings.parameter_group
    )
    return name or default_parameter_group(inst.engine, inst.engine_version)


def cluster_view(
    cluster: Cluster,
    members: Sequence[Instance],
    host: str,
    apply_status: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """``apply_status``: member resource id → its parameter apply status (else in-sync)."""
    volume, s = cluster.volume, cluster.volume.settings
    applied = apply_status or {}
    public = any(m.options.publicly_accessible for m in members)
    address = endpoint_address(public, host)
    out: dict[str, Any] = {
        "AllocatedStorage": 1,
        "AvailabilityZones": [f"{cluster.region}{z}" for z in "abc"],
        "BackupRetentionPeriod": s.backup_retention,
        "DBClusterIdentifier": cluster.identifier,
        "DBClusterParameterGroup": s.parameter_group,
        "DBSubnetGroup": "default",
        "Status": cluster.status.value,
        "Endpoint": address,
        "ReaderEndpoint": address,
        "MultiAZ": False,
        "Engine": cluster.engine,
        "EngineVersion": cluster.engine_version,
        "Port": volume.port,
        "MasterUsername": volume.master_username,
        "PreferredBackupWindow": s.backup_window,
        "PreferredMaintenanceWindow": s.maintenance_window,
        "ReadReplicaIdentifiers": [],
        "DBClusterMembers": [
            {
                "DBInstanceIdentifier": m.identifier,
                "IsClusterWriter": True,
                "DBClusterParameterGroupStatus": applied.get(m.resource_id, "in-sync"),
                "PromotionTier": m.options.promotion_tier,
            }
            for m in members
        ],
        "VpcSecurityGroups": _groups(s.security_groups),
        "HostedZoneId": HOSTED_ZONE,
        "StorageEncrypted": s.storage_encrypted,
        "DbClusterResourceId": cluster.resource_id,
        "DBClusterArn": cluster.arn,
        "AssociatedRoles": [],
        "IAMDatabaseAuthenticationEnabled": s.iam_auth,
        "ClusterCreateTime": cluster.created_at,
        "EnabledCloudwatchLogsExports": list(s.log_exports),
        "EngineMode": "provisioned",
        "DeletionProtection": s.deletion_protection,
        "HttpEndpointEnabled": False,
        "CopyTagsToSnapshot": s.copy_tags,
        "CrossAccountClone": False,
        "DomainMemberships": [],
        "TagList": _tags(cluster.tags),
        "AutoMinorVersionUpgrade": s.auto_minor,
        "NetworkType": "IPV4",
        "StorageType": "aurora",
    }
    if s.database_name:
        out["DatabaseName"] = s.database_name
    if s.storage_encrypted and s.kms_key_id:
        out["KmsKeyId"] = s.kms_key_id
    return out


def instance_view(server: Server, host: str, apply_status: str = "in-sync") -> dict[str, Any]:
    inst, volume = server.instance, server.volume
    s, opts, cluster = volume.settings, inst.options, server.cluster
    out: dict[str, Any] = {
        "DBInstanceIdentifier": inst.identifier,
        "DBInstanceClass": inst.instance_class,
        "Engine": inst.engine,
        "DBInstanceStatus": inst.status.value,
        "MasterUsername": volume.master_username,
        "AllocatedStorage": s.allocated_storage,
        "InstanceCreateTime": inst.created_at,
        "PreferredBackupWindow": s.backup_window,
        "BackupRetentionPeriod": s.backup_retention,
        "DBSecurityGroups": [],
        "VpcSecurityGroups": _groups(s.security_groups),
        "DBParameterGroups": [
            {
                "DBParameterGroupName": db_parameter_group(server),
                "ParameterApplyStatus": apply_status,
            }
        ],
        "AvailabilityZone": opts.availability_zone or f"{inst.region}a",
        "PreferredMaintenanceWindow": opts.maintenance_window,
        "PendingModifiedValues": {},
        "MultiAZ": False,
        "EngineVersion": inst.engine_version,
        "AutoMinorVersionUpgrade": opts.auto_minor,
        "ReadReplicaDBInstanceIdentifiers": [],
        "ReadReplicaDBClusterIdentifiers": [],
        "LicenseModel": "postgresql-license",
        "OptionGroupMemberships": [
            {
                "OptionGroupName": f"default:{inst.engine}-{major(inst.engine_version)}",
                "Status": "in-sync",
            }
        ],
        "PubliclyAccessible": opts.publicly_accessible,
        "StorageType": "aurora" if cluster is not None else "gp2",
        "DbInstancePort": 0,
        "StorageEncrypted": s.storage_encrypted,
        "DbiResourceId": inst.resource_id,
        "CACertificateIdentifier": CA_IDENTIFIER,
        "DomainMemberships": [],
        "CopyTagsToSnapshot": s.copy_tags,
        "MonitoringInterval": 0,
        "DBInstanceArn": inst.arn,
        "IAMDatabaseAuthenticationEnabled": s.iam_auth,
        "PerformanceInsightsEnabled": False,
        "EnabledCloudwatchLogsExports": list(s.log_exports),
        "DeletionProtection": s.deletion_protection if cluster is None else False,
        "AssociatedRoles": [],
        "TagList": _tags(inst.tags),
        "CustomerOwnedIpEnabled": False,
        "BackupTarget": "region",
        "NetworkType": "IPV4",
        "CertificateDetails": {
            "CAIdentifier": CA_IDENTIFIER,
            "ValidTill": _valid_till(volume.tls_cert),
        },
        "DedicatedLogVolume": False,
    }
    if inst.status is not Status.CREATING:
        out["Endpoint"] = {
            "Address": endpoint_address(opts.publicly_accessible, host),
            "Port": volume.port,
            "HostedZoneId": HOSTED_ZONE,
        }
    if s.database_name:
        out["DBName"] = s.database_name
    if s.storage_encrypted and s.kms_key_id:
        out["KmsKeyId"] = s.kms_key_id
    if cluster is not None:
        out["DBClusterIdentifier"] = cluster.identifier
        out["PromotionTier"] = opts.promotion_tier
    return out
