"""RDS-managed master passwords (ManageMasterUserPassword) of DB clusters: the secret in
Secrets Manager (``ports.ServiceSecrets``) that holds a cluster's master password.

RDS generates the password and keeps it sealed on the cluster like any master password (the
reconciler applies it and watches for drift), and the same password in the secret
``rds!cluster-<uuid>`` (``{"username", "password"}``, OwningService ``rds``, rotated every 7
days). Users read it from Secrets Manager; only RDS changes it: a rotation sets the
cluster's password (``master_rotation``) before the new value becomes AWSCURRENT.

Crash safety: the cluster row names its secret before the secret exists (the write-ahead
record); the secret is created from the row's sealed password, then its ARN recorded. The
reconciler finishes what a crash interrupted (``converge``). A secret is deleted only after
the row stopped naming it; ``sweep`` (at the reconciler's first tick) deletes one that a
crash left behind.

SecretStatus: ``creating`` until the secret exists and the cluster has finished creating or
applying the password; ``rotating`` while Secrets Manager rotates it; ``impaired`` when the
secret is gone or its last rotation failed for good; else ``active``.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from warden.core.redacted import Redacted
from warden.services.context import CallContext
from warden.services.ports import (
    KeyUnavailable,
    RotationInProgress,
    ServiceSecret,
    ServiceSecretError,
    ServiceSecrets,
    ServiceSecretState,
)
from warden.store.schema import rds_clusters as clusters_t

from . import repository as repo
from .core import Deps
from .errors import (
    InvalidDBClusterStateFault,
    InvalidParameterCombination,
    KMSKeyNotAccessibleFault,
)
from .model import Cluster, MasterSecret, Status
from .secrets import Purpose, generated_master_password

log = logging.getLogger("warden.rds")

OWNER = "rds"
NAME_PREFIX = "rds!cluster-"
ROTATION_DAYS = 7
SECRETS_KEY = "alias/aws/secretsmanager"
SECRET_KEY_USES = ("kms:GenerateDataKey", "kms:Decrypt")
MANAGED_MEMBERS = frozenset({"ManageMasterUserPassword", "RotateMasterUserPassword"})
BOTH = "You can't specify MasterUserPassword when ManageMasterUserPassword is turned on."
UNMANAGED_WITHOUT_VALUE = (
    "MasterUserPassword must be provided when ManageMasterUserPassword is set to false."
)
KEY_WITHOUT_MANAGE = (
    "MasterUserSecretKmsKeyId can be specified only when ManageMasterUserPassword is turned on."
)
KEY_FIXED = (
    "You can't change the KMS key of the secret RDS manages for the master user password: "
    "turn ManageMasterUserPassword off, then on again with the new MasterUserSecretKmsKeyId."
)
ROTATE_UNMANAGED = (
    "RotateMasterUserPassword is valid only if the master user password is managed by RDS in "
    "Secrets Manager for the DB cluster."
)
ROTATE_LATER = "You must specify ApplyImmediately when rotating the master user password."
_CREATING = {Status.CREATING, Status.RESETTING}


@dataclass(frozen=True)
class ModifyPlan:
    """What a ModifyDBCluster request does to the managed master password."""

    columns: dict[str, Any] = field(default_factory=dict)  # cluster columns to write
    generated: Redacted[str] | None = None  # management turned on: RDS's new password
    created: MasterSecret | None = None  # the secret to create once the row names it
    retired: MasterSecret | None = None  # the secret to delete once the row forgot it
    rotate: bool = False


class MasterSecrets:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @property
    def _port(self) -> ServiceSecrets:
        if self.deps.secrets is None:  # pragma: no cover - unsupported() refused the request
            raise RuntimeError("Secrets Manager is not wired to RDS")
        return self.deps.secrets

    def unsupported(self, table: Mapping[str, str]) -> dict[str, str]:
        """``table`` of members warden refuses, without those served here (when wired)."""
        if self.deps.secrets is None:
            return dict(table)
        return {k: v for k, v in table.items() if k not in MANAGED_MEMBERS}

    # -- create --------------------------------------------------------------------------

    def for_create(self, ctx: CallContext, params: Mapping[str, Any]) -> MasterSecret | None:
        """The secret a CreateDBCluster request asks RDS to manage (None: it gives the
        password itself), its parameters checked and its KMS key resolved."""
        key = params.get("MasterUserSecretKmsKeyId")
        if not params.get("ManageMasterUserPassword"):
            if key:
                raise InvalidParameterCombination(message=KEY_WITHOUT_MANAGE)
            return None
        if params.get("MasterUserPassword") is not None:
            raise InvalidParameterCombination(message=BOTH)
        return self._new_secret(ctx, key)

    def _new_secret(self, ctx: CallContext, key_id: Any) -> MasterSecret:
        """The secret's name and key. Secrets Manager will use the key for the caller, who
        must be allowed to (as in AWS: kms:GenerateDataKey and kms:Decrypt through it)."""
        try:
            key_arn = self.deps.data_keys.resolve_key(
                account_id=ctx.account_id,
                region=ctx.region,
                key_id=str(key_id) if key_id else None,
                managed_alias=SECRETS_KEY,
                caller=ctx,
                uses=SECRET_KEY_USES,
                via="secretsmanager",
            )
        except KeyUnavailable as exc:
            raise KMSKeyNotAccessibleFault(
                message=f"The specified KMS key cannot be used: {exc.reason}"
            ) from None
        name = NAME_PREFIX + str(uuid.UUID(bytes=self.deps.ids.token_bytes(16), version=4))
        return MasterSecret(name=name, kms_key_id=key_arn)

    def attach(self, cluster: Cluster, password: Redacted[str]) -> None:
        """Create the secret the (committed) cluster row names; on failure the reconciler
        tries again (``converge``)."""
        try:
            self._create(cluster, password)
        except ServiceSecretError as exc:
            log.warning("creating the master secret of %s failed: %s", cluster.arn, exc.reason)

    def _create(self, cluster: Cluster, password: Redacted[str]) -> None:
        secret = cluster.master_secret
        if secret is None or secret.arn is not None:
            return
        arn = self._port.ensure(self._secret_spec(cluster, secret, password))
        with self.deps.store.begin() as conn:
            conn.execute(
                sa.update(clusters_t)
                .where(
                    clusters_t.c.resource_id == cluster.resource_id,
                    clusters_t.c.master_secret_name == secret.name,
                )
                .values(master_secret_arn=arn)
            )

    def _secret_spec(
        self, cluster: Cluster, secret: MasterSecret, password: Redacted[str]
    ) -> ServiceSecret:
        value = {"username": cluster.volume.master_username, "password": password.reveal()}
        return ServiceSecret(
            account_id=cluster.account_id,
            region=cluster.region,
            name=secret.name,
            owning_service=OWNER,
            value=Redacted(json.dumps(value)),
            kms_key_id=secret.kms_key_id,
            description=f"Secret associated with primary RDS DB cluster: {cluster.arn}",
            tags=(("aws:rds:primaryDBClusterArn", cluster.arn),),
            rotation_days=ROTATION_DAYS,
        )

    # -- modify --------------------------------------------------------------------------

    def for_modify(
        self, ctx: CallContext, params: Mapping[str, Any], current: Cluster
    ) -> ModifyPlan:
        """Check a ModifyDBCluster request's password members against the cluster."""
        manage = params.get("ManageMasterUserPassword")
        password = params.get("MasterUserPassword") is not None
        key = params.get("MasterUserSecretKmsKeyId")
        managed = current.master_secret is not None
        if manage is True and password:
            raise InvalidParameterCombination(message=BOTH)
        if manage is False and not password:
            raise InvalidParameterCombination(message=UNMANAGED_WITHOUT_VALUE)
        if password and managed and manage is not False:
            raise InvalidParameterCombination(message=BOTH)
        if key and (managed or manage is not True):
            raise InvalidParameterCombination(message=KEY_FIXED if managed else KEY_WITHOUT_MANAGE)
        rotate = bool(params.get("RotateMasterUserPassword"))
        if rotate and (not managed or manage is False):
            raise InvalidParameterCombination(message=ROTATE_UNMANAGED)
        if rotate and not params.get("ApplyImmediately"):
            raise InvalidParameterCombination(message=ROTATE_LATER)
        if manage is True and not managed:
            created = self._new_secret(ctx, key)
            return ModifyPlan(
                columns=repo.master_secret_values(created),
                generated=generated_master_password(),
                created=created,
            )
        if manage is False and managed:
            return ModifyPlan(
                columns=repo.master_secret_values(None), retired=current.master_secret
            )
        return ModifyPlan(rotate=rotate)

    def rotate(self, cluster: Cluster) -> None:
        """RotateMasterUserPassword: Secrets Manager rotates the secret now."""
        secret = cluster.master_secret
        if secret is None or secret.arn is None:
            raise InvalidDBClusterStateFault(
                message=f"The master user secret of DB cluster {cluster.identifier} is still "
                "being created."
            )
        try:
            self._port.rotate(cluster.account_id, cluster.region, secret.arn)
        except RotationInProgress:
            raise InvalidDBClusterStateFault(
                message=f"The master user secret of DB cluster {cluster.identifier} is "
                "already being rotated."
            ) from None
        except ServiceSecretError as exc:
            raise InvalidDBClusterStateFault(message=exc.reason) from None

    def finish_modify(self, cluster: Cluster, plan: ModifyPlan) -> None:
        """After the row is written: create the new secret, delete the retired one."""
        if plan.created is not None and plan.generated is not None:
            self.attach(cluster, plan.generated)
        if plan.retired is not None:
            self.release(cluster.account_id, cluster.region, plan.retired)

    # -- describe ------------------------------------------------------------------------

    def view(self, cluster: Cluster) -> dict[str, Any]:
        """The ``MasterUserSecret`` member of a cluster's description (empty: unmanaged)."""
        secret = cluster.master_secret
        if secret is None:
            return {}
        out: dict[str, Any] = {"SecretStatus": self._status(cluster, secret)}
        if secret.arn is not None:
            out["SecretArn"] = secret.arn
        out["KmsKeyId"] = secret.kms_key_id
        return {"MasterUserSecret": out}

    def _status(self, cluster: Cluster, secret: MasterSecret) -> str:
        if secret.arn is None or self.deps.secrets is None:
            return "creating"
        state = self.deps.secrets.state(cluster.account_id, cluster.region, secret.arn)
        if state is ServiceSecretState.ABSENT:
            return "impaired"
        if state is not ServiceSecretState.ACTIVE:
            return state.value
        return "creating" if cluster.status in _CREATING else "active"

    # -- the reconciler's part -----------------------------------------------------------

    def converge(self, cluster: Cluster) -> bool:
        """Create the secret a crash left unmade (the row names it, no ARN recorded);
        ``ServiceSecretError`` when Secrets Manager refuses (the reconciler backs off)."""
        secret = cluster.master_secret
        if secret is None or secret.arn is not None or self.deps.secrets is None:
            return False
        if cluster.status is Status.DELETING:
            return False
        password = self.deps.sealer.open_text(
            Purpose.MASTER, cluster.resource_id, cluster.volume.master_password
        )
        self._create(cluster, password)
        return True

    def release(self, account_id: str, region: str, secret: MasterSecret | None) -> None:
        """Delete a secret no cluster names any more (a crash before: ``sweep``)."""
        if secret is None or secret.arn is None or self.deps.secrets is None:
            return
        try:
            self.deps.secrets.delete(account_id, region, secret.arn)
        except ServiceSecretError as exc:
            log.warning("deleting master secret %s failed: %s", secret.arn, exc.reason)

    def sweep(self) -> None:
        """Delete the ``rds!cluster-…`` secrets no cluster names (a crash between a
        cluster's row and its secret). Secrets are listed before clusters: a cluster
        names its secret before the secret exists, so a new one is never taken."""
        if self.deps.secrets is None:
            return
        owned = self.deps.secrets.owned(OWNER)
        with self.deps.store.read() as conn:
            named = {
                (c.account_id, c.region, c.master_secret.name)
                for c in repo.clusters(conn)
                if c.master_secret is not None
            }
        for account_id, region, name, arn in owned:
            if name.startswith(NAME_PREFIX) and (account_id, region, name) not in named:
                log.warning("deleting master secret %s: no DB cluster names it", arn)
                self.release(account_id, region, MasterSecret(name, "", arn))
