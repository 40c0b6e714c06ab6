"""The coordinator's figure pages over a fake of the services (the casework pages' `FakeApi`), on
the deployment's fixed day, with a coordinator signed in."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from services.web.adapters.sessions import Session
from services.web.entrypoints.scb_pages import scb_routes
from tests.unit.web.site_support import page_client
from tests.unit.web.youth_support import FakeApi, user

TODAY = date(2026, 3, 2)


def coordinator_client(api: FakeApi, session: Session | None = None) -> TestClient:
    return page_client(api, scb_routes, session or user("coordinator"), today=TODAY)
