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
import re
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
from shared.gc_tuning import tune_garbage_collector
from shared.health import DependencyWatch, add_health_routes
from shared.http_middleware import (
    DATABASE_UNAVAILABLE,
    RETRY_AFTER_SECONDS,
    BodyLimit,
    DatabaseGate,
    Measured,
)
from shared.infra.kafka_admin import ensure_topics
from shared.key_backup import require_master_key
from shared.logs import RequestContext, adopt_uvicorn_loggers, configure_logging
from shared.loops import STOP_GRACE_SECONDS, BackgroundLoops
from shared.messaging.failures import POSTGRES_ERRORS, is_transient
from shared.resilience import Interrupted, dependency_of, nudge, until_done
from shared.settings import ServiceSettings

log = structlog.get_logger(__name__)

__all__ = ["BackgroundLoops", "BodyLimit", "configure_logging", "service_app", "with_closing"]


def idempotent_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
    )


_FIELD = re.compile(r"[A-Za-z_][\w.\[\]-]*")
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
