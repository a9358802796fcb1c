"""Making a new volume for CreateDBCluster or a standalone CreateDBInstance.

Everything slow or external happens before the writing transaction: the KMS key is resolved
(``StorageEncrypted``: the given key, else the account's AWS-managed ``aws/rds``), the
passwords are sealed, the server certificate is issued by warden's CA, a port is chosen. The
caller inserts the row and calls ``check_port`` again inside its transaction, so two
requests racing for one port cannot both get it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from warden.core.redacted import Redacted
from warden.engines.base import LOOPBACK
from warden.services.context import CallContext
from warden.services.ports import KeyUnavailable

from . import repository as repo
from .allocation import choose_port
from .core import MANAGED_KEY, Deps
from .errors import InvalidParameterCombination, InvalidParameterValue, KMSKeyNotAccessibleFault
from .model import DbSettings, Volume
from .secrets import Purpose, admin_password


@dataclass(frozen=True, slots=True)
class VolumeRequest:
    owner: str
    account_id: str
    region: str
    common_name: str
    master_username: str
    master_password: Redacted[str]
    port: int | None
    settings: DbSettings


def encryption(
    deps: Deps,
    ctx: CallContext,
    encrypted: bool | None,
    key_id: str | None,
) -> tuple[bool, str | None]:
    """(StorageEncrypted, key ARN): a KmsKeyId without StorageEncrypted is refused; the
    caller must be allowed to use the key through RDS (KMS decides, ``kms:CreateGrant``)."""
    if key_id and encrypted is False:
        raise InvalidParameterCombination(
            message="KmsKeyId can only be specified when StorageEncrypted is true."
        )
    if not encrypted and not key_id:
        return False, None
    try:
        arn = deps.data_keys.resolve_key(
            account_id=ctx.account_id,
            region=ctx.region,
            key_id=key_id or None,
            managed_alias=MANAGED_KEY,
            caller=ctx,
        )
    except KeyUnavailable as exc:
        raise KMSKeyNotAccessibleFault(
            message=f"The specified KMS key cannot be used: {exc.reason}"
        ) from None
    return True, arn


def _addresses(deps: Deps) -> tuple[str, ...]:
    return tuple(dict.fromkeys([LOOPBACK, *deps.specs.certificate_names()]))


def new_volume(deps: Deps, request: VolumeRequest) -> Volume:
    with deps.store.read() as conn:
        used = repo.used_ports(conn)
    port = choose_port(request.port, used, _addresses(deps))
    tls = deps.specs.ca.issue(request.common_name, deps.specs.certificate_names(), deps.clock.now())
    seal = deps.sealer.seal
    return Volume(
        owner=request.owner,
        port=port,
        master_username=request.master_username,
        master_password=seal(Purpose.MASTER, request.owner, request.master_password),
        admin_password=seal(Purpose.ADMIN, request.owner, admin_password()),
        tls_cert=tls.cert_pem.decode(),
        tls_key=seal(Purpose.TLS_KEY, request.owner, tls.key_pem),
        settings=request.settings.but(port_requested=request.port is not None),
    )


def check_port(conn: Connection, port: int, used: Collection[int] | None = None) -> None:
    """Inside the inserting transaction: no other volume took the port meanwhile."""
    if port in (used if used is not None else repo.used_ports(conn)):
        raise InvalidParameterValue(
            message=f"Port {port} is already in use on this host; choose another or leave "
            "Port unset."
        )
