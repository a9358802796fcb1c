"""A control plane for the snapshot tests: the production RDS service over a real store,
key ring and KMS, with the in-memory engine (no processes) and a fixed clock, so API calls,
reconciler ticks and snapshot-worker ticks can be driven one at a time."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rds_doubles import ACCOUNT, REGION, T0, LocalCa, allow_keys, whole_page

from warden.core.clock import FixedClock
from warden.core.ids import RandomIds
from warden.core.principal import Principal, PrincipalType
from warden.engines.fake import FakeEngine
from warden.services.context import CallContext
from warden.services.ec2.directory import SecurityGroupDirectory
from warden.services.kms.handlers import Kms
from warden.services.rds.handlers import Rds, build
from warden.services.rds.snapshot_worker import SnapshotOptions, SnapshotWorker
from warden.store.db import Store
from warden.store.keyring import KeyRing
from warden.store.schema import accounts

PASSWORD = "initial-Passw0rd"


class World:
    def __init__(self, tmp: Path, options: SnapshotOptions | None = None) -> None:
        self.tmp = tmp
        self.store = Store.sqlite_in(tmp)
        with self.store.begin() as conn:
            conn.execute(
                sa.insert(accounts).values(
                    account_id=ACCOUNT, created_at=T0, root_password_hash="x", root_user_id="r"
                )
            )
        self.clock = FixedClock(T0)
        self.engine = FakeEngine()
        ids = RandomIds()
        ring = KeyRing.create(tmp)
        self.kms = Kms(self.store, ring, self.clock, ids, access=allow_keys)
        self.rds: Rds = build(
            self.store, ring, self.clock, ids,
            engine=self.engine, engine_version="17.4", data_keys=self.kms.data_keys,
            groups=SecurityGroupDirectory(self.store, self.clock, ids), ca=LocalCa(),
            root=tmp / "rds", host="127.0.0.1", snapshot_options=options,
        )  # fmt: skip
        self.worker: SnapshotWorker = self.rds.snapshots

    def ctx(self, operation: str) -> CallContext:
        principal = Principal(
            f"arn:aws:iam::{ACCOUNT}:user/t", PrincipalType.IAM_USER, ACCOUNT, "AIDA", "AKIA", "t"
        )
        return CallContext(
            "req", ACCOUNT, REGION, "rds", operation, principal, "127.0.0.1", "t", True,
            self.clock.now(), whole_page,
        )  # fmt: skip

    def call(self, operation: str, **params: Any) -> Any:
        return self.rds.service.handlers[operation](self.ctx(operation), params)

    def kms_call(self, operation: str, **params: Any) -> Any:
        return self.kms.service.handlers[operation](self.ctx(operation), params)

    def settle(self, ticks: int = 20) -> None:
        """Reconciler and snapshot worker ticks until neither has anything to do."""
        for _ in range(ticks):
            if not (self.rds.reconciler.tick() | self.worker.tick()):
                return

    def cluster(self, ident: str) -> Mapping[str, Any]:
        return self.call("DescribeDBClusters", DBClusterIdentifier=ident)["DBClusters"][0]

    def snapshot(self, ident: str) -> Mapping[str, Any]:
        found = self.call("DescribeDBClusterSnapshots", DBClusterSnapshotIdentifier=ident)
        return found["DBClusterSnapshots"][0]

    def snapshots(self, **params: Any) -> list[str]:
        found = self.call("DescribeDBClusterSnapshots", **params)["DBClusterSnapshots"]
        return [s["DBClusterSnapshotIdentifier"] for s in found]

    def events(self, kind: str, ident: str) -> list[str]:
        found = self.call("DescribeEvents", SourceType=kind, SourceIdentifier=ident)["Events"]
        return [e["Message"] for e in found]

    def make(self, ident: str, *, instance: bool = True, **extra: Any) -> None:
        self.call(
            "CreateDBCluster", DBClusterIdentifier=ident, Engine="aurora-postgresql",
            MasterUsername="master", MasterUserPassword=PASSWORD, DatabaseName="app", **extra,
        )  # fmt: skip
        if instance:
            self.add_instance(ident)
        self.settle()

    def take(self, snapshot: str, cluster: str) -> Any:
        return self.call(
            "CreateDBClusterSnapshot", DBClusterSnapshotIdentifier=snapshot,
            DBClusterIdentifier=cluster,
        )  # fmt: skip

    def add_instance(self, cluster: str) -> None:
        self.call(
            "CreateDBInstance", DBInstanceIdentifier=f"{cluster}-w", DBClusterIdentifier=cluster,
            Engine="aurora-postgresql", DBInstanceClass="db.r6g.large",
        )  # fmt: skip

    def spec_of(self, cluster: str) -> Any:
        steps = self.rds.reconciler.steps
        return next(s for s in steps.applied.values() if s.instance_id == f"{cluster}-w")

    def files(self) -> list[Path]:
        folder = self.tmp / "rds" / "snapshots"
        return sorted(folder.iterdir()) if folder.is_dir() else []
