"""Operations that read secrets: GetSecretValue, BatchGetSecretValue, DescribeSecret,
ListSecrets, ListSecretVersionIds.

GetSecretValue picks a version by VersionId and/or VersionStage (default ``AWSCURRENT``);
both must name the same version. A version without a value (a rotation's placeholder) is
"not found", as the rotation templates expect. Reading records the access date (date
resolution); that write happens only when the date changes, in its own short transaction.

BatchGetSecretValue authorizes ``secretsmanager:GetSecretValue`` per secret through the
``AccessCheck`` port (identity and resource policies, as for a single call) and reports each
refusal or failure in ``Errors`` instead of failing the whole call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy.engine import Connection

from warden.core.errors import AwsError
from warden.policy import ContextValue
from warden.protocol.errors import AccessDeniedException
from warden.services.context import CallContext, Scope

from . import inputs
from . import repository as repo
from .core import Deps, SecretsBase, day_of
from .errors import (
    STAGE_MISMATCH,
    InvalidParameterException,
    InvalidRequestException,
    value_not_found,
)
from .filters import matching, sort_secrets
from .labels import CURRENT, Labels
from .model import SecretRecord, VersionRecord
from .touches import Touches
from .views import secret_view, version_view


class AccessCheck(Protocol):
    def __call__(
        self,
        ctx: CallContext,
        action: str,
        resource: str,
        *,
        resource_tags: Mapping[str, str],
        resource_policies: Sequence[tuple[str, str]],
        condition_keys: Mapping[str, ContextValue],
    ) -> str | None:
        """None when the caller may perform ``action`` on ``resource``; else the
        AccessDenied message AWS would answer."""
        ...


def secret_keys(record: SecretRecord) -> dict[str, ContextValue]:
    """The resource condition keys of a secret (Service Authorization Reference)."""
    keys: dict[str, ContextValue] = {
        "secretsmanager:SecretId": record.arn,
        "secretsmanager:SecretPrimaryRegion": record.region,
    }
    if record.rotation_lambda_arn:
        keys["secretsmanager:resource/AllowRotationLambdaArn"] = record.rotation_lambda_arn
    if record.secret_type:
        keys["secretsmanager:resource/Type"] = record.secret_type
    for key, value in record.tag_map().items():
        keys[f"secretsmanager:ResourceTag/{key}"] = value
    return keys


def policies_of(record: SecretRecord) -> tuple[tuple[str, str], ...]:
    return ((record.arn, record.resource_policy),) if record.resource_policy else ()


class RecordLookup(Protocol):
    """The secret a request's params name, as the authorizer read it (``authz.SecretLookup``)."""

    def record(self, scope: Scope, params: Mapping[str, Any]) -> SecretRecord | None: ...


class SecretReads(SecretsBase):
    def __init__(self, deps: Deps, access: AccessCheck, lookup: RecordLookup) -> None:
        super().__init__(deps)
        self._access = access
        self._lookup = lookup
        self._touches = Touches(deps.store)

    def get_secret_value(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        # The secret the authorizer read for this very request (the lookup's memo): the one
        # the decision was about, and one read fewer on the busiest call.
        scope = Scope(ctx.account_id, ctx.region, ctx.principal.arn)
        record = self.served(ctx, self._lookup.record(scope, params))
        with self.deps.store.read() as conn:
            labels = repo.labels(conn, record.arn)
            version = _select(
                conn, record, labels, params.get("VersionId"), params.get("VersionStage")
            )
        out = self._value(ctx, record, labels, version)
        self._touch(ctx, [(record, version)])
        return out

    def _value(
        self, ctx: CallContext, record: SecretRecord, labels: Labels, version: VersionRecord
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ARN": record.arn,
            "Name": record.name,
            "VersionId": version.version_id,
            **self.open(record, version, caller=ctx).wire(),
            "VersionStages": list(labels.on(version.version_id)),
            "CreatedDate": version.created_at,
        }
        return out

    def _touch(self, ctx: CallContext, read: Sequence[tuple[SecretRecord, VersionRecord]]) -> None:
        today = day_of(ctx.now)
        stale = [
            (record, version)
            for record, version in read
            if record.last_accessed_at is None
            or record.last_accessed_at < today
            or version.last_accessed_at is None
            or version.last_accessed_at < today
        ]
        if stale:
            self._touches.submit(today, [(r.arn, v.version_id) for r, v in stale])

    def batch_get_secret_value(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        ids, filters = params.get("SecretIdList"), params.get("Filters")
        if (ids is None) == (filters is None):
            raise InvalidParameterException(
                message="Either 'SecretIdList' or 'Filters' must be provided, but not both."
            )
        if params.get("MaxResults") is not None and filters is None:
            raise InvalidParameterException(
                message="'Filters' not specified. 'Filters' must also be specified when "
                "'MaxResults' is provided."
            )
        inputs.max_results(params, 20)
        members: dict[str, Any] = {}
        if filters is not None:
            denied = self._access(
                ctx,
                "secretsmanager:ListSecrets",
                "*",
                resource_tags={},
                resource_policies=(),
                condition_keys={},
            )
            if denied is not None:
                raise AccessDeniedException(message=denied)
            with self.deps.store.read() as conn:
                found = repo.list_live(conn, ctx.account_id, ctx.region, ctx.now)
            chosen = sorted(
                (r for r in matching(found, filters) if not r.scheduled_for_deletion),
                key=lambda r: (r.created_at, r.arn),
            )
            page, members = ctx.page(chosen, default_page=20)
            ids = [r.arn for r in page]
        values: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        read: list[tuple[SecretRecord, VersionRecord]] = []
        for secret_id in ids or []:
            try:
                record, labels, version = self._batch_one(ctx, str(secret_id))
                values.append(self._value(ctx, record, labels, version))
                read.append((record, version))
            except AwsError as exc:
                errors.append(
                    {"SecretId": secret_id, "ErrorCode": exc.wire_name, "Message": exc.message}
                )
        self._touch(ctx, read)
        return {"SecretValues": values, "Errors": errors, **members}

    def _batch_one(
        self, ctx: CallContext, secret_id: str
    ) -> tuple[SecretRecord, Labels, VersionRecord]:
        with self.deps.store.read() as conn:
            record = self.resolve(conn, ctx, secret_id)
            labels = repo.labels(conn, record.arn)
            denied = self._access(
                ctx,
                "secretsmanager:GetSecretValue",
                record.arn,
                resource_tags=record.tag_map(),
                resource_policies=policies_of(record),
                condition_keys=secret_keys(record),
            )
            if denied is not None:
                raise AccessDeniedException(message=denied)
            version = _select(conn, record, labels, None, None)
        return record, labels, version

    def describe_secret(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        self._touches.flush()  # LastAccessedDate includes the caller's own reads
        with self.deps.store.read() as conn:
            record = self.resolve(conn, ctx, params["SecretId"], allow_deleted=True)
            labels = repo.labels(conn, record.arn)
        return secret_view(record, labels)

    def list_secrets(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        self._touches.flush()
        inputs.max_results(params, 100)
        with self.deps.store.read() as conn:
            found = repo.list_live(conn, ctx.account_id, ctx.region, ctx.now)
        if not params.get("IncludePlannedDeletion"):
            found = [r for r in found if not r.scheduled_for_deletion]
        chosen = sort_secrets(
            matching(found, params.get("Filters")), params.get("SortBy"), params.get("SortOrder")
        )
        page, members = ctx.page(chosen)
        with self.deps.store.read() as conn:
            labels = repo.labels_for(conn, [r.arn for r in page])
        entries = [secret_view(r, labels.get(r.arn, Labels()), listing=True) for r in page]
        return {"SecretList": entries, **members}

    def list_secret_version_ids(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        inputs.max_results(params, 100)
        self._touches.flush()
        with self.deps.store.read() as conn:
            record = self.resolve(conn, ctx, params["SecretId"], allow_deleted=True)
            labels = repo.labels(conn, record.arn)
            versions = repo.versions(conn, record.arn)
        if not params.get("IncludeDeprecated"):
            versions = [v for v in versions if labels.on(v.version_id)]
        page, members = ctx.page(versions)
        return {
            "Versions": [version_view(v, labels) for v in page],
            "ARN": record.arn,
            "Name": record.name,
            **members,
        }


def _select(
    conn: Connection,
    record: SecretRecord,
    labels: Labels,
    version_id: str | None,
    stage: str | None,
) -> VersionRecord:
    if version_id is not None:
        version = repo.version(conn, record.arn, version_id)
        if version is None or version.sealed is None:
            raise value_not_found(version_id=version_id, stage=None)
        if stage is not None and stage not in labels.on(version_id):
            raise InvalidRequestException(message=STAGE_MISMATCH)
        return version
    wanted = stage or CURRENT
    holder = labels.holder(wanted)
    version = None if holder is None else repo.version(conn, record.arn, holder)
    if version is None or version.sealed is None:
        raise value_not_found(version_id=None, stage=wanted)
    return version
