"""One part of the web application in-process for a unit test: its router on a `Web` whose
services are the test's fake and whose signed-in user is the test's session (no sessions store,
no services, no Kafka)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from services.web.adapters.config import WebConfig
from services.web.adapters.services_api import ServicesApi
from services.web.adapters.sessions import Session
from services.web.entrypoints.common import Web
from services.web.entrypoints.errors import error_pages


def page_client(
    api: Any,
    routes: Callable[[Web], APIRouter],
    session: Session,
    *,
    secret: str = "secret",  # noqa: S107 (a unit test's made-up token secret)
    today: date | None = None,
) -> TestClient:
    web = Web(config=WebConfig(), api=ServicesApi.__new__(ServicesApi), store=None,
              token_secret=secret, tenants=["0180"], fixed_today=today)  # fmt: skip
    web.api = api
    app = FastAPI()
    for exception, handler in error_pages().items():
        app.add_exception_handler(exception, handler)
    app.include_router(routes(web))
    app.dependency_overrides[web.signed_in] = lambda: session
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)
