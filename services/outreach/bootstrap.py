"""Composition root of the outreach service."""

from __future__ import annotations

from fastapi import FastAPI

from services.outreach.application import OutreachApplication
from services.outreach.domain import OutreachCase
from services.outreach.http import routes
from services.outreach.integration import to_integration_event
from shared.case_service import create_case_service
from shared.settings import ServiceSettings


def create_app(settings: ServiceSettings) -> FastAPI:
    return create_case_service(
        name="outreach",
        settings=settings,
        application_class=OutreachApplication,
        mapper=to_integration_event,
        relayed=(OutreachCase.ContactAttempted,),  # type: ignore[attr-defined]
        routes=routes,
    )
