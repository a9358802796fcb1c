"""DB clusters and instances as values: what the store keeps and the reconciler converges.

A *volume* is a PostgreSQL data directory and what belongs to it: port, master user,
warden's own admin password, TLS, and the RDS attributes of the data (``DbSettings``). An
Aurora cluster owns its volume (its cluster volume survives its instances, as in Aurora); a
standalone ``postgres`` instance owns its own. A ``Server`` is an instance together with the
volume it runs on: the unit the reconciler converges.

Invariants: secrets appear here only sealed (``bytes`` from ``Sealer``); every value is
immutable; identifiers are stored lower-case, as RDS stores them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from warden.core.ids import IdFactory

AURORA_POSTGRESQL = "aurora-postgresql"
POSTGRES = "postgres"
ENGINES = (AURORA_POSTGRESQL, POSTGRES)
HOSTED_ZONE = "Z2R2ITUGPM61AM"  # RDS's hosted zone id in us-east-1; shown, never used


class Status(StrEnum):
    CREATING = "creating"
    AVAILABLE = "available"
    MODIFYING = "modifying"
    RESETTING = "resetting-master-credentials"
    REBOOTING = "rebooting"
    STOPPING = "stopping"
    STOPPED = "stopped"
    STARTING = "starting"
    DELETING = "deleting"
    FAILED = "failed"
    BACKING_UP = "backing-up"  # a cluster while a snapshot of it is taken


class SourceType(StrEnum):
    CLUSTER = "db-cluster"
    INSTANCE = "db-instance"
    CLUSTER_SNAPSHOT = "db-cluster-snapshot"


def new_resource_id(ids: IdFactory, prefix: str) -> str:
    """``cluster-ABC…`` / ``db-ABC…``: the immutable id RDS gives each resource."""
    return prefix + base64.b32encode(ids.token_bytes(20)).decode()[:26]


def rds_arn(region: str, account_id: str, kind: str, identifier: str) -> str:
    return f"arn:aws:rds:{region}:{account_id}:{kind}:{identifier}"


def parameter_group_family(engine: str, major: int) -> str:
    return f"{engine}{major}"


@dataclass(frozen=True, slots=True)
class DbSettings:
    """The RDS attributes of a volume's data that need no SQL (stored as JSON)."""

    database_name: str | None = None
    security_groups: tuple[str, ...] = ()
    parameter_group: str = ""
    storage_encrypted: bool = False
    kms_key_id: str | None = None
    deletion_protection: bool = False
    backup_retention: int = 1
    backup_window: str = "07:00-07:30"
    maintenance_window: str = "sun:08:00-sun:08:30"
    copy_tags: bool = False
    iam_auth: bool = False
    log_exports: tuple[str, ...] = ()
    auto_minor: bool = True
    allocated_storage: int = 1
    port_requested: bool = False  # False: warden chose the port and may choose another

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DbSettings:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for name in ("security_groups", "log_exports"):
            if name in known:
                known[name] = tuple(known[name])
        return cls(**known)

    def but(self, **changes: Any) -> DbSettings:
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Volume:
    """A data directory and what belongs to it; ``owner`` is the cluster's or instance's
    resource id, which also names the directory."""

    owner: str
    port: int
    master_username: str
    master_password: bytes  # sealed
    admin_password: bytes  # sealed
    tls_cert: str
    tls_key: bytes  # sealed
    settings: DbSettings
    password_pending: bool = False
    password_drift: bool = False
    ready: bool = False


@dataclass(frozen=True, slots=True)
class InstanceOptions:
    """Instance-level attributes (stored as JSON)."""

    publicly_accessible: bool = True
    auto_minor: bool = True
    maintenance_window: str = "sun:08:00-sun:08:30"
    promotion_tier: int = 1
    availability_zone: str = ""
    parameter_group: str = ""  # a cluster member's DB parameter group ("": the default)

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InstanceOptions:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


Tags = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class MasterSecret:
    """The Secrets Manager secret RDS keeps a cluster's master password in
    (ManageMasterUserPassword). ``arn`` is None until the secret exists."""

    name: str  # rds!cluster-<uuid>
    kms_key_id: str  # the ARN of the KMS key that encrypts it
    arn: str | None = None


@dataclass(frozen=True, slots=True)
class Cluster:
    resource_id: str
    account_id: str
    region: str
    identifier: str
    arn: str
    engine: str
    engine_version: str
    status: Status
    volume: Volume
    created_at: datetime
    tags: Tags = ()
    master_secret: MasterSecret | None = None  # None: the master password is the user's

    def tag_map(self) -> dict[str, str]:
        return dict(self.tags)


@dataclass(frozen=True, slots=True)
class Instance:
    resource_id: str
    account_id: str
    region: str
    identifier: str
    arn: str
    cluster_id: str | None  # the cluster's resource id
    engine: str
    engine_version: str
    instance_class: str
    status: Status
    options: InstanceOptions
    created_at: datetime
    volume: Volume | None = None  # standalone instances only
    tags: Tags = ()

    def tag_map(self) -> dict[str, str]:
        return dict(self.tags)


@dataclass(frozen=True, slots=True)
class Server:
    """An instance and the volume it runs on (its cluster's, or its own)."""

    instance: Instance
    cluster: Cluster | None = field(default=None)

    @property
    def volume(self) -> Volume:
        if self.cluster is not None:
            return self.cluster.volume
        if self.instance.volume is None:  # pragma: no cover - the store guarantees one
            raise ValueError(f"instance {self.instance.identifier} has no volume")
        return self.instance.volume

    @property
    def owner_kind(self) -> SourceType:
        return SourceType.CLUSTER if self.cluster is not None else SourceType.INSTANCE

    @property
    def owner_identifier(self) -> str:
        return self.cluster.identifier if self.cluster is not None else self.instance.identifier

    @property
    def owner_arn(self) -> str:
        return self.cluster.arn if self.cluster is not None else self.instance.arn
