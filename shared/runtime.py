"""What every service process shares at run time: logging, the producer, topics, background loops.

A service is a FastAPI app (HTTP commands and queries) whose lifespan runs the service's Kafka loops
(consumers, outbox relay) as background tasks (`shared/loops.py`). The process rides out an outage
of PostgreSQL or Kafka: start-up waits for both, a loop that fails for the world's reasons is
restarted with backoff, `/health/ready` says what is missing (`shared/health.py`), and a command
that needs the database while it is unreachable is answered 503 at once, to be retried with the
same client id. Only a loop that keeps failing for another reason (a bug) makes the process exit 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared import metrics
from shared.api_docs import document
from shared.contracts.topics import all_topic_specs
from shared.health import DependencyWatch, add_health_routes
from shared.infra.kafka_admin import ensure_topics
from shared.key_backup import require_master_key
from shared.logs import RequestContext, adopt_uvicorn_loggers, configure_logging, route_of
from shared.loops import STOP_GRACE_SECONDS, BackgroundLoops
from shared.messaging.failures import POSTGRES_ERRORS, is_transient
from shared.resilience import Interrupted, dependency_of, nudge, until_done
from shared.settings import ServiceSettings

log = structlog.get_logger(__name__)

__all__ = ["BackgroundLoops", "configure_logging", "service_app", "with_closing"]


def idempotent_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
    )


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


class DatabaseGate:
    """ASGI middleware: while the process's last check found PostgreSQL unreachable, a request
    that may need it is answered 503 with Retry-After at once, instead of waiting for a
    connection the pool cannot make (a client retries a command with its client id); a request
    under way when the database is found unreachable is answered so at that moment."""

    def __init__(self, app: Any) -> None:
        self.app = app

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
            # then 503 from `_database_error`): answered 503 early, its write could still
            # commit, and a client retrying without a client id would record it twice.
            await self.app(scope, receive, send)

    async def _guarded(self, watch: DependencyWatch, scope: Any, receive: Any, send: Any) -> None:
        """Run a read; if the database is found unreachable before it answered, answer 503 at
        once (the read is left to end by itself; nothing it does is kept)."""
        answered = started = False

        async def send_once(message: Any) -> None:
            nonlocal started
            if answered:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        request = asyncio.ensure_future(self.app(scope, receive, send_once))
        went_down = asyncio.ensure_future(watch.went_down("PostgreSQL"))
        try:
            await asyncio.wait({request, went_down}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            went_down.cancel()
        if request.done() or started:
            await request
            return
        answered = True
        request.add_done_callback(_retrieve)
        await database_unavailable(send)


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _retrieve(task: asyncio.Future[None]) -> None:
    """The outcome of a request answered 503 before it ended: logged, never raised."""
    if not task.cancelled() and task.exception() is not None:
        log.warning(
            "a request answered 503 ended later with an error",
            error=type(task.exception()).__name__,
        )


async def database_unavailable(send: Any) -> None:
    await send({"type": "http.response.start", "status": 503,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(DATABASE_UNAVAILABLE)).encode()),
                            (b"retry-after", str(RETRY_AFTER_SECONDS).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": DATABASE_UNAVAILABLE})


# The database clients' errors a request may meet while PostgreSQL is unreachable; only those
# `is_transient` calls the world's are answered 503 (the others stay server errors).
_DATABASE_ERRORS: tuple[type[Exception], ...] = (*POSTGRES_ERRORS, ConnectionError)


async def _database_error(request: Request, exc: Exception) -> Response:
    if not is_transient(exc) or dependency_of(exc) == "Kafka":
        raise exc
    log.warning("a request met the database unavailable; answered 503",
                error=type(exc).__name__)  # fmt: skip
    return Response(
        DATABASE_UNAVAILABLE, status_code=503, media_type="application/json",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )  # fmt: skip


Teardown = Callable[[], Awaitable[None]]
Setup = Callable[[FastAPI, BackgroundLoops], Awaitable[Teardown]]


def with_closing(
    build: Callable[[FastAPI, BackgroundLoops, contextlib.AsyncExitStack], Awaitable[None]],
) -> Setup:
    """A service's `setup` that registers each close on `closing` right after each open: an
    attempt that fails (PostgreSQL or Kafka unreachable) closes what it opened, last first, before
    the start-up tries again; the teardown of the attempt that succeeded closes each once."""

    async def setup(app: FastAPI, loops: BackgroundLoops) -> Teardown:
        closing = contextlib.AsyncExitStack()
        try:
            await build(app, loops, closing)
        except BaseException:
            try:
                await closing.aclose()
            except Exception as failed:  # the attempt's own failure is what is said and retried
                log.warning(
                    "start-up: closing a failed attempt failed", error=type(failed).__name__
                )
            raise
        return closing.aclose

    return setup


async def _start(
    app: FastAPI, settings: ServiceSettings, setup: Setup
) -> tuple[BackgroundLoops, Teardown]:
    """Create the topics and run `setup`, each waiting and trying again while the world fails
    it (PostgreSQL or Kafka unreachable): one line when it starts waiting, one when done, never a
    traceback per attempt; the dependency watch says when each goes and comes back. A failure of
    another kind fails the start-up (uvicorn exits 3)."""
    specs = all_topic_specs(prefix=settings.namespace)
    await until_done(
        lambda: ensure_topics(settings.kafka_bootstrap_servers, specs), "start-up: creating topics"
    )
    # Before anything sealed is opened: a key other than the keyring's is refused in one line.
    await until_done(
        lambda: require_master_key(
            settings.database_url.get_secret_value(), settings.master_key.get_secret_value()
        ),
        "start-up",
    )

    async def attempt() -> tuple[BackgroundLoops, Teardown]:
        # A failed attempt's loops are forgotten with it, what it opened closed (`with_closing`).
        loops = BackgroundLoops()
        return loops, await setup(app, loops)

    return await until_done(attempt, "start-up")


async def _unwatch(watching: asyncio.Task[None], watch: DependencyWatch) -> None:
    watching.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watching
    await watch.close()


def service_app(
    *,
    title: str,
    settings: ServiceSettings,
    setup: Setup,
) -> FastAPI:
    """A FastAPI app whose lifespan waits for its dependencies, creates topics, runs `setup`, and
    starts the loops it added; health, metrics and the database gate around its routes.

    `setup` (made by `with_closing`) returns a teardown, run after the loops stopped.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        adopt_uvicorn_loggers()
        tune_garbage_collector()
        watch = DependencyWatch.of(
            settings.database_url.get_secret_value(), settings.kafka_bootstrap_servers
        )
        app.state.dependencies = watch
        watch.on_back = lambda name: nudge()  # a start-up waiting tries again at once
        watching = asyncio.create_task(watch.run(), name="dependency-watch")
        try:
            loops, teardown = await _start(app, settings, setup)
        except Interrupted:  # stopped while it waited: nothing to stop but the watch
            log.info("service stopped while it waited for its dependencies")
            await _unwatch(watching, watch)
            yield
            return
        except BaseException:
            await _unwatch(watching, watch)
            raise
        app.state.loops = loops
        loops.on_failure = lambda exc: watch.suspect(dependency_of(exc) or "PostgreSQL")
        watch.on_back = lambda name: loops.wake()
        loops.start()
        log.info("service started", port=settings.http_port)
        try:
            yield
        finally:
            # With the database down a batch cannot finish: no grace to wait for it.
            await loops.stop(grace=1.0 if watch.down("PostgreSQL") else STOP_GRACE_SECONDS)
            await teardown()
            await _unwatch(watching, watch)
            log.info("service stopped")

    # Docs served from files kaa ships (shared/api_docs.py); FastAPI's own load a CDN.
    # FastAPI's own telemetry stays off whatever the environment says: its spans hold raw paths
    # (youth ids) and exception messages; kaa's own (shared/tracing.py) hold route templates.
    app = FastAPI(
        title=title, lifespan=lifespan, docs_url=None, redoc_url=None,
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )  # fmt: skip
    document(app, title=title)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(DatabaseGate)
    app.add_middleware(Measured)
    # Outermost: a refused body's answer carries the correlation id and has its `request` line.
    app.add_middleware(RequestContext)
    for error in _DATABASE_ERRORS:
        app.add_exception_handler(error, _database_error)

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

    add_health_routes(app, title)

    @app.get("/metrics", include_in_schema=False)
    async def _metrics() -> Response:
        return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE_LATEST)

    return app
