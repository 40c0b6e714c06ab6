"""The youth's pages over a fake of the services' APIs: a router made on a `Web` whose `api`
answers from a script and records each call, with a signed-in session given."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from services.web.adapters.sessions import Session
from services.web.entrypoints.youth_pages import youth_routes
from tests.unit.web.site_support import page_client

YOUTH = uuid.UUID("5b0a3f1e-7a59-4c1e-9c1d-0a1b2c3d4e5f")
CSRF = "form-token-0123456789"
Answer = Callable[[dict[str, Any] | None, dict[str, Any] | None], Any]


def user(*roles: str) -> Session:
    now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    return Session("anna", "0180", roles or ("caseworker",), "token", CSRF, now, now)


CASE: dict[str, Any] = {
    "youth_id": str(YOUTH), "in_scope": True, "entered_on": "2026-01-05",
    "identified_on": "2026-01-07", "scope_ends_on": "2027-06-30", "left_on": None,
    "left_reason": None, "assignee_kind": None, "assignee": None, "contact_clock": None,
    "last_attempt_on": None, "last_attempt_outcome": None, "last_contact_on": None,
    "informed_on": None, "occupation": "unknown", "occupations": [], "entries": [],
}  # fmt: skip
TIMELINE: dict[str, Any] = {
    "scope_episodes": [{
        "entered_on": "2026-01-05", "scope_ends_on": "2027-06-30", "identified_on": "2026-01-07",
        "entered_rule_version": "kaa-2018-07-01", "entered_actor": "system:identify-feeds",
        "entered_facts": {"on": "2026-01-07", "age": "17", "folkbokford_in_tenant": "yes",
                          "enrolled_in": "none", "compulsory_school_ends": "2025-06-30"},
        "left_on": None, "left_reason": None, "left_rule_version": None,
        "registered_in_error": False,
    }],
}  # fmt: skip


NAMES: dict[str, Any] = {
    "items": [{"youth_id": str(YOUTH), "state": "open", "given_name": "Alva",
               "family_name": "Olsson", "age": 17, "protected": False}],
    "not_found": [],
}  # fmt: skip


class FakeApi:
    """Answers by (service, method, path); an answer that is an exception is raised."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str, str], Any] = {
            ("outreach", "GET", f"/v1/youths/{YOUTH}/case"): CASE,
            ("register", "GET", f"/v1/youths/{YOUTH}"): TIMELINE,
            ("register", "POST", "/v1/identities/batch"): NAMES,
        }
        self.calls: list[tuple[str, str, str, dict[str, Any] | None, dict[str, Any] | None]] = []

    async def call(
        self, service: str, method: str, path: str, token: str, tenant: str, *,
        params: dict[str, Any] | None = None, body: dict[str, Any] | None = None,
    ) -> Any:  # fmt: skip
        self.calls.append((service, method, path, params, body))
        answer = self.answers.get((service, method, path), {})
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def posted(self, path: str) -> list[dict[str, Any] | None]:
        return [body for _, method, p, _, body in self.calls if p == path and method != "GET"]


def client(api: FakeApi, session: Session | None = None) -> TestClient:
    return page_client(api, youth_routes, session or user())
