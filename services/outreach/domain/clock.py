"""The contact clock (Skolverket's advice: contact "as soon as possible"): from when the
municipality could know of a youth to the first attempt and the first contact, in Swedish working
days against the municipality's own limit (`services.outreach.domain` keeps it on the case)."""

from __future__ import annotations

from datetime import date
from typing import Any

from shared.workdays import add_working_days, working_days_between


def new_clock(start: date, trigger: str, event_on: date) -> dict[str, Any]:
    """A clock from `start` (when the municipality could know) about what happened on `event_on`
    (the scope entry, the day the school reported)."""
    return {
        "from": start,
        "trigger": trigger,
        "event_on": event_on,
        "first_attempt_on": None,
        "first_contact_on": None,
    }


def contact_clock(clock: dict[str, Any] | None, as_of: date, limit: int) -> dict[str, Any] | None:
    """The clock's figures as of a day: working days from its start (when the municipality could
    know) to the first attempt and to the first contact, against the municipality's limit
    (`first_contact_working_days`); `event_on` is the day of what started it (the scope entry,
    the school's notification), which may lie before. None when no clock ever ran."""
    if clock is None or clock.get("from") is None:
        return None
    start: date = clock["from"]
    due = add_working_days(start, limit)
    attempt: date | None = clock.get("first_attempt_on")
    contact: date | None = clock.get("first_contact_on")
    attempt_days = working_days_between(start, attempt or as_of)
    return {
        "started_on": start,
        "trigger": clock.get("trigger"),
        "event_on": clock.get("event_on"),
        "limit_working_days": limit,
        "due_on": due,
        "first_attempt_on": attempt,
        "working_days_to_first_attempt": attempt_days if attempt else None,
        "working_days_waiting": None if attempt else attempt_days,
        "first_contact_on": contact,
        "working_days_to_first_contact": (
            working_days_between(start, contact) if contact else None
        ),
        "within_limit": (attempt or as_of) <= due,
    }
