"""From the store's view of a server to the engine's ``InstanceSpec``, and back to endpoints.

A volume lives in ``<rds root>/volumes/<owner resource id>`` (the id, not the identifier, so
renaming never moves data). Its access rules are the ingress rules of its security groups
for its port (``SecurityGroups`` port, read at each call: a rule change reaches the next
spec); it listens on loopback only unless the instance is PubliclyAccessible, then also on
the server's host address, which is what its endpoint reports.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

from warden.core.redacted import Redacted
from warden.engines.base import (
    LOOPBACK,
    AccessRules,
    InstanceSpec,
    MasterUser,
    ParameterValues,
    TlsMaterial,
    listen_addresses,
)
from warden.services.ports import SecurityGroups

from .model import Cluster, Server, Volume
from .secrets import Purpose, Sealer

_WILDCARDS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 - names them, binds nothing


class CertificateAuthority(Protocol):
    """warden's CA (the data dir's), which issues each volume's server certificate."""

    def issue(self, common_name: str, names: Sequence[str], now: datetime) -> TlsMaterial: ...

    def ca_pem(self) -> bytes: ...


def endpoint_address(publicly_accessible: bool, host: str) -> str:
    """Where clients reach an instance: the host address when public, else loopback."""
    if not publicly_accessible or host in _WILDCARDS or host == "localhost":
        return LOOPBACK
    return listen_addresses(True, host)[-1]


class Specs:
    def __init__(
        self,
        root: Path,
        sealer: Sealer,
        groups: SecurityGroups,
        ca: CertificateAuthority,
        host: str,
    ) -> None:
        self.root = root
        self.sealer = sealer
        self.groups = groups
        self.ca = ca
        self.host = host

    def volume_root(self, owner: str) -> Path:
        return self.root / "volumes" / owner

    def certificate_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([LOOPBACK, endpoint_address(True, self.host)]))

    def access(self, account_id: str, region: str, volume: Volume) -> AccessRules:
        cidrs = self.groups.ingress_cidrs(
            account_id, region, volume.settings.security_groups, volume.port
        )
        return AccessRules.of(cidrs)

    def spec(self, server: Server, parameters: ParameterValues | None = None) -> InstanceSpec:
        """``parameters``: the values its server is to run with (``parameter_apply``);
        omitted where they do not matter (stopping, removing)."""
        volume, instance = server.volume, server.instance
        public = instance.options.publicly_accessible
        listen = listen_addresses(public, endpoint_address(public, self.host))
        key = self.sealer.open_bytes(Purpose.TLS_KEY, volume.owner, volume.tls_key)
        return InstanceSpec(
            instance_id=instance.identifier,
            root=self.volume_root(volume.owner),
            port=volume.port,
            admin_password=self.sealer.open_text(
                Purpose.ADMIN, volume.owner, volume.admin_password
            ),
            tls=TlsMaterial(volume.tls_cert.encode(), key, self.ca.ca_pem()),
            listen=listen,
            access=self.access(instance.account_id, instance.region, volume),
            parameters=parameters or ParameterValues(),
        )

    def maintenance(self, cluster: Cluster) -> InstanceSpec:
        """A cluster volume's server as warden runs it with no instance on it (to take or
        restore a snapshot): on loopback, admitting warden's admin and no one else."""
        volume = cluster.volume
        key = self.sealer.open_bytes(Purpose.TLS_KEY, volume.owner, volume.tls_key)
        return InstanceSpec(
            instance_id=cluster.identifier,
            root=self.volume_root(volume.owner),
            port=volume.port,
            admin_password=self.sealer.open_text(
                Purpose.ADMIN, volume.owner, volume.admin_password
            ),
            tls=TlsMaterial(volume.tls_cert.encode(), key, self.ca.ca_pem()),
            access=AccessRules(),
        )

    def master(self, volume: Volume) -> MasterUser:
        password = self.sealer.open_text(Purpose.MASTER, volume.owner, volume.master_password)
        return MasterUser(volume.master_username, password)

    def bare(self, root: Path) -> InstanceSpec:
        """A spec that names only a directory: enough to stop and remove what is in it."""
        return InstanceSpec(
            instance_id=root.name,
            root=root,
            port=0,
            admin_password=Redacted(secrets.token_urlsafe(16)),
            tls=TlsMaterial(b"", Redacted(b""), b""),
        )
