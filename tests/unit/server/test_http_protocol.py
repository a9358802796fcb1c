"""warden's uvicorn HTTP protocol on uvloop, as the server runs it: over TLS the app sees
https, every response arrives whole, and a plain-HTTP client that ends its side of the
connection right after its request still gets the answer (the gathered response leaves
before the transport closes on the client's end of stream)."""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from warden.server import tls
from warden.server.http_protocol import HttpProtocol


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    # Answered in the same turn as the request's last byte, like warden's inline reads.
    out = f"{scope['scheme']} {scope['path']} {len(body)}".encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(len(out)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": out})


@contextmanager
def _serving(port: int, certs: tls.TlsPaths | None) -> Iterator[None]:
    config = uvicorn.Config(
        _app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http=HttpProtocol,
        ws="none",
        lifespan="off",
        log_level="warning",
        ssl_certfile=str(certs.server_cert) if certs else None,
        ssl_keyfile=str(certs.server_key) if certs else None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(30)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def plain() -> Iterator[int]:
    port = _free_port()
    with _serving(port, None):
        yield port


@pytest.fixture
def secure(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    port = _free_port()
    certs = tls.create(tmp_path, "127.0.0.1", datetime.now(UTC))
    with _serving(port, certs):
        yield port, certs.ca_cert


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_a_client_that_half_closes_after_its_request_gets_the_answer(plain: int) -> None:
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", plain), timeout=10) as sock:
            sock.sendall(b"POST /half HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
            sock.shutdown(socket.SHUT_WR)
            answer = _read_all(sock)
        assert answer.startswith(b"HTTP/1.1 200 ")
        assert answer.endswith(b"\r\n\r\nhttp /half 3")


def test_an_upgrade_request_is_answered_as_plain_http_without_warnings(
    plain: int, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING),
        socket.create_connection(("127.0.0.1", plain), timeout=10) as sock,
    ):
        sock.sendall(
            b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        answer = b""
        while not answer.endswith(b"http /ws 0"):
            chunk = sock.recv(65536)
            assert chunk, answer
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_over_tls_responses_arrive_whole_on_a_kept_alive_connection(
    secure: tuple[int, Path],
) -> None:
    port, ca = secure
    ctx = ssl.create_default_context(cafile=str(ca))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as sock,
    ):
        for i in range(20):
            body = b"x" * i
            sock.sendall(
                b"POST /n%d HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (i, i, body)
            )
            expected = b"https /n%d %d" % (i, i)
            answer = b""
            while not answer.endswith(expected):
                chunk = sock.recv(65536)
                assert chunk, f"the connection closed before response {i}: {answer!r}"
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200 ")
