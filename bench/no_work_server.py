"""The benches' floor: an HTTPS server that does no work, run beside warden and moto.

uvicorn with warden's own HTTP protocol (``server/http_protocol.py``) and TLS set-up (the
data dir's certificate), answering each call with a response warden gave earlier to the
same call (recorded by ``record_responses``): no routing, parsing, signature check,
authorization, store or audit trail. Whatever one Python HTTPS server on uvicorn can get
from the boto3 clients on this machine, this one gets: warden's throughput over moto's should
not exceed this server's.

Run: ``python bench/no_work_server.py PORT CERT KEY RESPONSES.json``. The responses are
keyed by ``X-Amz-Target`` (JSON protocols) or the form's ``Action`` (query protocols).
"""

from __future__ import annotations

import json
import sys
from typing import Any
from urllib.parse import parse_qs

import uvicorn

from warden.server.http_protocol import HttpProtocol

Canned = tuple[int, list[tuple[bytes, bytes]], bytes]


def call_name(headers: dict[str, str], body: bytes) -> str:
    """The key a recorded response is found under."""
    target = headers.get("x-amz-target")
    if target:
        return target
    return parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]


def main() -> None:
    port, cert, key, path = sys.argv[1:5]
    with open(path) as fh:
        recorded = json.load(fh)
    canned: dict[str, Canned] = {
        name: (r["status"], [(k.encode(), v.encode()) for k, v in r["headers"]], r["body"].encode())
        for name, r in recorded.items()
    }

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        status, response_headers, payload = canned[call_name(headers, body)]
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": payload})

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(port),
        log_level="warning",
        access_log=False,
        server_header=False,
        http=HttpProtocol,
        ws="none",
        lifespan="off",
        ssl_certfile=cert,
        ssl_keyfile=key,
    )


if __name__ == "__main__":
    main()
