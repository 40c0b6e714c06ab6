"""Composition root of the outreach service: a caseworker service (`shared.casework`) with the
outreach case, its handlers and routes, and the measures service's follow-ups as a further input."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI

from services.outreach.adapters import identities
from services.outreach.adapters.identify_topic import IdentifyTopic
from services.outreach.adapters.letter_mail import MailSettings
from services.outreach.adapters.letters import LetterStore
from services.outreach.adapters.outbound import RELAYED, to_integration_event
from services.outreach.adapters.store import OutreachApplication
from services.outreach.commands import OutreachHandlers, take_in_measures_batch
from services.outreach.commands.backfill import backfill_identities
from services.outreach.commands.corrections import OutreachCorrections
from services.outreach.commands.letters import LetterHandlers, LetterNotFound
from services.outreach.entrypoints.corrections import correction_routes
from services.outreach.entrypoints.fast import fast_routes
from services.outreach.entrypoints.http import routes
from services.outreach.entrypoints.letters import letter_not_found, letter_routes
from services.outreach.entrypoints.metrics import first_contact_figures
from shared.casework.adapters.store import CaseApplication
from shared.casework.bootstrap import create_case_service
from shared.casework.commands import CaseClock, CaseRuntime
from shared.casework.entrypoints.consumers import BatchHandler
from shared.casework.entrypoints.http import CaseRoutes
from shared.contracts.topics import MEASURES_EVENTS
from shared.settings import ServiceSettings
from shared.tracing import traced

log = structlog.get_logger(__name__)


def _measures_batches(application: CaseApplication) -> BatchHandler:
    assert isinstance(application, OutreachApplication)
    return functools.partial(take_in_measures_batch, application)


def _prepare_letters(application: OutreachApplication) -> None:
    """Letters' tables, and the youths' sealed names and addresses kept from identify's events."""
    schema = application.env["POSTGRES_SCHEMA"]
    LetterStore(application.recorder.datastore, schema).create_tables()  # type: ignore[attr-defined]
    application.identify_rows = identities.identify_rows(schema)


async def _backfill(runtime: CaseRuntime[OutreachApplication], settings: ServiceSettings) -> None:
    """Fill the names and addresses a store from before letters lacks (once; `commands.backfill`).
    A failure is logged and tried again at the next start: the service runs on meanwhile."""
    application = runtime.application
    store = identities.BackfillStore(application.recorder.datastore, runtime.schema)  # type: ignore[attr-defined]
    topic = IdentifyTopic(settings.kafka_bootstrap_servers, settings.namespace, settings.tenants)
    try:
        await backfill_identities(store, topic)
    except Exception as error:
        log.error("letters: filling names and addresses failed; tried again at the next start",
                  error=type(error).__name__)  # fmt: skip


def _beside(app: FastAPI, tasks: dict[str, Callable[[], Coroutine[Any, Any, None]]]) -> None:
    """Run `tasks` beside the service once it has started, stopped before it stops: the
    backfill, and the loop counting the overdue first contacts for `GET /metrics`."""
    started = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with started(app):
            running = [asyncio.create_task(run(), name=name) for name, run in tasks.items()]
            try:
                yield
            finally:
                for task in running:
                    task.cancel()
                for task in running:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    app.router.lifespan_context = lifespan


def create_app(settings: ServiceSettings) -> FastAPI:
    # The event store and read pool, filled when the service starts; the use cases on them.
    runtime = CaseRuntime[OutreachApplication]()
    handlers = OutreachHandlers(runtime, CaseClock(settings.today))
    letters = LetterHandlers(runtime, handlers, MailSettings())
    corrections = OutreachCorrections(runtime, CaseClock(settings.today))

    def http_routes(context: CaseRoutes) -> APIRouter:
        router = routes(context, handlers)
        router.include_router(letter_routes(context, letters))
        router.include_router(correction_routes(context, corrections))
        return router

    app = create_case_service(
        name="outreach",
        settings=settings,
        application_class=OutreachApplication,
        runtime=runtime,
        mapper=to_integration_event,
        relayed=RELAYED,
        routes=http_routes,
        also_consume={MEASURES_EVENTS: _measures_batches},
        prepare=_prepare_letters,
        fast_routes=lambda context: fast_routes(context, handlers),
    )
    app.add_exception_handler(LetterNotFound, letter_not_found)
    _beside(app, {
        "identities-backfill": lambda: _backfill(runtime, settings),
        "first-contact-figures": first_contact_figures(runtime, handlers.clock, settings.tenants),
    })  # fmt: skip
    return traced(app, "outreach")  # when a collector is named (OTEL_EXPORTER_OTLP_ENDPOINT)
