"""uvicorn's HTTP protocol, with a shutdown that does not wait on idle TLS clients.

On SIGTERM uvicorn closes every idle keep-alive connection with ``transport.close()``.
Over TLS that sends close_notify and then waits for the client's own close_notify before
the connection counts as closed, and an SDK client holding an idle pooled connection never
reads it to answer: the server then waited out its whole graceful-shutdown timeout (10 s)
before stopping. An idle connection carries no request, so it is dropped at once instead
(``abort``); the client's pool notices the closed socket and reconnects when next used.
A connection in the middle of a request is left to uvicorn: the response is finished with
``Connection: close``, after which the client closes it.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HttpProtocol(HttpToolsProtocol):
    def shutdown(self) -> None:
        if self.cycle is None or self.cycle.response_complete:
            self.transport.abort()
        else:
            super().shutdown()
