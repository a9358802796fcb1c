"""The DB cluster snapshot operations: Create/Describe/Delete/Copy DBClusterSnapshot and
Modify/Describe DBClusterSnapshotAttributes (RestoreDBClusterFromSnapshot: ``restores``).

As RDS does, the API records the snapshot (``creating``, or ``copying`` for a copy; the
cluster turns ``backing-up``) and answers at once; the snapshot worker reads the data and
writes the sealed file, and the snapshot becomes ``available``. Only manual snapshots are
deleted or shared through the API; automated ones come and go with the backup schedule.
An encrypted snapshot is shared only with named accounts, never made public, and not at
all while its key is the account's AWS-managed ``aws/rds`` key (as in AWS).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy.engine import Connection

from warden.core.arn import Arn
from warden.services.context import CallContext, Handler

from . import inputs
from . import snapshot_repository as snaps
from .core import Deps, find_cluster
from .errors import (
    InvalidDBClusterSnapshotStateFault,
    InvalidParameterCombination,
    InvalidParameterValue,
    SharedSnapshotQuotaExceededFault,
    cluster_state,
    not_supported,
    snapshot_exists,
    snapshot_not_found,
)
from .model import Status, new_resource_id, rds_arn
from .snapshot_capture import (
    SNAPSHOT_ID_PREFIX,
    begin_snapshot,
    capture,
    cluster_tags,
    open_master,
    record,
    seal_master,
)
from .snapshot_files import SnapshotFiles
from .snapshot_keys import SnapshotKeys
from .snapshot_repository import PUBLIC, Snapshot, SnapshotStatus, SnapshotType
from .snapshot_views import attributes_view, snapshot_type_of, snapshot_view, visible
from .volumes import encryption

MAX_SHARED_ACCOUNTS = 20
_FILTERS = ("db-cluster-id", "db-cluster-snapshot-id", "snapshot-type", "engine")
_ACCOUNT_DIGITS = 12


def find_snapshot(conn: Connection, ctx: CallContext, reference: Any) -> Snapshot:
    """The caller's snapshot named by identifier or ARN, or another account's named by its
    ARN and shared with the caller (or public)."""
    text = str(reference)
    if text.startswith("arn:"):
        ident = inputs.reference(text, "cluster-snapshot")
        arn = Arn.parse(text)
        found = snaps.by_arn(conn, rds_arn(arn.region, arn.account, "cluster-snapshot", ident))
        mine_or_shared = found is not None and (
            found.account_id == ctx.account_id or found.shared_with(ctx.account_id)
        )
        if found is not None and mine_or_shared and found.region == ctx.region:
            return _authorized(ctx, found, ident)
        raise snapshot_not_found(ident)
    return _authorized(
        ctx, snaps.find(conn, ctx.account_id, ctx.region, text.lower()), text.lower()
    )


def _authorized(ctx: CallContext, found: Snapshot | None, ident: str) -> Snapshot:
    """``found``, if it is the snapshot the call was authorized on (an ARN naming another
    account's snapshot of the same name never reaches the caller's own)."""
    if found is None or not ctx.authorized_for(found.arn):
        raise snapshot_not_found(ident)
    return found


def _account_values(values: Any) -> list[str]:
    out = []
    for value in values or []:
        text = str(value)
        if text != PUBLIC and not (len(text) == _ACCOUNT_DIGITS and text.isdigit()):
            raise InvalidParameterValue(
                message=f"Invalid value {text}: each value must be an AWS account ID or all."
            )
        out.append(text)
    return out


def _matches(snap: Snapshot, viewer: str, wanted: Mapping[str, set[str]]) -> bool:
    cluster_arn = rds_arn(snap.region, snap.account_id, "cluster", snap.cluster_identifier)
    fields = {
        "db-cluster-id": {snap.cluster_identifier, cluster_arn},
        "db-cluster-snapshot-id": {snap.identifier, snap.arn},
        "snapshot-type": {snapshot_type_of(snap, viewer)},
        "engine": {snap.engine},
    }
    return all(fields[name] & values for name, values in wanted.items())


class SnapshotOps:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.keys = SnapshotKeys(deps)
        self.files = SnapshotFiles(deps.specs.root)

    def handlers(self) -> dict[str, Handler]:
        return {
            "CreateDBClusterSnapshot": self.create_db_cluster_snapshot,
            "DescribeDBClusterSnapshots": self.describe_db_cluster_snapshots,
            "DeleteDBClusterSnapshot": self.delete_db_cluster_snapshot,
            "CopyDBClusterSnapshot": self.copy_db_cluster_snapshot,
            "ModifyDBClusterSnapshotAttribute": self.modify_db_cluster_snapshot_attribute,
            "DescribeDBClusterSnapshotAttributes": self.describe_db_cluster_snapshot_attributes,
        }

    # -- create and describe -----------------------------------------------------------

    def create_db_cluster_snapshot(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        ident = inputs.identifier(
            params["DBClusterSnapshotIdentifier"], "DBClusterSnapshotIdentifier"
        )
        cluster_ident = inputs.reference(params["DBClusterIdentifier"], "cluster")
        tags = inputs.tags(params.get("Tags"))
        with self.deps.store.read() as conn:
            cluster = find_cluster(conn, ctx, cluster_ident)
            if snaps.find(conn, ctx.account_id, ctx.region, ident) is not None:
                raise snapshot_exists(ident)
        if cluster.status is not Status.AVAILABLE:
            raise cluster_state(cluster_ident, cluster.status.value)
        snap = capture(
            self.deps, cluster, ident, SnapshotType.MANUAL, ctx.now, cluster_tags(cluster, tags)
        )
        with self.deps.store.begin() as conn:
            begin_snapshot(conn, self.deps.ids, snap, Status.AVAILABLE)
        return {"DBClusterSnapshot": snapshot_view(snap, ctx.account_id)}

    def describe_db_cluster_snapshots(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        inputs.max_records(params)
        wanted = inputs.filters(params, _FILTERS)
        ident, cluster = (
            params.get("DBClusterSnapshotIdentifier"),
            params.get("DBClusterIdentifier"),
        )
        if ident and cluster:
            raise InvalidParameterCombination(
                message="DBClusterIdentifier and DBClusterSnapshotIdentifier cannot both be "
                "specified."
            )
        kind = params.get("SnapshotType") or None
        with self.deps.store.read() as conn:
            if ident:
                named = find_snapshot(conn, ctx, ident)
                own = [named] if named.account_id == ctx.account_id else []
                others = [] if own else [named]
                shared, public = True, True
            else:
                own = snaps.listed(conn, ctx.account_id, ctx.region)
                others = snaps.others_in(conn, ctx.account_id, ctx.region)
                shared = bool(params.get("IncludeShared"))
                public = bool(params.get("IncludePublic"))
        chosen = visible(
            own, others, ctx.account_id, kind, include_shared=shared, include_public=public
        )
        if cluster:
            name = inputs.reference(cluster, "cluster")
            chosen = [s for s in chosen if s.cluster_identifier == name]
        if params.get("DbClusterResourceId"):
            chosen = [s for s in chosen if s.cluster_resource_id == params["DbClusterResourceId"]]
        chosen = [s for s in chosen if _matches(s, ctx.account_id, wanted)]
        page, more = ctx.page(chosen)
        return {
            "DBClusterSnapshots": [snapshot_view(s, ctx.account_id) for s in page],
            **more,
        }

    # -- delete and copy ---------------------------------------------------------------

    def delete_db_cluster_snapshot(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        ident = inputs.reference(params["DBClusterSnapshotIdentifier"], "cluster-snapshot")
        with self.deps.store.begin() as conn:
            snap = _authorized(ctx, snaps.find(conn, ctx.account_id, ctx.region, ident), ident)
            if snap.snapshot_type is SnapshotType.AUTOMATED:
                raise InvalidDBClusterSnapshotStateFault(
                    message="Only manual snapshots may be deleted."
                )
            if snap.status in snaps.BUSY or snaps.in_use(conn, snap.snapshot_id):
                raise InvalidDBClusterSnapshotStateFault(
                    message=f"Cannot delete the snapshot {ident} while it is being created, "
                    "copied or restored from."
                )
            snaps.delete(conn, snap.snapshot_id)
            record(conn, self.deps.ids, snap, "Deleted manual cluster snapshot",
                   ("deletion",), ctx.now)  # fmt: skip
        self.files.remove(snap.snapshot_id)
        return {"DBClusterSnapshot": snapshot_view(snap, ctx.account_id)}

    def copy_db_cluster_snapshot(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        deps = self.deps
        target = inputs.identifier(
            params["TargetDBClusterSnapshotIdentifier"], "TargetDBClusterSnapshotIdentifier"
        )
        tags = inputs.tags(params.get("Tags"))
        if params.get("PreSignedUrl"):
            raise not_supported("Copying a DB cluster snapshot across Regions (PreSignedUrl)")
        self._same_region(ctx, params["SourceDBClusterSnapshotIdentifier"])
        with deps.store.read() as conn:
            source = find_snapshot(conn, ctx, params["SourceDBClusterSnapshotIdentifier"])
            if snaps.find(conn, ctx.account_id, ctx.region, target) is not None:
                raise snapshot_exists(target)
        if source.status is not SnapshotStatus.AVAILABLE:
            raise InvalidDBClusterSnapshotStateFault(
                message=f"DBClusterSnapshot {source.identifier} is not in the available state."
            )
        key = self._copy_key(ctx, params.get("KmsKeyId"), source)
        if key is not None:  # the caller must be allowed the copy's key through RDS
            encryption(deps, ctx, True, key)
        snapshot_id = new_resource_id(deps.ids, SNAPSHOT_ID_PREFIX)
        arn = rds_arn(ctx.region, ctx.account_id, "cluster-snapshot", target)
        wrapped = self.keys.wrap_new(
            account_id=ctx.account_id, region=ctx.region, arn=arn,
            snapshot_id=snapshot_id, kms_key_id=key,
        )  # fmt: skip
        copy_tags = params.get("CopyTags") and source.account_id == ctx.account_id
        merged = tuple({**dict(source.tags if copy_tags else ()), **dict(tags)}.items())
        copy = replace(
            source, snapshot_id=snapshot_id, account_id=ctx.account_id, region=ctx.region,
            identifier=target, arn=arn, snapshot_type=SnapshotType.MANUAL,
            status=SnapshotStatus.COPYING, kms_key_id=wrapped.kms_key_id, data_key=wrapped.blob,
            created_at=ctx.now, final=False, source_snapshot_id=source.snapshot_id,
            source_arn=source.arn, progress=0, attempts=0, restore_accounts=(), tags=merged,
            master_password=seal_master(deps, snapshot_id, open_master(deps, source)),
        )  # fmt: skip
        with deps.store.begin() as conn:
            if snaps.find(conn, ctx.account_id, ctx.region, target) is not None:
                raise snapshot_exists(target)
            snaps.insert(conn, copy)
            record(conn, deps.ids, copy, f"Copying cluster snapshot {source.arn}",
                   ("backup",), ctx.now)  # fmt: skip
        return {"DBClusterSnapshot": snapshot_view(copy, ctx.account_id)}

    @staticmethod
    def _same_region(ctx: CallContext, reference: Any) -> None:
        text = str(reference)
        if text.startswith("arn:"):
            try:
                region = Arn.parse(text).region
            except ValueError:
                raise InvalidParameterValue(message=f"Invalid resource name: {text}") from None
            if region != ctx.region:
                raise InvalidParameterValue(
                    message="Copying a DB cluster snapshot from another Region is not "
                    "supported by warden yet."
                )

    @staticmethod
    def _copy_key(ctx: CallContext, requested: Any, source: Snapshot) -> str | None:
        """The KMS key of the copy: the requested one, else the source's (None: the copy
        is as unencrypted as its source)."""
        if requested and not source.storage_encrypted:
            raise InvalidParameterCombination(
                message="KmsKeyId can't be specified when copying an unencrypted DB cluster "
                "snapshot."
            )
        if source.storage_encrypted and source.account_id != ctx.account_id and not requested:
            raise InvalidParameterValue(
                message="KmsKeyId is required to copy an encrypted DB cluster snapshot shared "
                "from another AWS account."
            )
        return str(requested) if requested else source.kms_key_id

    # -- attributes --------------------------------------------------------------------

    def modify_db_cluster_snapshot_attribute(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        ident = inputs.identifier(
            params["DBClusterSnapshotIdentifier"], "DBClusterSnapshotIdentifier"
        )
        if params["AttributeName"] != "restore":
            raise InvalidParameterValue(
                message=f"Invalid attribute name: {params['AttributeName']}. The only "
                "attribute that can be modified is restore."
            )
        add = _account_values(params.get("ValuesToAdd"))
        remove = set(_account_values(params.get("ValuesToRemove")))
        with self.deps.store.read() as conn:
            snap = find_snapshot(conn, ctx, ident)
        self._check_shareable(snap, add)
        with self.deps.store.begin() as conn:
            snap = find_snapshot(conn, ctx, ident)
            kept = [v for v in snap.restore_accounts if v not in remove]
            values = list(dict.fromkeys([*kept, *(v for v in add if v not in remove)]))
            if len([v for v in values if v != PUBLIC]) > MAX_SHARED_ACCOUNTS:
                raise SharedSnapshotQuotaExceededFault(
                    message=f"A DB cluster snapshot can be shared with at most "
                    f"{MAX_SHARED_ACCOUNTS} AWS accounts."
                )
            snaps.update(conn, snap.snapshot_id, restore_accounts=values)
            snap = find_snapshot(conn, ctx, ident)
        return {"DBClusterSnapshotAttributesResult": attributes_view(snap)}

    def _check_shareable(self, snap: Snapshot, add: list[str]) -> None:
        if snap.status is not SnapshotStatus.AVAILABLE:
            raise InvalidDBClusterSnapshotStateFault(
                message=f"DBClusterSnapshot {snap.identifier} is not in the available state."
            )
        if not add or not snap.storage_encrypted:
            return
        if PUBLIC in add:
            raise InvalidParameterValue(
                message="The snapshot is encrypted: it can be shared with specific AWS "
                "accounts only, not made public (all)."
            )
        if snap.kms_key_id == self.keys.managed_key(snap.account_id, snap.region):
            raise InvalidParameterValue(
                message="A snapshot encrypted with the default AWS KMS key (aws/rds) can't be "
                "shared. Copy it with a customer managed key and share the copy."
            )

    def describe_db_cluster_snapshot_attributes(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        ident = inputs.reference(params["DBClusterSnapshotIdentifier"], "cluster-snapshot")
        with self.deps.store.read() as conn:
            snap = _authorized(ctx, snaps.find(conn, ctx.account_id, ctx.region, ident), ident)
        return {"DBClusterSnapshotAttributesResult": attributes_view(snap)}
