"""The ASGI middlewares every service's app has around its routes (`shared.runtime.service_app`):
a body limit, the database gate, and the request timer. Each is a plain ASGI callable, one call
per request: a caseworker's request goes through all of them, so each keeps to what it must do
(measured: the request's CPU is what bounds the latency of 50 concurrent caseworkers)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import structlog

from shared import metrics
from shared.health import DependencyWatch
from shared.logs import route_of

log = structlog.get_logger(__name__)


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuse a request body over `limit` bytes with 413 before any route parses it: at once when
    Content-Length declares it, or as soon as a streamed body grows past it."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        received = 0
        started = False

        async def counted() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge
            return message

        async def watched(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Any) -> None:
        body = (
            b'{"detail": "request body: larger than the '
            + str(self.limit).encode()
            + b' bytes a request may carry"}'
        )
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})


class Measured:
    """ASGI middleware: every request's duration into `kaa_http_request_seconds`, labelled with
    the route template it matched (never its path, which may hold ids), method and status."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def answer(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            metrics.http_request(
                route_of(scope), str(scope.get("method")), status, time.perf_counter() - started
            )


DATABASE_UNAVAILABLE = b'{"detail": "the database is unavailable; try again (same client id)"}'
RETRY_AFTER_SECONDS = 2
# Answered whatever the database's state: health, metrics, the documentation, static files.
_UNGATED = ("/health", "/metrics", "/docs", "/openapi", "/static/", "/favicon")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(eq=False)
class _Read:
    """A read under way: the task running it, and whether its answer has begun or was given."""

    task: asyncio.Task[Any]
    started: bool = False
    answered: bool = False


@dataclass(eq=False)
class _Reads:
    """The reads under way against one dependency watch, and the one task that waits for the
    database to go (instead of a waiting task beside every read: two tasks a read cost a fifth
    of a worklist request's CPU, measured)."""

    under_way: set[_Read] = field(default_factory=set)
    waiting: asyncio.Task[None] | None = None

    def watch_for_database(self, watch: DependencyWatch) -> None:
        loop = asyncio.get_running_loop()
        waiting = self.waiting
        if waiting is None or waiting.done() or waiting.get_loop() is not loop:
            self.waiting = loop.create_task(self._answer_when_down(watch))

    async def _answer_when_down(self, watch: DependencyWatch) -> None:
        """When a check finds PostgreSQL gone, every read that has not begun its answer is
        stopped and answered 503 (nothing a read does is kept). One round: while the database is
        down reads are refused at the gate; the first read after it is back waits again."""
        try:
            await watch.went_down("PostgreSQL")
        except RuntimeError:  # the watch belongs to another event loop (a test's client)
            return
        for read in list(self.under_way):
            if not read.started:
                read.answered = True
                read.task.cancel()


class DatabaseGate:
    """ASGI middleware: while the process's last check found PostgreSQL unreachable, a request
    that may need it is answered 503 with Retry-After at once, instead of waiting for a
    connection the pool cannot make (a client retries a command with its client id); a read
    under way when the database is found unreachable is answered so at that moment."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._reads: dict[int, tuple[DependencyWatch, _Reads]] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        watch = getattr(scope.get("app"), "state", None)
        watch = getattr(watch, "dependencies", None) if watch is not None else None
        if (
            scope["type"] != "http"
            or not isinstance(watch, DependencyWatch)
            or str(scope.get("path", "")).startswith(_UNGATED)
        ):
            await self.app(scope, receive, send)
        elif watch.down("PostgreSQL"):
            await database_unavailable(send)
        elif scope.get("method") in _SAFE_METHODS:
            await self._guarded(watch, scope, receive, send)
        else:
            # A command under way runs to its own end (at most the pool's 5 s connect timeout,
            # then 503 from the service's handler of database errors): answered 503 early, its
            # write could still commit, and a client retrying without a client id would record
            # it twice.
            await self.app(scope, receive, send)

    def _reads_of(self, watch: DependencyWatch) -> _Reads:
        known = self._reads.get(id(watch))
        if known is None or known[0] is not watch:
            known = (watch, _Reads())
            self._reads[id(watch)] = known
        return known[1]

    async def _guarded(self, watch: DependencyWatch, scope: Any, receive: Any, send: Any) -> None:
        """Run a read in the request's own task; if the database is found unreachable before it
        began its answer, the read is cancelled and answered 503 at once."""
        task = asyncio.current_task()
        if task is None:  # not run by a task: nothing to stop it with
            await self.app(scope, receive, send)
            return
        read = _Read(task)

        async def send_unless_answered(message: Any) -> None:
            if read.answered:
                return
            read.started = read.started or message["type"] == "http.response.start"
            await send(message)

        reads = self._reads_of(watch)
        reads.under_way.add(read)
        reads.watch_for_database(watch)
        try:
            await self.app(scope, receive, send_unless_answered)
        except asyncio.CancelledError:
            if not read.answered:
                raise  # cancelled by someone else (the server stopping): theirs
        finally:
            reads.under_way.discard(read)
        if read.answered:
            if task.cancelling():
                task.uncancel()
            await database_unavailable(send)


async def database_unavailable(send: Any) -> None:
    await send({"type": "http.response.start", "status": 503,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(DATABASE_UNAVAILABLE)).encode()),
                            (b"retry-after", str(RETRY_AFTER_SECONDS).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": DATABASE_UNAVAILABLE})
