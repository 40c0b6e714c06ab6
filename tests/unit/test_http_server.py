"""A response's head and body go out in one write (`shared/http_server.py`): in order, nothing
held past the next turn of the event loop, nothing lost when the connection closes. With a
stand-in transport for the written bytes, and once over a real socket through uvicorn."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from shared.http_server import OneWriteHttpTools, _OneWrite

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"


class Written:
    """What a transport was asked to write, one entry a call."""

    def __init__(self) -> None:
        self.calls: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.calls.append(bytes(data))

    def writelines(self, parts: list[bytes]) -> None:
        self.calls.append(b"".join(parts))

    def write_eof(self) -> None:
        self.calls.append(b"<eof>")

    def abort(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 1) if name in ("peername", "sockname") else default


async def test_a_head_goes_out_with_its_body_and_alone_in_the_next_turn_without_one() -> None:
    written = Written()
    one = _OneWrite(written, asyncio.get_running_loop())  # type: ignore[arg-type]
    one.write(HEAD)
    assert written.calls == []
    one.write(b"hello")
    assert written.calls == [HEAD + b"hello"]
    one.write(HEAD)  # a streamed response's head: its first part comes later
    await asyncio.sleep(0)
    assert written.calls[1:] == [HEAD]
    one.write(b"body\r\n\r\n")  # not a head, however it ends: at once
    assert written.calls[2:] == [b"body\r\n\r\n"]


async def test_closing_sends_the_held_head_first_and_other_calls_reach_the_transport() -> None:
    written = Written()
    one = _OneWrite(written, asyncio.get_running_loop())  # type: ignore[arg-type]
    one.write(HEAD)
    one.close()
    assert (written.calls, written.closed) == ([HEAD], True)
    await asyncio.sleep(0)
    assert written.calls == [HEAD], "sent once"
    assert one.get_extra_info("peername") == ("127.0.0.1", 1)


async def test_other_writes_follow_the_held_head_and_an_abort_drops_it() -> None:
    written = Written()
    one = _OneWrite(written, asyncio.get_running_loop())  # type: ignore[arg-type]
    one.write(HEAD)
    one.writelines([b"a", b"b"])
    one.write(HEAD)
    one.write_eof()
    assert written.calls == [HEAD, b"ab", HEAD, b"<eof>"]
    one.write(HEAD)
    one.abort()
    await asyncio.sleep(0)
    assert (len(written.calls), written.closed) == (4, True)


async def test_a_large_body_is_written_after_its_head_not_copied_to_it() -> None:
    written = Written()
    one = _OneWrite(written, asyncio.get_running_loop())  # type: ignore[arg-type]
    large = b"x" * (64 * 1024 + 1)
    one.write(HEAD)
    one.write(large)
    assert written.calls == [HEAD, large]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_responses_over_a_socket_arrive_whole_and_in_order() -> None:
    async def small(_: Any) -> PlainTextResponse:
        return PlainTextResponse("hello")

    async def empty(_: Any) -> Response:
        return Response(status_code=204)

    async def streamed(_: Any) -> StreamingResponse:
        async def parts() -> Any:
            for part in (b"one,", b"two"):
                await asyncio.sleep(0.01)
                yield part

        return StreamingResponse(parts(), media_type="text/plain")

    app = Starlette(routes=[Route("/small", small, methods=["GET", "HEAD"]),
                            Route("/empty", empty), Route("/streamed", streamed)])  # fmt: skip
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, http=OneWriteHttpTools,
                                           log_level="warning", lifespan="off"))  # fmt: skip
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)
        assert server.started, "the server did not start"
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        asked = [("GET", "/small", ""), ("GET", "/streamed", ""), ("HEAD", "/small", ""),
                 ("GET", "/empty", ""), ("GET", "/small", "connection: close\r\n")]  # fmt: skip
        for method, path, more in asked:  # one kept-alive connection, the last one closing it
            writer.write(f"{method} {path} HTTP/1.1\r\nhost: test\r\n{more}\r\n".encode())
        await writer.drain()
        answers = b""
        while chunk := await asyncio.wait_for(reader.read(65536), 5):
            answers += chunk  # to the end: the server closes the connection after the last
        writer.close()
        small_1, stream, head, no_content, small_2 = answers.split(b"HTTP/1.1 ")[1:]
        assert small_1.startswith(b"200 OK")
        assert small_1.endswith(b"\r\n\r\nhello")
        assert b"transfer-encoding: chunked" in stream
        assert stream.endswith(b"4\r\none,\r\n3\r\ntwo\r\n0\r\n\r\n")
        assert b"content-length: 5" in head
        assert head.endswith(b"\r\n\r\n")  # no body
        assert no_content.startswith(b"204 No Content")
        assert no_content.endswith(b"\r\n\r\n")
        assert b"connection: close" in small_2
        assert small_2.endswith(b"\r\n\r\nhello")
    finally:
        server.should_exit = True
        await serving
