"""Composition root of the outreach service."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from services.outreach.application import OutreachApplication
from services.outreach.http import routes
from services.outreach.integration import RELAYED, to_integration_event
from shared.casework.bootstrap import create_case_service
from shared.contracts.topics import MEASURES_EVENTS
from shared.settings import ServiceSettings


def _measures_batches(application: Any) -> Any:
    assert isinstance(application, OutreachApplication)
    return application.take_in_measures_batch


def create_app(settings: ServiceSettings) -> FastAPI:
    return create_case_service(
        name="outreach",
        settings=settings,
        application_class=OutreachApplication,
        mapper=to_integration_event,
        relayed=RELAYED,
        routes=routes,
        also_consume={MEASURES_EVENTS: _measures_batches},
    )
