"""Deletion, restoration and tags: DeleteSecret, RestoreSecret, TagResource, UntagResource.

DeleteSecret schedules deletion after a recovery window (7-30 days, default 30); until then
the secret answers ``InvalidRequestException`` to most calls and stays visible to
DescribeSecret, ListSecretVersionIds and ``ListSecrets(IncludePlannedDeletion)``. Once the
window has passed the secret is gone everywhere (its rows are purged when the name is reused).
``ForceDeleteWithoutRecovery`` deletes at once, and succeeds even for a secret that does not
exist. Secrets owned by another service cannot be deleted here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from warden.services.context import CallContext

from . import inputs
from . import repository as repo
from .core import SecretsBase, refuse_managed
from .errors import InvalidParameterException, ResourceNotFoundException, marked_for_deletion
from .names import parse_secret_id

DEFAULT_WINDOW_DAYS = 30
BOTH = "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
WINDOW = "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."


class SecretLifecycle(SecretsBase):
    def delete_secret(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        window = params.get("RecoveryWindowInDays")
        force = bool(params.get("ForceDeleteWithoutRecovery"))
        if force and window is not None:
            raise InvalidParameterException(message=BOTH)
        if window is not None and not 7 <= window <= 30:
            raise InvalidParameterException(message=WINDOW)
        with self.deps.store.begin() as conn:
            try:
                record = self.resolve(
                    conn, ctx, params["SecretId"], allow_deleted=True, for_update=True
                )
            except ResourceNotFoundException:
                if not force:
                    raise
                return _forced_absent(ctx, params["SecretId"])
            refuse_managed(record, "delete")
            if force:
                repo.delete(conn, record.arn)
                return {"ARN": record.arn, "Name": record.name, "DeletionDate": ctx.now}
            if record.scheduled_for_deletion:
                raise marked_for_deletion()
            deletion = ctx.now + timedelta(days=window or DEFAULT_WINDOW_DAYS)
            repo.update(
                conn, record.arn, deleted_at=ctx.now, deletion_at=deletion, last_changed_at=ctx.now
            )
        return {"ARN": record.arn, "Name": record.name, "DeletionDate": deletion}

    def restore_secret(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        with self.deps.store.begin() as conn:
            record = self.resolve(
                conn, ctx, params["SecretId"], allow_deleted=True, for_update=True
            )
            if record.scheduled_for_deletion:
                repo.update(
                    conn, record.arn, deleted_at=None, deletion_at=None, last_changed_at=ctx.now
                )
        return {"ARN": record.arn, "Name": record.name}

    def tag_resource(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        added = inputs.tags(params["Tags"])
        with self.deps.store.begin() as conn:
            record = self.resolve(conn, ctx, params["SecretId"], for_update=True)
            tags = inputs.merged_tags(record.tags or (), added)
            repo.update(conn, record.arn, tags=tags, last_changed_at=ctx.now)
        return {}

    def untag_resource(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        gone = set(params["TagKeys"])
        with self.deps.store.begin() as conn:
            record = self.resolve(conn, ctx, params["SecretId"], for_update=True)
            tags = tuple((k, v) for k, v in record.tags or () if k not in gone)
            repo.update(conn, record.arn, tags=tags, last_changed_at=ctx.now)
        return {}


def _forced_absent(ctx: CallContext, secret_id: str) -> dict[str, Any]:
    """Force-deleting a secret that does not exist succeeds, as AWS documents."""
    ref = parse_secret_id(secret_id, ctx.region, ctx.account_id)
    name = ref.name or secret_id
    arn = ref.arn or f"arn:aws:secretsmanager:{ctx.region}:{ctx.account_id}:secret:{name}"
    return {"ARN": arn, "Name": name, "DeletionDate": ctx.now}
