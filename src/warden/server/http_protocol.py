"""uvicorn's HTTP protocol, with a shutdown that does not wait on idle TLS clients.

On SIGTERM uvicorn closes every idle keep-alive connection with ``transport.close()``.
Over TLS that sends what is still buffered, then close_notify, and then waits for the
client's own close_notify before the connection counts as closed; an SDK client holding an
idle pooled connection never reads it to answer, so the server waited out its whole
graceful-shutdown timeout (10 s) before stopping. Such a connection is closed as before and,
if it is still open ``TLS_CLOSE_GRACE`` seconds later, dropped (``abort``): time enough for
the end of a just-finished response to leave, and no reason to wait for an idle client. Its
pool notices the closed socket and reconnects when next used. A connection in the middle of
a request is left to uvicorn: the response is finished with ``Connection: close``, after
which the client closes it.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

TLS_CLOSE_GRACE = 1.0  # seconds


class HttpProtocol(HttpToolsProtocol):
    def shutdown(self) -> None:
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()
            if self.scheme == "https":
                self.loop.call_later(TLS_CLOSE_GRACE, self.transport.abort)
        else:
            super().shutdown()
