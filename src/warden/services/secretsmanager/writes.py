"""Operations that create secrets and versions: CreateSecret, PutSecretValue, UpdateSecret,
UpdateSecretVersionStage. Secrets another service owns are created in ``managed`` and refused
here (``refuse_managed``).

Idempotency by ClientRequestToken (the token is the new VersionId): the same token with the
same value answers as the first call did and changes nothing; the same token with another
value is ``ResourceExistsException``. UpdateSecret never reuses a version id. Values are sealed
before the writing transaction opens (see ``core``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import sqlalchemy.exc

from warden.services.context import CallContext

from . import inputs
from . import repository as repo
from .core import SecretsBase, refuse_managed
from .envelope import DEFAULT_KEY_LABEL, SealedValue, SecretValue
from .errors import (
    MODIFY_VERSION,
    InvalidParameterException,
    InvalidRequestException,
    ResourceExistsException,
    too_long,
)
from .labels import CURRENT, Labels, move
from .model import SecretRecord
from .names import check_name, secret_arn, suffix_from

SCHEDULED = (
    "You can't create this secret because a secret with this name is already scheduled for "
    "deletion."
)
NO_VALUE = "You must provide either SecretString or SecretBinary."
NO_REPLICAS = "warden does not replicate secrets to other Regions or accounts."


class SecretWrites(SecretsBase):
    def create_secret(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        name = str(params["Name"])
        check_name(name)
        if params.get("AddReplicaRegions") or params.get("CrossAccountPrimaryARN"):
            raise InvalidRequestException(message=NO_REPLICAS)
        value = inputs.secret_value(params)
        token = inputs.client_token(params, required=value is not None)
        kms_key_id = inputs.bounded(params, "KmsKeyId", 2048) or None
        if kms_key_id is not None:
            self.deps.envelope.resolve_key(
                account_id=ctx.account_id, region=ctx.region, key_id=kms_key_id
            )
        record = self._new_record(
            ctx,
            name,
            description=inputs.bounded(params, "Description", 2048),
            kms_key_id=kms_key_id,
            secret_type=inputs.bounded(params, "Type", 256),
            tags=tuple(inputs.tags(params["Tags"])) if params.get("Tags") is not None else None,
        )
        with self.deps.store.read() as conn:
            existing = repo.name_taken(conn, ctx.account_id, ctx.region, name)
        if existing is not None and not _expired(existing, ctx):
            return self._existing(ctx, existing, token, value)
        sealed = None
        if value is not None and token is not None:
            sealed = self.seal(ctx, record, token, value)
        try:
            with self.deps.store.begin() as conn:
                repo.purge_expired_name(conn, ctx.account_id, ctx.region, name, ctx.now)
                repo.insert(conn, record)
                if sealed is not None and token is not None:
                    self.store_version(conn, record, token, sealed, None, ctx.now)
        except sqlalchemy.exc.IntegrityError:
            raise _exists(name) from None
        out: dict[str, Any] = {"ARN": record.arn, "Name": name}
        if token is not None and sealed is not None:
            out["VersionId"] = token
        return out

    def _new_record(self, ctx: CallContext, name: str, **fields: Any) -> SecretRecord:
        suffix = suffix_from(self.deps.ids.token_bytes(16))
        return SecretRecord(
            arn=secret_arn(self.deps.partition, ctx.region, ctx.account_id, name, suffix),
            account_id=ctx.account_id,
            region=ctx.region,
            name=name,
            created_at=ctx.now,
            last_changed_at=ctx.now,
            **fields,
        )

    def _existing(
        self,
        ctx: CallContext,
        existing: SecretRecord,
        token: str | None,
        value: SecretValue | None,
    ) -> dict[str, Any]:
        if existing.scheduled_for_deletion:
            raise InvalidRequestException(message=SCHEDULED)
        if token is None or value is None:
            raise _exists(existing.name)
        with self.deps.store.read() as conn:
            version = repo.version(conn, existing.arn, token)
        if version is None:
            raise _exists(existing.name)
        if not self.same_value_exists(ctx, existing, version, value):
            raise _exists(existing.name)
        return {"ARN": existing.arn, "Name": existing.name, "VersionId": token}

    def put_secret_value(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        value = inputs.secret_value(params)
        if value is None:
            raise InvalidParameterException(message=NO_VALUE)
        token = inputs.required_token(params)
        stages = inputs.version_stages(params)
        with self.deps.store.read() as conn:
            record = self.resolve(conn, ctx, params["SecretId"])
            refuse_managed(record, "update")
            version = repo.version(conn, record.arn, token)
        if self.same_value_exists(ctx, record, version, value):
            with self.deps.store.read() as conn:
                labels = repo.labels(conn, record.arn)
            return _put_answer(record, token, labels)
        sealed = self.seal(ctx, record, token, value)
        with self.deps.store.begin() as conn:
            record = self.relock(conn, ctx, record)
            labels = self.store_version(conn, record, token, sealed, stages, ctx.now)
        return _put_answer(record, token, labels)

    def update_secret(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        value = inputs.secret_value(params)
        token = inputs.client_token(params, required=value is not None)
        description = inputs.bounded(params, "Description", 2048)
        kms_key_id = inputs.bounded(params, "KmsKeyId", 2048)
        secret_type = inputs.bounded(params, "Type", 256)
        with self.deps.store.read() as conn:
            record = self.resolve(conn, ctx, params["SecretId"])
            refuse_managed(record, "update")
            if value is not None and token is not None and repo.version(conn, record.arn, token):
                raise ResourceExistsException(message=MODIFY_VERSION)
        new_key = record.kms_key_id if kms_key_id is None else (kms_key_id or None)
        if kms_key_id:
            self.deps.envelope.resolve_key(
                account_id=ctx.account_id, region=ctx.region, key_id=kms_key_id
            )
        rekeyed = record if new_key == record.kms_key_id else _with_key(record, new_key)
        resealed = self._reseal(ctx, record, rekeyed) if rekeyed is not record else {}
        sealed = None
        if value is not None and token is not None:
            sealed = self.seal(ctx, rekeyed, token, value)
        changes: dict[str, Any] = {"last_changed_at": ctx.now, "kms_key_id": new_key}
        if description is not None:
            changes["description"] = description
        if secret_type is not None:
            changes["secret_type"] = secret_type
        with self.deps.store.begin() as conn:
            self.relock(conn, ctx, record)
            for version_id, resealed_value in resealed.items():
                repo.set_value(conn, record.arn, version_id, resealed_value, _key_label(new_key))
            repo.update(conn, record.arn, **changes)
            if sealed is not None and token is not None:
                self.store_version(conn, rekeyed, token, sealed, None, ctx.now)
        out: dict[str, Any] = {"ARN": record.arn, "Name": record.name}
        if sealed is not None:
            out["VersionId"] = token
        return out

    def _reseal(
        self, ctx: CallContext, old: SecretRecord, new: SecretRecord
    ) -> dict[str, SealedValue]:
        """A new KmsKeyId re-encrypts the versions holding AWSCURRENT/AWSPENDING/AWSPREVIOUS."""
        with self.deps.store.read() as conn:
            labels = repo.labels(conn, old.arn)
            versions = {v.version_id: v for v in repo.versions(conn, old.arn)}
        out: dict[str, SealedValue] = {}
        for version_id in {labels.holder(s) for s in ("AWSCURRENT", "AWSPENDING", "AWSPREVIOUS")}:
            version = versions.get(version_id or "")
            if version is None or version.sealed is None:
                continue
            out[version.version_id] = self.seal(
                ctx, new, version.version_id, self.open(old, version, caller=ctx)
            )
        return out

    def update_secret_version_stage(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        stage = str(params["VersionStage"])
        if len(stage) > 256:
            raise too_long("versionStage", 256, stage)
        move_to, remove_from = params.get("MoveToVersionId"), params.get("RemoveFromVersionId")
        with self.deps.store.begin() as conn:
            record = self.resolve(conn, ctx, params["SecretId"], for_update=True)
            refuse_managed(record, "update")
            versions = {v.version_id: v for v in repo.versions(conn, record.arn)}
            if stage == CURRENT and move_to is not None:
                target = versions.get(move_to)
                if target is not None and target.sealed is None:
                    raise InvalidParameterException(
                        message=f"Version {move_to} has no secret value, so it can't be "
                        "labelled AWSCURRENT."
                    )
            before = repo.labels(conn, record.arn)
            after = move(before, stage, move_to=move_to, remove_from=remove_from, versions=versions)
            if after != before:
                repo.save_labels(conn, record.arn, before, after)
                self.drop_expired(conn, record.arn, after, ctx.now)
                repo.update(conn, record.arn, last_changed_at=ctx.now)
        return {"ARN": record.arn, "Name": record.name}


def _exists(name: str) -> ResourceExistsException:
    return ResourceExistsException(
        message=f"The operation failed because the secret {name} already exists."
    )


def _expired(record: SecretRecord, ctx: CallContext) -> bool:
    return record.deletion_at is not None and record.deletion_at <= ctx.now


def _put_answer(record: SecretRecord, version_id: str, labels: Labels) -> dict[str, Any]:
    return {
        "ARN": record.arn,
        "Name": record.name,
        "VersionId": version_id,
        "VersionStages": list(labels.on(version_id)),
    }


def _with_key(record: SecretRecord, kms_key_id: str | None) -> SecretRecord:
    return replace(record, kms_key_id=kms_key_id)


def _key_label(kms_key_id: str | None) -> str:
    return DEFAULT_KEY_LABEL if kms_key_id is None else kms_key_id
