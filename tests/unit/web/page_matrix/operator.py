"""The operator pages' row of the web's page matrix (issue 19): who may use each page, a form each
POST page accepts, and what the fake services answer the endpoints these pages call.

Drift is the operator's alone (its content fragment too), Konsortiet the consortium
administrator's: both check the role themselves, since most of what they show comes from no
service that would refuse (the processes' health, Kafka, the deployment's settings)."""

from typing import Any

OPERATOR = frozenset({"operator"})
ADMINISTRATOR = frozenset({"consortium-admin"})

PAGES: dict[tuple[str, str], frozenset[str] | None] = {
    ("GET", "/drift"): OPERATOR,
    ("GET", "/drift/innehall"): OPERATOR,
    ("GET", "/konsortium"): ADMINISTRATOR,
}
FORMS: dict[str, list[dict[str, str]]] = {}
ANSWERS: dict[tuple[str, str, str], Any] = {
    ("register", "GET", "/v1/dead-events"): {
        "tenant": "0180",
        "items": [
            {
                "event_id": "5f0c7a52-9d3e-4b8e-8a51-0d1f2e3c4b5a",
                "youth_id": "0c6a3f64-2b1e-4d35-9b0e-3f1c2d4e5a6b",
                "event_type": "ContactRecorded",
                "reason": "contact_id: unknown contact",
                "recorded_at": "2026-03-02T08:00:00+00:00",
                "dead_at": "2026-03-02T08:00:01+00:00",
                "source": "kaa.outreach.events.v1",
                "parked": True,
                "reapplied_at": None,
                "discarded_at": None,
                "discarded_by": None,
                "discarded_why": None,
            }
        ],
    },
}
