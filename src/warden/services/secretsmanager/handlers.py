"""The Secrets Manager service: the operations warden serves and their authz entries.

``build`` wires the operation classes over one ``Deps``: the store, the injected clock and ids,
envelope encryption through the ``DataKeys`` port (KMS), the durable job queue (rotation
hand-off, see ``rotation``) and the ``AccessCheck`` port BatchGetSecretValue uses to authorize
each secret it returns. Replication operations are not served (they answer NotImplemented).
"""

from __future__ import annotations

from warden.core.clock import Clock
from warden.core.ids import IdFactory
from warden.services.context import Handler, ServiceHandlers
from warden.services.ports import DataKeys
from warden.store.db import Store
from warden.store.jobs import JobQueue

from .authz import SecretLookup, build_authz
from .core import Deps
from .envelope import Envelope
from .lifecycle import SecretLifecycle
from .managed import OwnedSecrets
from .password import get_random_password
from .reads import AccessCheck, SecretReads
from .resource_policy import ResourcePolicies
from .rotation import Rotation
from .writes import SecretWrites


def deps_for(
    store: Store, clock: Clock, ids: IdFactory, data_keys: DataKeys, jobs: JobQueue | None = None
) -> Deps:
    return Deps(store, clock, ids, Envelope(data_keys), jobs or JobQueue(store, clock, ids))


def service_secrets(
    store: Store, clock: Clock, ids: IdFactory, data_keys: DataKeys, jobs: JobQueue | None = None
) -> OwnedSecrets:
    """``ports.ServiceSecrets`` for the services that own secrets here (RDS)."""
    return OwnedSecrets(deps_for(store, clock, ids, data_keys, jobs))


def build(
    store: Store,
    clock: Clock,
    ids: IdFactory,
    data_keys: DataKeys,
    access: AccessCheck,
    jobs: JobQueue | None = None,
) -> ServiceHandlers:
    deps = deps_for(store, clock, ids, data_keys, jobs)
    writes = SecretWrites(deps)
    lookup = SecretLookup(store, clock)
    reads = SecretReads(deps, access, lookup)
    lifecycle = SecretLifecycle(deps)
    policies = ResourcePolicies(deps)
    rotation = Rotation(deps)
    handlers: dict[str, Handler] = {
        "CreateSecret": writes.create_secret,
        "PutSecretValue": writes.put_secret_value,
        "UpdateSecret": writes.update_secret,
        "UpdateSecretVersionStage": writes.update_secret_version_stage,
        "GetSecretValue": reads.get_secret_value,
        "BatchGetSecretValue": reads.batch_get_secret_value,
        "DescribeSecret": reads.describe_secret,
        "ListSecrets": reads.list_secrets,
        "ListSecretVersionIds": reads.list_secret_version_ids,
        "DeleteSecret": lifecycle.delete_secret,
        "RestoreSecret": lifecycle.restore_secret,
        "TagResource": lifecycle.tag_resource,
        "UntagResource": lifecycle.untag_resource,
        "PutResourcePolicy": policies.put_resource_policy,
        "GetResourcePolicy": policies.get_resource_policy,
        "DeleteResourcePolicy": policies.delete_resource_policy,
        "ValidateResourcePolicy": policies.validate_resource_policy,
        "GetRandomPassword": get_random_password,
        "RotateSecret": rotation.rotate_secret,
        "CancelRotateSecret": rotation.cancel_rotate_secret,
    }
    authz = build_authz(lookup)
    return ServiceHandlers(name="secretsmanager", handlers=handlers, authz=authz)
