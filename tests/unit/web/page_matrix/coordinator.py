"""The coordinator pages' row of the web's page matrix (issue 19): who may use each page, a form each
POST page accepts, and what the fake services answer the endpoints these pages call."""

from typing import Any

YOUTH = "5b0a3f1e-7a59-4c1e-9c1d-0a1b2c3d4e5f"  # tests.unit.web.youth_support.YOUTH
COORDINATOR = frozenset({"coordinator"})
RULES = {
    "first_contact_working_days": 10,
    "recontact_days": 60,
    "occupation_currency_days": 90,
    "turning_20_notice_days": 60,
    "reoffer_after_days": 30,
}

# The team overview shows every caseworker's load and assigns cases; the rules and the catalogue
# are the municipality's configuration its coordinators keep (the consortium's administrator
# keeps the shared configuration on its own page). Each page checks the role itself, before any
# service is asked; the services refuse others too.
PAGES: dict[tuple[str, str], frozenset[str] | None] = {
    ("GET", "/samordning"): COORDINATOR,
    ("POST", "/samordning/tilldela"): COORDINATOR,
    ("GET", "/samordning/regler"): COORDINATOR,
    ("POST", "/samordning/regler"): COORDINATOR,
    ("POST", "/samordning/insatser"): COORDINATOR,
    ("POST", "/samordning/insatser/ta-bort"): COORDINATOR,
}
FORMS: dict[str, list[dict[str, str]]] = {
    "/samordning/tilldela": [{"ungdom": YOUTH, "assignee_kind": "team", "assignee": "teamet"}],
    "/samordning/regler": [{**{k: str(v) for k, v in RULES.items()}, "recontact_days": "45"}],
    "/samordning/insatser": [{"code": "egen_praktik", "name": "Egen praktik"}],
    "/samordning/insatser/ta-bort": [{"code": "egen_praktik", "shared": "nej"}],
}
RULES_HISTORY = {
    "tenant": "0180",
    "changes": [
        {
            "at": "2026-03-02T08:00:00+00:00",
            "actor": "user:sara",
            "version": 1,
            "changes": {"first_contact_working_days": {"from": 10, "to": 7}},
        }
    ],
}
ANSWERS: dict[tuple[str, str, str], Any] = {
    ("outreach", "GET", "/v1/caseload"): {
        "today": "2026-03-02",
        "first_contact_working_days": 10,
        "occupation_currency_days": 90,
        "holders": [
            {
                "assignee_kind": "team",
                "assignee": "teamet",
                "open": 3,
                "first_contact_overdue": 1,
                "stale_occupation": 2,
            },
            {
                "assignee_kind": None,
                "assignee": None,
                "open": 1,
                "first_contact_overdue": 1,
                "stale_occupation": 0,
            },
        ],
    },
    ("outreach", "GET", "/v1/caseload/cases"): {
        "total": 1,
        "limit": 50,
        "offset": 0,
        "items": [
            {"youth_id": YOUTH, "entered_on": "2026-01-05", "assignee_kind": None, "assignee": None}
        ],
    },
    ("outreach", "PUT", "/v1/youths/{youth_id}/assignment"): {"recorded": True},
    ("outreach", "GET", "/v1/tenant-rules"): {"tenant": "0180", "rules": RULES},
    ("measures", "GET", "/v1/tenant-rules"): {"tenant": "0180", "rules": RULES},
    ("outreach", "GET", "/v1/tenant-rules/history"): RULES_HISTORY,
    ("measures", "GET", "/v1/tenant-rules/history"): {"tenant": "0180", "changes": []},
    ("measures", "GET", "/v1/catalogue/history"): {
        "tenant": "0180",
        "changes": [
            {
                "at": "2026-03-02T08:05:00+00:00",
                "actor": "user:sara",
                "catalogue": "municipality",
                "change": "added",
                "code": "egen_praktik",
                "name": "Egen praktik",
                "description": None,
                "provider": None,
            },
        ],
    },
}
