"""The ASGI edge: the AWS API endpoint, with Starlette for the server's own pages.

The API endpoint reads each request whole (capped at ``MAX_BODY`` bytes: larger
bodies get a modelled 413 without being buffered), builds a ``WireRequest`` from
the raw path and raw headers (SigV4 signs what was on the wire), runs the
synchronous pipeline in a thread pool (on a SQLite store, the first steps and plain
reads on the event loop) and writes its response. Starlette serves
``/_warden/health``, the one unauthenticated path, and runs the lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from warden.core.clock import Clock, SystemClock
from warden.core.ids import IdFactory, RandomIds
from warden.core.tokens import TokenSealer
from warden.engines.base import Engine
from warden.engines.postgres import PgBinaries, PostgresAccounts, PostgresEngine
from warden.protocol.dispatch import Wire
from warden.protocol.errors import RequestEntityTooLarge
from warden.protocol.specs import Registry
from warden.protocol.wire import WireRequest, WireResponse
from warden.services.cloudtrail import handlers as cloudtrail
from warden.services.ec2 import handlers as ec2
from warden.services.iam import handlers as iam
from warden.services.iam.authorizer import Authorizer
from warden.services.iam.identity import Identities
from warden.services.iam.mfa_codes import MfaVerifier
from warden.services.iam.sts_support import IamCallerKeys, IamManagedDocuments
from warden.services.kms import handlers as kms
from warden.services.kms.sweeper import KmsSweeper
from warden.services.ports import DataKeys, ManagedRotation
from warden.services.rds import handlers as rds
from warden.services.rds.snapshot_worker import SnapshotOptions
from warden.services.secretsmanager import handlers as secretsmanager
from warden.services.secretsmanager import rotation_workers
from warden.services.secretsmanager.dbsecret import Trust
from warden.services.secretsmanager.doorbell import Doorbell, RingingJobQueue
from warden.services.secretsmanager.rotator import PAUSE_ENV
from warden.services.sts import handlers as sts
from warden.store.db import Store
from warden.store.keyring import PAGINATION, KeyRing

from .audit import AuditWriter
from .datadir import Settings, check_private
from .instance_ca import DataDirCa
from .pipeline import Pipeline, Started
from .resource_access import AuthorizerKeyAccess, AuthorizerSecretAccess
from .tls import TlsPaths
from .workers import Scheduled, Workers

log = logging.getLogger("warden.server")

MAX_BODY = 4 * 1024 * 1024
_SITE_PREFIXES = ("/_warden/", "/console/")


@dataclass
class Runtime:
    """Everything the running server owns; closed in reverse order at shutdown."""

    settings: Settings
    store: Store
    ring: KeyRing
    audit: AuditWriter
    pipeline: Pipeline
    wire: Wire
    workers: Workers
    # The synchronous pipeline runs here, off the event loop (handlers do store I/O).
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(32, thread_name_prefix="api")
    )

    def finish_light(self, started: Started) -> WireResponse:
        """The rest of a plain read call (``Pipeline.light``) on this thread, its reads in
        one store snapshot: how the server finishes such a call on its event loop."""
        with self.store.snapshot():
            return self.pipeline.finish(started)

    def close(self) -> None:
        self.workers.stop()
        self.executor.shutdown(wait=True)
        self.audit.close()
        self.store.close()


def open_runtime(
    data_dir: Path,
    *,
    store_url: str | None = None,
    clock: Clock | None = None,
    ids: IdFactory | None = None,
    registry: Registry | None = None,
    engine: Engine | None = None,
    engine_version: str | None = None,
    pg_bin: Path | None = None,
    postgres_user: str | None = None,
) -> Runtime:
    """Open everything the server runs on. ``engine`` defaults to PostgreSQL from the
    bundled binaries (or ``pg_bin``), run as ``postgres_user`` when warden is root; DB
    volumes live in ``DIR/rds``."""
    check_private(data_dir)
    settings = Settings.read(data_dir)
    ring = KeyRing.open(data_dir)
    url = store_url or settings.store_url
    store = Store.open(url) if url else Store.sqlite_in(data_dir)
    clock = clock or SystemClock()
    ids = ids or RandomIds()
    wire = Wire(registry or Registry.load(), pagination_key=ring.key(PAGINATION))
    audit = AuditWriter(store)
    sealer = TokenSealer(ring.key(PAGINATION))
    authorizer = Authorizer(store, clock)
    key_service = kms.Kms(store, ring, clock, ids, access=AuthorizerKeyAccess(authorizer))
    if engine is None:
        binaries = PgBinaries.at(pg_bin) if pg_bin is not None else PgBinaries.bundled()
        workspace = data_dir / "rds" / "workspace"
        engine = (
            PostgresEngine(workspace, binaries=binaries, service_user=postgres_user)
            if postgres_user
            else PostgresEngine(workspace, binaries=binaries)
        )
        engine_version = engine_version or binaries.version
    groups = ec2.SecurityGroupDirectory(store, clock, ids)
    # RotateSecret enqueues through this queue: it wakes a rotation executor at once.
    rotation_jobs = RingingJobQueue(store, clock, ids, Doorbell())
    db = rds.build(
        store,
        ring,
        clock,
        ids,
        engine=engine,
        engine_version=engine_version or "17.0",
        data_keys=key_service.data_keys,
        groups=groups,
        ca=DataDirCa(data_dir),
        root=data_dir / "rds",
        host=settings.host,
        secrets=secretsmanager.service_secrets(
            store, clock, ids, key_service.data_keys, rotation_jobs
        ),
        # WARDEN_RDS_BACKUP_INTERVAL shortens the backup day; WARDEN_TEST_SNAPSHOT_PAUSE is
        # the fault tests' pause hook. Both unset in production.
        snapshot_options=SnapshotOptions.from_env(os.environ),
    )
    services = {
        s.name: s
        for s in (
            iam.build(store, ring, clock, ids),
            sts.build(
                store,
                ring,
                clock,
                ids,
                sts.StsPorts(
                    MfaVerifier(store, ring), IamCallerKeys(store), IamManagedDocuments(store)
                ),
            ),
            cloudtrail.build(store, sealer, audit),
            key_service.service,
            secretsmanager.build(
                store,
                clock,
                ids,
                key_service.data_keys,
                AuthorizerSecretAccess(authorizer),
                rotation_jobs,
            ),
            db.service,
            ec2.build(store, clock, ids, db.group_users),
        )
    }
    pipeline = Pipeline(
        wire=wire,
        identities=Identities(store, ring, clock),
        authorizer=authorizer,
        services=services,
        audit=audit,
        clock=clock,
        ids=ids,
        account_id=settings.account_id,
        default_region=settings.region,
    )
    workers = Workers(
        [
            Scheduled(KmsSweeper(key_service, clock), idle_seconds=60.0),
            *_rotation(
                data_dir,
                settings,
                store,
                clock,
                ids,
                key_service.data_keys,
                rotation_jobs,
                {"rds": db.master_passwords},
            ),
            # Idle ticks each second: a killed PostgreSQL is back, and a security group
            # change is in pg_hba.conf, within seconds.
            # Each wakes the other when it did something the other may act on.
            Scheduled(db.reconciler, 1.0, wake=db.wake_reconciler, wakes=(db.wake_snapshots,)),
            Scheduled(db.snapshots, 1.0, wake=db.wake_snapshots, wakes=(db.wake_reconciler,)),
        ]
    )
    return Runtime(settings, store, ring, audit, pipeline, wire, workers)


def _rotation(
    data_dir: Path,
    settings: Settings,
    store: Store,
    clock: Clock,
    ids: IdFactory,
    keys: DataKeys,
    jobs: RingingJobQueue,
    managed: dict[str, ManagedRotation],
) -> list[Scheduled]:
    """Secrets Manager's rotation scheduler and executors. Servers warden runs are verified
    against the data dir's CA, others against the system store; ``managed`` applies the
    passwords of the secrets other services own (RDS); ``WARDEN_TEST_PAUSE_AT`` is the fault
    tests' pause hook (see ``rotator``), unset in production."""
    config = rotation_workers.RotationConfig(
        accounts=PostgresAccounts(),
        trust=Trust.of(TlsPaths.in_dir(data_dir).ca_cert, settings.host),
        node=f"{socket.gethostname()}:{data_dir.resolve()}",
        pause_at=os.environ.get(PAUSE_ENV, ""),
        managed=managed,
    )
    deps = secretsmanager.deps_for(store, clock, ids, keys, jobs)
    # The executors wait for work on the doorbell inside their ticks: stopping closes it.
    return [
        Scheduled(p.worker, p.idle_seconds, interrupt=jobs.doorbell.close)
        for p in rotation_workers.build_workers(deps, config)
    ]


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


async def _read_body(scope: Scope, receive: Receive) -> bytes | None:
    """The whole body, or None when it exceeds MAX_BODY (the rest is not buffered)."""
    for name, value in scope["headers"]:
        if name == b"content-length" and (not value.isdigit() or int(value) > MAX_BODY):
            return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionAbortedError
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _wire_request(scope: Scope, body: bytes, secure: bool) -> WireRequest:
    raw_path = scope.get("raw_path") or scope["path"].encode()
    client = scope.get("client")
    return WireRequest(
        method=scope["method"],
        # SigV4 re-encodes what was on the wire: keep undecodable bytes as surrogates.
        raw_path=raw_path.decode("utf-8", "surrogateescape").split("?", 1)[0],
        query_string=scope.get("query_string", b"").decode("utf-8", "surrogateescape"),
        headers=tuple(
            (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]
        ),
        body=body,
        source_ip=client[0] if client else "",
        secure=secure,
    )


# Bodies above this are parsed on a worker thread: parsing must not hold up the event loop.
_INLINE_BODY = 64 * 1024


class AwsEndpoint:
    """The AWS APIs as a bare ASGI app: no routing or middleware between the wire and
    the pipeline, which runs in the runtime's thread pool (plain reads on a SQLite store
    run on the event loop, see ``_serve``)."""

    def __init__(self, runtime: Runtime, *, secure: bool) -> None:
        self._runtime = runtime
        self._secure = secure
        self._inline = runtime.store.dialect == "sqlite"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        pipeline = self._runtime.pipeline
        try:
            body = await _read_body(scope, receive)
        except ConnectionAbortedError:
            return  # the client went away mid-request: nothing to answer
        if body is None:
            req = _wire_request(scope, b"", self._secure)
            error = RequestEntityTooLarge(
                message=f"Request body exceeds the maximum of {MAX_BODY} bytes"
            )
            out = await loop.run_in_executor(self._runtime.executor, pipeline.reject, req, error)
        else:
            req = _wire_request(scope, body, self._secure)
            out = await self._serve(loop, req)
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in out.headers]
        headers.append((b"content-length", str(len(out.body)).encode()))
        await send({"type": "http.response.start", "status": out.status, "headers": headers})
        await send({"type": "http.response.body", "body": out.body})

    async def _serve(self, loop: asyncio.AbstractEventLoop, req: WireRequest) -> WireResponse:
        pipeline, executor = self._runtime.pipeline, self._runtime.executor
        if not self._inline or len(req.body) > _INLINE_BODY:
            return await loop.run_in_executor(executor, pipeline.handle, req)
        # On the SQLite store the first steps (small bodies) and the reads the pipeline deems
        # light never wait (WAL readers do not block): they run here, saving two thread
        # hand-offs. Everything else (writes, which may wait for the write lock) on a worker.
        started = pipeline.start(req)
        if pipeline.light(started):
            return self._runtime.finish_light(started)
        return await loop.run_in_executor(executor, pipeline.finish, started)


class Edge:
    """Sends ``/_warden/…`` (and, later, ``/console/…``) to Starlette, the rest to the APIs."""

    def __init__(self, site: Starlette, api: AwsEndpoint) -> None:
        self._site = site
        self._api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(_SITE_PREFIXES):
            await self._api(scope, receive, send)
        else:
            await self._site(scope, receive, send)


def create_app(runtime: Runtime, *, secure: bool) -> Edge:
    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime.workers.start()
        yield
        runtime.close()

    site = Starlette(routes=[Route("/_warden/health", health, methods=["GET"])], lifespan=lifespan)
    return Edge(site, AwsEndpoint(runtime, secure=secure))
