"""What the outreach unit tests share: the youth's outreach case in scope since 2 March 2026, and
the caseworker who acts."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.outreach.domain import OutreachCase
from tests.unit.casework.events import TENANT, YOUTH, identified

ACTOR = "user:anna"


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, tzinfo=UTC)


def outreach_case() -> OutreachCase:
    case = OutreachCase(youth_id=YOUTH, tenant=TENANT)
    case.on_identify_event(identified())
    return case
