"""The inspector's pages over a fake of the register: replays answered per instant, the access
log per search, each call recorded."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from services.web.adapters.sessions import Session
from services.web.entrypoints.inspector_pages import inspector_routes
from tests.unit.web.site_support import page_client

STAYED = uuid.UUID("11111111-1111-4111-8111-111111111111")  # occupation corrected since
NEW = uuid.UUID("22222222-2222-4222-8222-222222222222")  # entered since
GONE = uuid.UUID("33333333-3333-4333-8333-333333333333")  # left since


def user(*roles: str) -> Session:
    now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    return Session("granskare", "0180", roles or ("inspector",), "token", "csrf", now, now)


def row(youth: uuid.UUID, occupation: str | None = "work", **more: Any) -> dict[str, Any]:
    return {"youth_id": str(youth), "status": "in_scope", "entered_on": "2026-01-15",
            "scope_ends_on": "2028-01-01", "left_on": None, "left_reason": None,
            "rule_version": "kaa-2018-07-01", "contacts": 1, "measures": 0,
            "occupation": occupation, **more}  # fmt: skip


SUMMARY: dict[str, int] = {"known": 2, "in_scope": 2, "left_scope": 0, "contacted": 1, "contact_attempts": 1,
           "offered": 0, "measure_offers": 0}  # fmt: skip
THEN: dict[str, Any] = {"events_recorded_by_then": 7, "summary": SUMMARY,
        "youths": [row(STAYED), row(GONE)]}  # fmt: skip
NOW: dict[str, Any] = {"events_recorded_by_then": 12, "summary": {**SUMMARY, "in_scope": 2, "left_scope": 1},
       "youths": [row(STAYED, "studies_komvux"),
                  row(GONE, status="out_of_scope", left_on="2026-02-20", left_reason="enrolled"),
                  row(NEW, occupation=None)]}  # fmt: skip
YOUTH_THEN: dict[str, Any] = {
    "events_recorded_by_then": 7,
    "youth": {
        "youth_id": str(STAYED), "status": "in_scope", "registered_in_error": False,
        "personal_data": "held", "purged_at": None,
        "scope_episodes": [{
            "entered_on": "2026-01-15", "scope_ends_on": "2028-01-01", "identified_on": "2026-01-16",
            "entered_rule_version": "kaa-2018-07-01", "entered_actor": "feed:population",
            "entered_recorded_at": "2026-01-16T08:00:00+00:00",
            "entered_facts": {"age": "18", "folkbokford_in_tenant": "yes", "enrolled_in": "none"},
            "left_on": None, "left_reason": None, "left_rule_version": None,
            "registered_in_error": False,
        }],
        "contacts": [{"channel": "phone", "outcome": "not_reached",
                      "attempted_at": "2026-02-12T09:00:00+00:00", "actor": "user:anna"}],
        "contact_log": [{"kind": "informed", "at": "2026-02-13T09:00:00+00:00",
                         "channel": "letter", "actor": "user:anna"}],
        "occupations": [{"category": "work", "tense": "current", "from_date": "2026-01-01",
                         "to_date": None, "confirmed_on": "2026-02-19", "actor": "user:anna"}],
        "measures": [{"measure_id": "m1", "measure_type": "internship", "offered_on": "2026-02-20",
                      "actor": "user:anna", "content": "Praktik på biblioteket", "text": "open"}],
        "measure_status": [{"measure_id": "m1", "state": "accepted", "offered_on": "2026-02-20",
                            "accepted_on": "2026-02-21"}],
        "plan_revisions": [{"revision": 1, "valid_from": "2026-02-01", "goal": "Komvux",
                            "follow_up_on": "2026-04-01", "evaluation_on": None,
                            "actor": "user:anna", "recorded_at": "2026-02-01T10:00:00+00:00",
                            "text": "open"}],
        "objections": [],
        "corrections": [{"kind": "withdrawn", "target_event_type": "ContactAttempted",
                         "reason": "did_not_happen", "note": "Fel ungdom", "note_text": "open",
                         "actor": "user:anna", "recorded_at": "2026-02-14T09:00:00+00:00"}],
    },
}  # fmt: skip


class FakeRegister:
    """The register's audit and access-log reads: a replay per instant (the first asked gets
    THEN, later ones NOW), recorded with their parameters."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.access: dict[str, Any] = {"total": 0, "items": []}
        self.youth: Any = YOUTH_THEN

    async def call(
        self, service: str, method: str, path: str, token: str, tenant: str, *,
        params: dict[str, Any] | None = None, body: dict[str, Any] | None = None,
    ) -> Any:  # fmt: skip
        assert method == "GET", "the inspector's pages only read"
        assert body is None
        self.calls.append((service, path, dict(params or {})))
        if path == "/v1/audit/register":
            return THEN if params and params["as_of"].startswith("2026-03-01") else NOW
        if path.startswith("/v1/audit/youths/"):
            if isinstance(self.youth, BaseException):
                raise self.youth
            return self.youth
        if path == "/v1/access-log":
            return self.access
        raise AssertionError(f"unexpected call {path}")


def client(api: FakeRegister, session: Session | None = None) -> TestClient:
    return page_client(api, inspector_routes, session or user())
