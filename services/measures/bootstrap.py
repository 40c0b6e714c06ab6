"""Composition root of the measures service, read top to bottom: the event store of cases and
catalogues (`adapters.store`), the public events it publishes (`adapters.outbound`), the use cases
on them (`commands.MeasuresCommands`, `commands.corrections.MeasuresCorrections`, built once),
and the HTTP API (`entrypoints.http`, whose
routes hand commands to them), assembled as a caseworker service (`shared.casework.bootstrap`:
identify's events in, the outbox relay out)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from services.measures.adapters.outbound import RELAYED, to_integration_event
from services.measures.adapters.store import MeasuresApplication
from services.measures.commands import MeasuresCommands
from services.measures.commands.corrections import MeasuresCorrections
from services.measures.entrypoints.http import routes
from services.measures.entrypoints.http_corrections import correction_routes
from shared.casework.bootstrap import create_case_service
from shared.casework.commands import CaseClock, CaseRuntime
from shared.casework.entrypoints.http import CaseRoutes
from shared.settings import ServiceSettings
from shared.tracing import traced


def create_app(settings: ServiceSettings) -> FastAPI:
    # The event store and read pool, filled when the service starts; the use cases on them.
    runtime = CaseRuntime[MeasuresApplication]()
    clock = CaseClock(settings.today)
    handlers = MeasuresCommands(runtime, clock)
    corrections = MeasuresCorrections(runtime, clock)

    def http_routes(context: CaseRoutes) -> APIRouter:
        router = APIRouter()
        router.include_router(routes(context, handlers))
        router.include_router(correction_routes(context, corrections))
        return router

    app = create_case_service(
        name="measures",
        settings=settings,
        application_class=MeasuresApplication,
        runtime=runtime,
        mapper=to_integration_event,
        relayed=RELAYED,
        routes=http_routes,
    )
    return traced(app, "measures")  # when a collector is named (OTEL_EXPORTER_OTLP_ENDPOINT)
