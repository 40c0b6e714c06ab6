"""Correcting and withdrawing outreach facts through the store on the real PostgreSQL: the
worklists and the contact clock show the corrected truth, the stored corrections replay, notes and
contact details are stored sealed, and the entry named must be this youth's and the latest."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.outreach.adapters.store import OutreachApplication
from services.outreach.commands import AttemptContact, RecordContactDetails, WorklistQuery
from services.outreach.commands.corrections import (
    Correct,
    OutreachCorrections,
    Withdraw,
    entries_shown,
)
from services.outreach.domain import OutreachCase
from services.outreach.domain.corrections import EntryNotFound
from shared.casework.commands import Actor, CaseClock
from shared.casework.domain import CaseNotFound, CommandRefused
from shared.contracts.events import ContactDetails
from shared.dates import ImplausibleDate
from tests.integration.outreach_support import ANNA, Outreach, outreach

__all__ = ["outreach"]  # the fixture
DAY = date(2026, 3, 2)
TODAY = date(2026, 3, 20)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


def attempt(day: date, outcome: str = "not_reached") -> dict[str, Any]:
    return {"channel": "phone", "outcome": outcome, "attempted_at": at(day).isoformat()}


async def entries(outreach: Outreach, youth: uuid.UUID) -> list[dict[str, Any]]:
    shown = await outreach.on(TODAY).show_case(ANNA, youth)
    return entries_shown(shown.case)


async def test_a_corrected_date_moves_the_clock_and_survives_a_replay(outreach: Outreach) -> None:
    youth = outreach.identify(identified_on=DAY)
    handlers, corrections = outreach.on(TODAY), OutreachCorrections(outreach.runtime,
                                                                    CaseClock(TODAY))  # fmt: skip
    await handlers.attempt_contact(ANNA, AttemptContact(youth, "phone", "not_reached",
                                                        at(date(2026, 3, 18))))  # fmt: skip
    [recorded] = await entries(outreach, youth)
    command = Correct(youth, recorded["event_id"], "wrong_date", attempt(date(2026, 3, 4)),
                      note="datumet i kalendern var fel")  # fmt: skip
    done = await corrections.correct(ANNA, command)
    again = await corrections.correct(ANNA, command)
    assert (done.recorded, again.recorded, again.event_id) == (True, False, done.event_id)
    assert done.event_type == "ContactAttempted"
    row = await outreach.row(youth)
    assert row is not None
    assert (row["first_attempt_on"], row["last_attempt_on"]) == (date(2026, 3, 4),) * 2
    shown = await handlers.show_case(ANNA, youth)
    assert shown.contact_clock is not None
    assert shown.contact_clock["working_days_to_first_attempt"] == 2
    # Stored: the correction replays in a fresh store (dates inside its values too); the note
    # only sealed.
    fresh = OutreachApplication(dict(outreach.application.env))
    try:
        replayed: OutreachCase = fresh.repository.get(youth)
    finally:
        fresh.close()
    assert replayed.clock is not None
    assert replayed.clock["first_attempt_on"] == date(2026, 3, 4)
    assert replayed.entries == shown.case.entries
    state = await outreach.pool.fetchval(
        f'SELECT state FROM "{outreach.schema}".outreachapplication_events'  # noqa: S608
        " WHERE originator_id = $1 ORDER BY originator_version DESC LIMIT 1",
        youth,
    )
    assert b"kalendern" not in state
    shown_entries = await entries(outreach, youth)
    assert shown_entries[0]["corrected"]["by"] == done.event_id
    assert shown_entries[1]["correction"]["with_note"] is True


async def test_a_withdrawn_attempt_puts_the_youth_back_on_the_first_contact_list(
    outreach: Outreach,
) -> None:
    youth = outreach.identify(identified_on=DAY)
    handlers, corrections = outreach.on(TODAY), OutreachCorrections(outreach.runtime,
                                                                    CaseClock(TODAY))  # fmt: skip
    await handlers.attempt_contact(ANNA, AttemptContact(youth, "sms", "not_reached", at(DAY)))
    before = await outreach.row(youth)
    assert before is not None
    assert before["first_attempt_on"] == DAY
    [recorded] = await entries(outreach, youth)
    done = await corrections.withdraw(ANNA, Withdraw(youth, recorded["event_id"], "wrong_youth"))
    assert (done.recorded, done.event_type) == (True, "ContactAttempted")
    total, items = await handlers.worklist(ANNA, WorklistQuery("first_contact"))
    assert (total, items[0].youth_id) == (1, youth)
    row = await outreach.row(youth)
    assert row is not None
    assert (row["first_attempt_on"], row["last_attempt_outcome"]) == (None, None)
    shown = await entries(outreach, youth)
    assert shown[0]["withdrawn"]["reason"] == "wrong_youth"
    assert shown[0]["withdrawn"]["actor"] == ANNA.actor
    # A withdrawn entry cannot be corrected.
    with pytest.raises(CommandRefused) as refused:
        await corrections.correct(ANNA, Correct(youth, recorded["event_id"], "wrong_date",
                                                attempt(DAY)))  # fmt: skip
    assert (refused.value.field, refused.value.conflict) == ("corrects", True)


async def test_the_entry_named_must_be_this_youths_latest_of_this_municipality(
    outreach: Outreach,
) -> None:
    youth, other = outreach.identify(), outreach.identify()
    handlers, corrections = outreach.on(TODAY), OutreachCorrections(outreach.runtime,
                                                                    CaseClock(TODAY))  # fmt: skip
    for who in (youth, other):
        await handlers.attempt_contact(ANNA, AttemptContact(who, "phone", "reached", at(DAY)))
    [mine], [theirs] = await entries(outreach, youth), await entries(outreach, other)
    with pytest.raises(EntryNotFound) as missing:
        await corrections.correct(ANNA, Correct(youth, theirs["event_id"], "other", attempt(DAY)))
    assert missing.value.field == "corrects"
    with pytest.raises(CaseNotFound):
        await corrections.withdraw(Actor("0181", "user:bo"),
                                   Withdraw(youth, mine["event_id"], "other"))  # fmt: skip
    first = await corrections.correct(ANNA, Correct(youth, mine["event_id"], "wrong_value",
                                                    attempt(DAY, "not_reached")))  # fmt: skip
    with pytest.raises(CommandRefused) as stale:
        await corrections.withdraw(ANNA, Withdraw(youth, mine["event_id"], "did_not_happen"))
    assert stale.value.conflict
    assert str(first.event_id) in stale.value.reason
    with pytest.raises(ImplausibleDate) as invalid:
        await corrections.correct(ANNA, Correct(youth, first.event_id, "wrong_date",
                                                attempt(date(2026, 4, 1))))  # fmt: skip
    assert invalid.value.field == "values.attempted_at"


async def test_corrected_contact_details_are_stored_sealed(outreach: Outreach) -> None:
    youth = outreach.identify()
    handlers, corrections = outreach.on(TODAY), OutreachCorrections(outreach.runtime,
                                                                    CaseClock(TODAY))  # fmt: skip
    await handlers.record_contact_details(
        ANNA, RecordContactDetails(youth, ContactDetails(phone="0701234567"))
    )
    [recorded] = await entries(outreach, youth)
    assert "contact_details" not in recorded["values"]
    command = Correct(youth, recorded["event_id"], "wrong_value", {"phone": "0707654321"})
    assert (await corrections.correct(ANNA, command)).recorded
    assert not (await corrections.correct(ANNA, command)).recorded  # the same details: a retry
    rows = await outreach.pool.fetch(
        f'SELECT state FROM "{outreach.schema}".outreachapplication_events'  # noqa: S608
        " WHERE originator_id = $1",
        youth,
    )
    assert all(b"0707654321" not in row["state"] for row in rows)
