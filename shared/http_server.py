"""The HTTP server's connection: uvicorn's httptools protocol, writing a response's head and body
as one segment.

uvicorn writes a response's status line and headers, then its body, each with a call of its own on
the transport: two `send` system calls per response and two wake-ups of the client reading it (the
largest single share of a service's time under load, measured: 10 % of outreach's samples in the
casework benchmark). Here a head is held until the body written right after it, and both go out
in one call; a head with no body written in the same turn of the event loop goes out on its own
in the next (a streamed response's first part may take longer). Nothing is reordered or lost:
every write (`writelines`, `write_eof` too) follows the head held before it, closing the connection
sends the head first, and aborting it drops what the connection drops.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_HEAD_START = b"HTTP/1."
_HEAD_END = b"\r\n\r\n"
_JOINED_UP_TO = 64 * 1024
"""Bodies up to this size go out in the head's write (a larger one is written after it: copying it
would cost more than the call)."""


class _OneWrite:
    """The connection's transport, writing a response's head with what follows it."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._head: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        head = self._head
        if head is not None:
            self._head = None
            if len(data) <= _JOINED_UP_TO:
                self._transport.write(head + bytes(data))
                return
            self._transport.write(head)  # a large body is not copied to go with it
            self._transport.write(data)
        elif bytes(data[:7]) == _HEAD_START and bytes(data[-4:]) == _HEAD_END:  # a head
            self._head = bytes(data)
            self._loop.call_soon(self.flush)
        else:
            self._transport.write(data)

    def writelines(self, parts: Iterable[bytes | bytearray | memoryview]) -> None:
        self.flush()
        self._transport.writelines(parts)

    def flush(self) -> None:
        head, self._head = self._head, None
        if head is not None and not self._transport.is_closing():
            self._transport.write(head)

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._head = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:  # what does not write: passed on as it is
        return getattr(self._transport, name)


class OneWriteHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol on a transport that writes a head with its body."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_OneWrite(transport, self.loop))  # type: ignore[arg-type]
