"""The contact clock: when it starts (when the municipality could know), what stops it, and its
figures in working days against the municipality's limit."""

from __future__ import annotations

import uuid
from datetime import date

from services.outreach.adapters.store import case_row
from services.outreach.domain import OutreachCase
from services.outreach.domain.clock import contact_clock
from tests.unit.casework.events import TENANT, YOUTH, identified, notification
from tests.unit.outreach.support import ACTOR, at, outreach_case


def test_the_contact_clock_starts_at_scope_entry_and_stops_at_the_first_attempt() -> None:
    case = outreach_case()
    assert case.clock == {"from": date(2026, 3, 2), "trigger": "scope_entry",
                          "event_on": date(2026, 3, 2), "first_attempt_on": None,
                          "first_contact_on": None}  # fmt: skip
    case.attempt_contact(uuid.uuid4(), "phone", "not_reached", at(date(2026, 3, 4)), ACTOR, YOUTH)
    case.attempt_contact(uuid.uuid4(), "sms", "reached", at(date(2026, 3, 6)), ACTOR, YOUTH)
    assert case.clock is not None
    assert case.clock["first_attempt_on"] == date(2026, 3, 4)
    assert case.clock["first_contact_on"] == date(2026, 3, 6)
    assert case.last_attempt_outcome == "reached"


def test_a_school_notification_restarts_a_stopped_clock_but_not_a_running_one() -> None:
    case = outreach_case()
    case.on_identify_event(notification("absence", date(2026, 3, 3)))
    assert case.clock is not None
    assert case.clock["from"] == date(2026, 3, 2)  # still running: the earlier start counts
    case.attempt_contact(uuid.uuid4(), "phone", "reached", at(date(2026, 3, 4)), ACTOR, YOUTH)
    repeated = notification("left", date(2026, 4, 1))
    case.on_identify_event(repeated)
    case.on_identify_event(repeated)  # redelivered: noted once
    assert case.clock == {"from": date(2026, 4, 1), "trigger": "school_notification",
                          "event_on": date(2026, 4, 1), "first_attempt_on": None,
                          "first_contact_on": None}  # fmt: skip
    assert len(case.notification_ids) == 2  # the absence and the leaver


def test_the_clock_starts_when_the_municipality_could_know_and_the_entry_keeps_its_date() -> None:
    """Issue 13 section 4(b): a youth found in a first population extract entered scope long ago
    (the legal date stays), but the clock of the municipality's response starts the day identify
    recorded it, so the youth is not overdue the moment the municipality learns of them."""
    case = OutreachCase(youth_id=YOUTH, tenant=TENANT)
    case.on_identify_event(identified(date(2026, 2, 22), identified_on=date(2026, 11, 30)))
    assert case.entered_on == date(2026, 2, 22)
    assert case.identified_on == date(2026, 11, 30)
    assert case.clock is not None
    assert (case.clock["from"], case.clock["event_on"]) == (date(2026, 11, 30), date(2026, 2, 22))
    # An attempt the caseworker had made before the youth was identified still answers it.
    case.attempt_contact(uuid.uuid4(), "phone", "reached", at(date(2026, 11, 2)), ACTOR, YOUTH)
    assert case.clock["first_attempt_on"] == date(2026, 11, 2)


def test_a_school_notification_clock_starts_when_it_was_received() -> None:
    case = outreach_case()
    case.attempt_contact(uuid.uuid4(), "phone", "reached", at(date(2026, 3, 4)), ACTOR, YOUTH)
    case.on_identify_event(notification("left", date(2026, 4, 1), received_on=date(2026, 4, 20)))
    assert case.clock is not None
    assert (case.clock["from"], case.clock["event_on"]) == (date(2026, 4, 20), date(2026, 4, 1))
    assert case_row(case)[-1] == date(2026, 4, 1)  # the worklists show the event's day too


def test_a_clock_with_no_attempt_counts_the_working_days_waiting() -> None:
    case = outreach_case()  # in scope since Monday 2 March 2026
    figures = contact_clock(case.clock, date(2026, 3, 9), 10)
    assert figures == {
        "started_on": date(2026, 3, 2), "trigger": "scope_entry", "event_on": date(2026, 3, 2),
        "limit_working_days": 10, "due_on": date(2026, 3, 16), "first_attempt_on": None,
        "working_days_to_first_attempt": None, "working_days_waiting": 5,
        "first_contact_on": None, "working_days_to_first_contact": None, "within_limit": True,
    }  # fmt: skip


def test_a_first_attempt_after_the_due_day_is_outside_the_limit() -> None:
    case = outreach_case()
    case.attempt_contact(uuid.uuid4(), "sms", "not_reached", at(date(2026, 3, 17)), ACTOR, YOUTH)
    case.establish_contact(at(date(2026, 3, 18)), "phone", ACTOR, YOUTH)
    figures = contact_clock(case.clock, date(2026, 3, 30), 10)
    assert figures is not None
    assert (figures["working_days_to_first_attempt"], figures["working_days_waiting"]) == (11, None)
    assert figures["working_days_to_first_contact"] == 12
    assert not figures["within_limit"]


def test_the_limit_is_the_municipalitys_own() -> None:
    case = outreach_case()
    case.attempt_contact(uuid.uuid4(), "sms", "reached", at(date(2026, 3, 9)), ACTOR, YOUTH)
    on_the_day = contact_clock(case.clock, date(2026, 3, 30), 5)
    a_day_short = contact_clock(case.clock, date(2026, 3, 30), 4)
    assert on_the_day is not None
    assert a_day_short is not None
    assert (on_the_day["due_on"], on_the_day["within_limit"]) == (date(2026, 3, 9), True)
    assert (a_day_short["due_on"], a_day_short["within_limit"]) == (date(2026, 3, 6), False)


def test_a_youth_whose_clock_never_ran_has_no_figures() -> None:
    assert contact_clock(None, date(2026, 3, 9), 10) is None
    assert OutreachCase(youth_id=YOUTH, tenant=TENANT).clock is None
