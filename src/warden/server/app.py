"""The ASGI edge: the AWS API endpoint, with Starlette for the server's own pages.

The API endpoint reads each request whole (capped at ``MAX_BODY`` bytes: larger
bodies get a modelled 413 without being buffered), builds a ``WireRequest`` from
the raw path and raw headers (SigV4 signs what was on the wire), runs the
synchronous pipeline in a thread pool and writes its response. Starlette serves
``/_warden/health``, the one unauthenticated path, and runs the lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
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
from warden.protocol.dispatch import Wire
from warden.protocol.errors import RequestEntityTooLarge
from warden.protocol.specs import Registry
from warden.protocol.wire import WireRequest
from warden.services.cloudtrail import handlers as cloudtrail
from warden.services.iam import handlers as iam
from warden.services.iam.authorizer import Authorizer
from warden.services.iam.identity import Identities
from warden.services.iam.mfa_codes import MfaVerifier
from warden.services.iam.sts_support import IamCallerKeys, IamManagedDocuments
from warden.services.kms import handlers as kms
from warden.services.kms.sweeper import KmsSweeper
from warden.services.secretsmanager import handlers as secretsmanager
from warden.services.sts import handlers as sts
from warden.store.db import Store
from warden.store.keyring import PAGINATION, KeyRing

from .audit import AuditWriter
from .datadir import Settings, check_private
from .kms_access import AuthorizerKeyAccess
from .pipeline import Pipeline
from .secret_access import AuthorizerSecretAccess
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
) -> Runtime:
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
                store, clock, ids, key_service.data_keys, AuthorizerSecretAccess(authorizer)
            ),
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
    workers = Workers([Scheduled(KmsSweeper(key_service, clock), idle_seconds=60.0)])
    return Runtime(settings, store, ring, audit, pipeline, wire, workers)


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


class AwsEndpoint:
    """The AWS APIs as a bare ASGI app: no routing or middleware between the wire and
    the pipeline, which runs in the runtime's thread pool."""

    def __init__(self, runtime: Runtime, *, secure: bool) -> None:
        self._runtime = runtime
        self._secure = secure

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
            out = await loop.run_in_executor(self._runtime.executor, pipeline.handle, req)
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in out.headers]
        headers.append((b"content-length", str(len(out.body)).encode()))
        await send({"type": "http.response.start", "status": out.status, "headers": headers})
        await send({"type": "http.response.body", "body": out.body})


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
