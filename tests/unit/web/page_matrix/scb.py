"""The scb pages' row of the web's page matrix (issue 19): who may use each page, a form each
POST page accepts, and what the fake services answer the endpoints these pages call.

Every page is the coordinator's: the SCB endpoints are the register's coordinators' own (it
refuses anyone else); the quality figures and the lists the services also give caseworkers and
inspectors, so those pages check the role themselves.
"""

from datetime import date
from typing import Any

from services.web.domain.scb import current
from tests.unit.web.youth_support import YOUTH

COORDINATOR = frozenset({"coordinator"})
PERIOD = current(date.today()).name  # the half-year the unit tests' today is in

PAGES: dict[tuple[str, str], frozenset[str] | None] = {
    ("GET", "/scb"): COORDINATOR,
    ("GET", "/scb/kontroll"): COORDINATOR,
    ("POST", "/scb/export"): COORDINATOR,
    ("GET", "/datakvalitet"): COORDINATOR,
    ("GET", "/datakvalitet/export"): COORDINATOR,
    ("GET", "/datakvalitet/listor"): COORDINATOR,
    ("POST", "/datakvalitet/listor/arbetslista"): COORDINATOR,
    ("POST", "/datakvalitet/listor/register"): COORDINATOR,
}
FORMS: dict[str, list[dict[str, str]]] = {
    "/scb/export": [{"period": PERIOD}, {"period": PERIOD, "force": "ja"}],
    "/datakvalitet/listor/arbetslista": [
        {"lista": "first_contact", "format": "xlsx", "namn": "ja"},
        {"lista": "turning_20", "format": "csv"},
    ],
    "/datakvalitet/listor/register": [
        {"status": "in_scope", "occupation": "unknown", "contacted": "", "format": "csv",
         "namn": "ja"},
        {"status": "", "occupation": "", "contacted": "false", "format": "xlsx"},
    ],
}  # fmt: skip
REPORT = {
    "tenant": "0180",
    "period": PERIOD,
    "code_list_version": "1",
    "file_format": "KAA-SCB;1",
    "youths": 1,
    "records": {"1": 1, "2": 0, "3": 0, "4": 0, "5": 0},
    "content_sha256": "0" * 64,
    "errors": 1,
    "warnings": 0,
    "findings": [
        {
            "severity": "error",
            "youth_id": str(YOUTH),
            "block": 1,
            "field": "personnummer",
            "problem": "no population record has named this youth",
        }
    ],
    "event_range": {"positions": {"register/0": 12}, "tenant_events": 12, "last_recorded_at": None},
}
FIGURES = {
    "tenant": "0180",
    "period": PERIOD,
    "from": "2026-01-01",
    "to": "2026-03-02",
    "youths_in_scope": 3,
    "known_occupation_share": 0.6667,
    "contacted_share": 0.3333,
    "measure_share": None,
    "median_working_days_to_first_attempt": 3.5,
    "first_attempt_waits": [
        {"working_days": 2, "episodes": 1},
        {"working_days": 12, "episodes": 1},
    ],
    "episodes_begun": 3,
    "episodes_begun_without_attempt": 1,
    "stale_records": 1,
    "never_contacted": 1,
}
ANSWERS: dict[tuple[str, str, str], Any] = {
    ("register", "GET", "/v1/scb/report"): REPORT,
    ("register", "POST", "/v1/scb/exports"): b"#KAA-SCB;1;0180;2026H1;1\n",
    ("register", "GET", "/v1/scb/exports"): {"tenant": "0180", "period": PERIOD, "exports": [],
                                             "needs_resubmission": False},
    ("register", "GET", "/v1/quality"): FIGURES,
    ("outreach", "GET", "/v1/tenant-rules"): {"tenant": "0180",
                                              "rules": {"first_contact_working_days": 10}},
    ("register", "GET", "/v1/youths"): {"total": 0, "limit": 1000, "offset": 0, "items": []},
}  # fmt: skip
