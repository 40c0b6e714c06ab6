"""Composition root of the measures service, read top to bottom: the event store of cases and
catalogues (`adapters.store`), the public events it publishes (`adapters.outbound`), and the HTTP
API (`entrypoints.http`, whose routes hand commands to `commands.MeasuresCommands`), assembled as
a caseworker service (`shared.casework.bootstrap`: identify's events in, the outbox relay out)."""

from __future__ import annotations

from fastapi import FastAPI

from services.measures.adapters.outbound import RELAYED, to_integration_event
from services.measures.adapters.store import MeasuresApplication
from services.measures.entrypoints.http import routes
from shared.casework.bootstrap import create_case_service
from shared.settings import ServiceSettings


def create_app(settings: ServiceSettings) -> FastAPI:
    return create_case_service(
        name="measures",
        settings=settings,
        application_class=MeasuresApplication,
        mapper=to_integration_event,
        relayed=RELAYED,
        routes=routes,
    )
