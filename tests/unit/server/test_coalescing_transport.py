"""``CoalescingTransport`` over a real loopback TCP connection: what is written in one turn of
the event loop reaches the socket's transport as one write, in order, and closing never
loses what was written before it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from warden.server.http_protocol import CoalescingTransport

Scenario = Callable[[CoalescingTransport], Awaitable[None]]


class _Sink(asyncio.Protocol):
    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.data += data

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def _run(scenario: Scenario) -> tuple[list[bytes], bytes]:
    """Runs ``scenario`` on the server side of a loopback connection; the writes that reached
    the real transport, and everything the client received until the server closed."""
    loop = asyncio.get_running_loop()
    accepted: asyncio.Future[asyncio.Transport] = loop.create_future()

    class _Server(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            accepted.set_result(transport)

    server = await loop.create_server(_Server, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, sink = await loop.create_connection(_Sink, "127.0.0.1", port)
    inner = await accepted
    writes: list[bytes] = []
    real_write = inner.write

    def counting_write(data: bytes | bytearray | memoryview) -> None:
        writes.append(bytes(data))
        real_write(data)

    inner.write = counting_write  # type: ignore[method-assign]
    transport = CoalescingTransport(inner, loop)
    await scenario(transport)
    if not transport.is_closing():
        transport.close()
    await asyncio.wait_for(sink.closed, 10)
    server.close()
    await server.wait_closed()
    return writes, bytes(sink.data)


def test_the_writes_of_one_turn_leave_as_one_write() -> None:
    async def scenario(t: CoalescingTransport) -> None:
        head = b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n"
        t.write(head)
        t.write(b"")  # nothing to send: no write
        t.write(memoryview(b"body"))
        assert t.get_write_buffer_size() == len(head) + 4  # held until the end of the turn
        await asyncio.sleep(0)

    writes, received = asyncio.run(_run(scenario))
    assert writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nbody"]
    assert received == writes[0]


def test_writes_of_separate_turns_stay_separate_and_in_order() -> None:
    async def scenario(t: CoalescingTransport) -> None:
        t.write(b"one ")
        await asyncio.sleep(0)
        t.write(b"two ")
        t.write(b"three")
        await asyncio.sleep(0)

    writes, received = asyncio.run(_run(scenario))
    assert writes == [b"one ", b"two three"]
    assert received == b"one two three"


def test_close_sends_what_was_written_before_it() -> None:
    async def scenario(t: CoalescingTransport) -> None:
        t.write(b"last words")
        t.close()  # in the same turn: the flush must not be left to the loop
        assert t.is_closing()

    writes, received = asyncio.run(_run(scenario))
    assert writes == [b"last words"]
    assert received == b"last words"


def test_write_eof_sends_what_was_written_before_it() -> None:
    async def scenario(t: CoalescingTransport) -> None:
        t.write(b"the end")
        t.write_eof()  # in the same turn: the data goes before the end of stream

    writes, received = asyncio.run(_run(scenario))
    assert writes == [b"the end"]
    assert received == b"the end"


def test_writelines_and_large_writes_keep_the_order() -> None:
    big = b"x" * (256 * 1024)

    async def scenario(t: CoalescingTransport) -> None:
        t.write(b"a")
        t.writelines([b"b", b"c"])  # gathered like writes
        await asyncio.sleep(0)
        t.write(b"head ")
        t.write(big)  # goes through at once, after what was gathered before it
        await asyncio.sleep(0)

    writes, received = asyncio.run(_run(scenario))
    assert writes == [b"abc", b"head ", big]
    assert received == b"abchead " + big


def test_abort_drops_what_is_pending() -> None:
    async def scenario(t: CoalescingTransport) -> None:
        t.write(b"sent")
        await asyncio.sleep(0)
        t.write(b"never sent")
        t.abort()
        assert t.get_write_buffer_size() == 0  # nothing is held back for later
        await asyncio.sleep(0)  # the scheduled flush finds nothing to send

    writes, received = asyncio.run(_run(scenario))
    assert writes == [b"sent"]
    assert received == b"sent"


def test_everything_else_is_the_wrapped_transports() -> None:
    async def scenario(t: CoalescingTransport) -> None:
        assert t.get_extra_info("peername")[0] == "127.0.0.1"
        assert t.get_extra_info("sslcontext") is None
        t.pause_reading()
        assert not t.is_reading()
        t.resume_reading()
        assert t.is_reading()

    writes, received = asyncio.run(_run(scenario))
    assert writes == [] and received == b""
