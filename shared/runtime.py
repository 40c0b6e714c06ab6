"""What every service process shares at run time: logging, the producer, topics, background loops.

A service is a FastAPI app (HTTP commands and queries) whose lifespan runs the service's Kafka loops
(consumers, outbox relay) as background tasks. If a loop dies, the process exits non-zero so the
supervisor restarts it; it never keeps serving HTTP with a dead consumer behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import re
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.api_docs import document
from shared.contracts.topics import all_topic_specs
from shared.infra.kafka_admin import ensure_topics
from shared.logs import RequestContext, adopt_uvicorn_loggers, configure_logging
from shared.settings import ServiceSettings

log = structlog.get_logger(__name__)

__all__ = ["BackgroundLoops", "configure_logging", "service_app"]


def idempotent_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
    )


@dataclass
class BackgroundLoops:
    """The Kafka loops of one process; any of them failing stops the process."""

    loops: dict[str, Callable[[], Awaitable[None]]] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # What /health asks besides: each returns the problems it sees (no personal data), or [].
    checks: list[Callable[[], Awaitable[list[str]]]] = field(default_factory=list)

    def add(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        self.loops[name] = loop

    def check(self, problems: Callable[[], Awaitable[list[str]]]) -> None:
        """Have /health report what `problems()` returns (the service is then degraded)."""
        self.checks.append(problems)

    def parked(self, name: str, count: Callable[[], tuple[int, str | None]]) -> None:
        """Report messages a consumer parked since the process started (count, last reason)."""

        async def problems() -> list[str]:
            parked, last = count()
            if not parked:
                return []
            return [
                f"{name}: {parked} message{'s' if parked != 1 else ''} could not be applied and "
                f"{'were' if parked != 1 else 'was'} parked in the "
                f"dead-letter topics since the start (kaa dlq list); the last: {last}"
            ]

        self.check(problems)

    async def problems(self) -> list[str]:
        """Why the process is degraded: a loop that ended, and what the checks report."""
        found = [f"{task.get_name()}: stopped" for task in self.tasks if task.done()]
        for check in self.checks:
            try:
                found.extend(await check())
            except Exception as exc:
                found.append(f"a health check failed ({type(exc).__name__})")
        return found

    def start(self) -> None:
        for name, loop in self.loops.items():
            task = asyncio.create_task(self._guard(name, loop), name=name)
            self.tasks.append(task)

    async def _guard(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        try:
            await loop()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background loop failed; stopping the process", loop=name)
            # The supervisor restarts us; positions in the database make the restart safe.
            os.kill(os.getpid(), signal.SIGTERM)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


_FIELD = re.compile(r"[A-Za-z_][\w.\[\]-]*")
GC_YOUNG_THRESHOLD = 50_000


def tune_garbage_collector() -> None:
    """Collect the young generation every 50,000 allocations instead of 700.

    A service keeps tens of thousands of aggregates in memory; with the default threshold the
    collector walks them so often that it took a quarter of identify's feed time (measured).
    Nothing here relies on prompt collection of reference cycles.
    """
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


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


def service_app(
    *,
    title: str,
    settings: ServiceSettings,
    setup: Callable[[FastAPI, BackgroundLoops], Awaitable[Callable[[], Awaitable[None]]]],
) -> FastAPI:
    """A FastAPI app whose lifespan creates topics, runs `setup`, and starts the loops it added.

    `setup` returns a teardown coroutine function, run after the loops stopped.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        adopt_uvicorn_loggers()
        tune_garbage_collector()
        await ensure_topics(
            settings.kafka_bootstrap_servers, all_topic_specs(prefix=settings.namespace)
        )
        loops = BackgroundLoops()
        app.state.loops = loops
        teardown = await setup(app, loops)
        loops.start()
        log.info("service started", port=settings.http_port)
        try:
            yield
        finally:
            await loops.stop()
            await teardown()
            log.info("service stopped")

    # Docs served from files kaa ships (shared/api_docs.py); FastAPI's own load a CDN.
    app = FastAPI(title=title, lifespan=lifespan, docs_url=None, redoc_url=None)
    document(app, title=title)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    # Outermost: a refused body's answer carries the correlation id and has its `request` line.
    app.add_middleware(RequestContext)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # "field: problem" answers also carry the errors list every other refusal has.
        content: dict[str, Any] = {"detail": exc.detail}
        if isinstance(exc.detail, str):
            name, said, problem = exc.detail.partition(": ")
            if said and _FIELD.fullmatch(name):
                content["errors"] = [{"field": name, "problem": problem}]
        return JSONResponse(content, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Name the field and the problem; never echo the submitted value back.
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()
        ]
        return JSONResponse(
            status_code=422, content={"detail": "invalid request", "errors": errors}
        )

    @app.get("/health", include_in_schema=False)
    async def health(request: Request) -> dict[str, Any]:
        """`ok`, or `degraded` with the problems (a stopped loop, parked messages): the process
        answers either way; an operator reads why."""
        loops: BackgroundLoops | None = getattr(request.app.state, "loops", None)
        problems = await loops.problems() if loops is not None else []
        if not problems:
            return {"status": "ok", "service": title}
        return {"status": "degraded", "service": title, "problems": problems}

    return app
