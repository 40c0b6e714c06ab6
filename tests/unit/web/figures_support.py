"""The coordinator's figure pages over a fake of the services (the casework pages' `FakeApi`), on
the deployment's fixed day, with a coordinator signed in."""

from __future__ import annotations

from datetime import date

from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.web.adapters.config import WebConfig
from services.web.adapters.services_api import ServicesApi
from services.web.adapters.sessions import Session
from services.web.entrypoints.common import Web
from services.web.entrypoints.errors import error_pages
from services.web.entrypoints.scb_pages import scb_routes
from tests.unit.web.youth_support import FakeApi, user

TODAY = date(2026, 3, 2)


def coordinator_client(api: FakeApi, session: Session | None = None) -> TestClient:
    web = Web(config=WebConfig(), api=ServicesApi.__new__(ServicesApi), store=None,
              token_secret="secret", tenants=["0180"], fixed_today=TODAY)  # fmt: skip
    web.api = api  # type: ignore[assignment]
    app = FastAPI()
    for exception, handler in error_pages().items():
        app.add_exception_handler(exception, handler)
    app.include_router(scb_routes(web))
    signed_in = session or user("coordinator")
    app.dependency_overrides[web.signed_in] = lambda: signed_in
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)
