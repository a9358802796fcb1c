"""uvicorn's HTTP protocol, with a shutdown that does not wait on idle TLS clients, and one
write per response.

Shutdown: on SIGTERM uvicorn closes every idle keep-alive connection with
``transport.close()``. Over TLS that sends what is still buffered, then close_notify, and
then waits for the client's own close_notify before the connection counts as closed; an SDK
client holding an idle pooled connection never reads it to answer, so the server waited out
its whole graceful-shutdown timeout (10 s) before stopping. Such a connection is closed as
before and, if it is still open ``TLS_CLOSE_GRACE`` seconds later, dropped (``abort``): time
enough for the end of a just-finished response to leave, and no reason to wait for an idle
client. Its pool notices the closed socket and reconnects when next used. A connection in
the middle of a request is left to uvicorn: the response is finished with ``Connection:
close``, after which the client closes it.

Writes: uvicorn writes a response's head and its body separately, and every write to a
TLS transport is a TLS record and a ``send`` of its own. ``CoalescingTransport`` gathers
the writes made in one turn of the event loop and passes them on as one at the end of the
turn, so a response leaves in one record and one system call. What is gathered leaves before
anything that ends the connection's sending: ``close``, ``write_eof``, and the client's own
end of stream (``eof_received``: on plain HTTP the transport closes itself right after it,
which would drop a response answered in the same turn as the request).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

TLS_CLOSE_GRACE = 1.0  # seconds
# A write this large goes through at once (after what is gathered): joining it to the rest
# would copy it again for no saving.
_WRITE_THROUGH = 64 * 1024


class CoalescingTransport:
    """A transport whose writes within one loop turn reach the wrapped one as one write.
    Everything else is the wrapped transport's; closing flushes first, aborting drops."""

    __slots__ = ("_inner", "_loop", "_pending")

    def __init__(self, inner: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._inner = inner
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if len(data) >= _WRITE_THROUGH:
            self.flush()
            self._inner.write(data)
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, lines: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        """Pass on what was gathered now (a no-op when nothing was)."""
        if self._pending:
            data = b"".join(self._pending) if len(self._pending) > 1 else self._pending[0]
            self._pending.clear()
            if not self._inner.is_closing():
                self._inner.write(data)

    def get_write_buffer_size(self) -> int:
        return self._inner.get_write_buffer_size() + sum(map(len, self._pending))

    def close(self) -> None:
        self.flush()
        self._inner.close()

    def write_eof(self) -> None:
        self.flush()
        self._inner.write_eof()

    def abort(self) -> None:
        self._pending.clear()
        self._inner.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class HttpProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._coalescing = CoalescingTransport(transport, self.loop)
        super().connection_made(self._coalescing)  # type: ignore[arg-type]

    def eof_received(self) -> None:
        self._coalescing.flush()
        super().eof_received()

    def _unsupported_upgrade_warning(self) -> None:
        # warden serves no WebSocket (``ws="none"``): a request asking to upgrade is answered
        # as plain HTTP, without the two warnings uvicorn logs for each one, which any client
        # could repeat at will.
        return

    def shutdown(self) -> None:
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()
            if self.scheme == "https":
                self.loop.call_later(TLS_CLOSE_GRACE, self.transport.abort)
        else:
            super().shutdown()
