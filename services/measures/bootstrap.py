"""Composition root of the measures service."""

from __future__ import annotations

from fastapi import FastAPI

from services.measures.application import MeasuresApplication
from services.measures.http import routes
from services.measures.integration import RELAYED, to_integration_event
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
