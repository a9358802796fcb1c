"""The ASGI edge: Starlette routes in front of the request pipeline.

Reads each request whole (capped at ``MAX_BODY`` bytes: larger bodies get a
modelled 413 without being buffered), builds a ``WireRequest`` from the raw path
and raw headers (SigV4 signs what was on the wire), runs the synchronous
pipeline in the thread pool and writes its response. ``/_warden/health`` is the
one unauthenticated path.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from warden.core.clock import Clock, SystemClock
from warden.core.ids import IdFactory, RandomIds
from warden.core.tokens import TokenSealer
from warden.protocol.dispatch import Wire
from warden.protocol.errors import RequestEntityTooLarge
from warden.protocol.specs import Registry
from warden.protocol.wire import WireRequest, WireResponse
from warden.services.cloudtrail import handlers as cloudtrail
from warden.services.iam import handlers as iam
from warden.services.iam.authorizer import Authorizer
from warden.services.iam.identity import Identities
from warden.services.sts import handlers as sts
from warden.store.db import Store
from warden.store.keyring import PAGINATION, KeyRing

from .audit import AuditWriter
from .datadir import Settings, check_private
from .pipeline import Pipeline

log = logging.getLogger("warden.server")

MAX_BODY = 4 * 1024 * 1024
_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]


@dataclass
class Runtime:
    """Everything the running server owns; closed in reverse order at shutdown."""

    settings: Settings
    store: Store
    ring: KeyRing
    audit: AuditWriter
    pipeline: Pipeline
    wire: Wire

    def close(self) -> None:
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
    services = {
        s.name: s
        for s in (
            iam.build(store),
            sts.build(store, ring, clock, ids),
            cloudtrail.build(store, sealer, audit),
        )
    }
    pipeline = Pipeline(
        wire=wire,
        identities=Identities(store, ring, clock),
        authorizer=Authorizer(store, clock),
        services=services,
        audit=audit,
        clock=clock,
        ids=ids,
        account_id=settings.account_id,
        default_region=settings.region,
    )
    return Runtime(settings, store, ring, audit, pipeline, wire)


async def _read_body(request: Request) -> bytes | None:
    """The whole body, or None when it exceeds MAX_BODY."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _wire_request(request: Request, body: bytes, secure: bool) -> WireRequest:
    scope = request.scope
    raw_path = scope.get("raw_path") or scope["path"].encode()
    return WireRequest(
        method=request.method,
        # SigV4 re-encodes what was on the wire: keep undecodable bytes as surrogates.
        raw_path=raw_path.decode("utf-8", "surrogateescape").split("?", 1)[0],
        query_string=scope.get("query_string", b"").decode("utf-8", "surrogateescape"),
        headers=tuple(
            (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]
        ),
        body=body,
        source_ip=scope["client"][0] if scope.get("client") else "",
        secure=secure,
    )


def _response(out: WireResponse) -> Response:
    return Response(content=out.body, status_code=out.status, headers=dict(out.headers))


def create_app(runtime: Runtime, *, secure: bool) -> Starlette:
    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def api(request: Request) -> Response:
        body = await _read_body(request)
        if body is None:
            req = _wire_request(request, b"", secure)
            error = RequestEntityTooLarge(
                message=f"Request body exceeds the maximum of {MAX_BODY} bytes"
            )
            out = await run_in_threadpool(runtime.pipeline.reject, req, error)
            return _response(out)
        req = _wire_request(request, body, secure)
        out = await run_in_threadpool(runtime.pipeline.handle, req)
        return _response(out)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        runtime.close()

    routes = [
        Route("/_warden/health", health, methods=["GET"]),
        Route("/{path:path}", api, methods=_METHODS),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
