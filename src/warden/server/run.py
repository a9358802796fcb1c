"""Running the server process: uvicorn with the data dir's TLS certificate.

uvicorn handles SIGTERM and SIGINT by finishing in-flight requests and running
the lifespan shutdown, which flushes the audit trail and closes the store.

Before it serves, the process freezes its heap (``settle_heap``): what starting made (the
service models above all, some 180,000 objects) lives as long as the process, and the
collector's full passes then no longer walk it. Without that, a full pass came every few
thousand requests and held the event loop for 50 to 160 ms on the bench machine.
"""

from __future__ import annotations

import gc
import logging
import signal
from pathlib import Path

import uvicorn

from .app import create_app, open_runtime
from .http_protocol import HttpProtocol
from .init import endpoint_url
from .tls import TlsPaths

log = logging.getLogger("warden.server")


def serve(
    data_dir: Path,
    *,
    host: str,
    port: int,
    store_url: str | None,
    insecure_http: bool,
    banner: str,
    pg_bin: Path | None = None,
    postgres_user: str | None = None,
) -> int:
    runtime = open_runtime(
        data_dir, store_url=store_url, pg_bin=pg_bin, postgres_user=postgres_user
    )
    app = create_app(runtime, secure=not insecure_http)
    tls = TlsPaths.in_dir(data_dir)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,  # the audit trail records every call; URLs may carry signatures
        # warden is not behind a proxy: X-Forwarded-For from a loopback client (trusted by
        # uvicorn's default) would forge the audited source IP and aws:SourceIp.
        proxy_headers=False,
        ssl_certfile=None if insecure_http else str(tls.server_cert),
        ssl_keyfile=None if insecure_http else str(tls.server_key),
        timeout_graceful_shutdown=10,
        server_header=False,
        http=HttpProtocol,  # shutdown does not wait on idle TLS clients (see http_protocol)
        ws="none",  # no WebSocket endpoint: an upgrade request is answered as plain HTTP
    )
    server = uvicorn.Server(config)
    print(
        f"warden serving {endpoint_url(host, port, secure=not insecure_http)} "
        f"(account {runtime.settings.account_id}, region {runtime.settings.region})",
        flush=True,
    )
    print(banner, flush=True)
    # uvicorn re-raises the signal that stopped it once shutdown is complete; a no-op
    # handler makes that re-raise return, so a clean SIGTERM shutdown exits 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: None)
    settle_heap()
    server.run()
    return 0


def settle_heap() -> None:
    """Collect what starting left as garbage, then move everything still alive out of the
    collector's generations for good. Reference counting still frees those objects; a
    reference cycle among them that is dropped later is never collected."""
    gc.collect()
    gc.freeze()
