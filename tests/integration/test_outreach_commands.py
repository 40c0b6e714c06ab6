"""Outreach's use cases called as Kafka, the CLI or a test would call them (no HTTP), on the real
PostgreSQL: what they record, what a retry answers, and what they refuse."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from services.outreach.commands import (
    AttemptContact,
    RecordContactDetails,
    RecordOccupation,
    WorklistQuery,
)
from shared import access_log
from shared.casework.commands import Actor
from shared.casework.domain import CaseNotFound, CommandRefused, NotInScope
from shared.contracts.events import ContactDetails
from tests.integration.outreach_support import ANNA, TENANT, Outreach, outreach

__all__ = ["outreach"]  # the fixture
DAY = date(2026, 3, 2)
AT = datetime(2026, 3, 2, 9, tzinfo=UTC)


async def test_a_contact_attempt_is_recorded_once_and_stops_the_clock_in_the_worklists(
    outreach: Outreach,
) -> None:
    youth = outreach.identify(identified_on=DAY)
    handlers = outreach.on(DAY)
    attempt = AttemptContact(youth, "phone", "not_reached", AT, uuid.uuid4())
    first = await handlers.attempt_contact(ANNA, attempt)
    again = await handlers.attempt_contact(ANNA, attempt)
    assert (first.recorded, again.recorded) == (True, False)
    assert first.contact_attempt_id == attempt.contact_attempt_id
    row = await outreach.row(youth)
    assert row is not None
    assert (row["first_attempt_on"], row["last_attempt_outcome"]) == (DAY, "not_reached")
    total, _ = await handlers.worklist(ANNA, WorklistQuery("first_contact"))
    assert total == 0


async def test_the_same_attempt_id_with_other_content_is_a_conflict(outreach: Outreach) -> None:
    youth = outreach.identify()
    handlers = outreach.on(DAY)
    attempt_id = uuid.uuid4()
    await handlers.attempt_contact(ANNA, AttemptContact(youth, "sms", "reached", AT, attempt_id))
    with pytest.raises(CommandRefused) as refused:
        await handlers.attempt_contact(
            ANNA, AttemptContact(youth, "phone", "reached", AT, attempt_id)
        )
    assert (refused.value.field, refused.value.conflict) == ("contact_attempt_id", True)


async def test_another_municipalitys_youth_is_not_found_and_one_out_of_scope_takes_nothing(
    outreach: Outreach,
) -> None:
    youth = outreach.identify()
    attempt = AttemptContact(youth, "phone", "reached", AT)
    with pytest.raises(CaseNotFound):
        await outreach.on(DAY).attempt_contact(Actor("0181", "user:bo"), attempt)
    outreach.leave(youth, date(2026, 2, 1))
    with pytest.raises(NotInScope):
        await outreach.on(DAY).attempt_contact(ANNA, attempt)
    with pytest.raises(CaseNotFound):
        await outreach.on(DAY).attempt_contact(ANNA, AttemptContact(uuid.uuid4(), "sms",
                                                                     "reached", AT))  # fmt: skip


async def test_an_occupation_confirmed_today_by_default_records_once_across_days(
    outreach: Outreach,
) -> None:
    youth = outreach.identify()
    occupation = RecordOccupation(youth, "work", "current", date(2026, 1, 1),
                                  occupation_id=uuid.uuid4())  # fmt: skip
    first = await outreach.on(DAY).record_occupation(ANNA, occupation)
    next_day = await outreach.on(date(2026, 3, 3)).record_occupation(ANNA, occupation)
    assert (first.recorded, next_day.recorded) == (True, False)
    assert first.code_list_version == "2026-1"
    row = await outreach.row(youth)
    assert row is not None
    assert (row["occupation_category"], row["occupation_confirmed_on"]) == ("work", DAY)


async def test_contact_details_are_sealed_and_the_same_details_again_record_nothing(
    outreach: Outreach,
) -> None:
    youth = outreach.identify()
    details = RecordContactDetails(youth, ContactDetails(phone="0701234567"))
    handlers = outreach.on(DAY)
    assert (await handlers.record_contact_details(ANNA, details)).recorded
    assert not (await handlers.record_contact_details(ANNA, details)).recorded
    last = await outreach.pool.fetchrow(
        f'SELECT topic, state FROM "{outreach.schema}".outreachapplication_events'  # noqa: S608
        " WHERE originator_id = $1 ORDER BY originator_version DESC LIMIT 1",
        youth,
    )
    assert last is not None
    topic, state = last
    assert topic.endswith("OutreachCase.ContactDetailsRecorded")
    assert b"0701234567" not in state


async def test_contact_details_for_another_municipalitys_youth_make_no_key(
    outreach: Outreach,
) -> None:
    youth = outreach.identify()
    details = RecordContactDetails(youth, ContactDetails(email="ung@example.se"))
    with pytest.raises(CaseNotFound):
        await outreach.on(DAY).record_contact_details(Actor("0181", "user:bo"), details)
    assert outreach.application.stored_data_key("0181", youth) is None
    assert outreach.application.stored_data_key(TENANT, youth) is None


async def test_showing_a_case_is_written_to_the_access_log(outreach: Outreach) -> None:
    youth = outreach.identify(identified_on=DAY)
    shown = await outreach.on(date(2026, 3, 9)).show_case(ANNA, youth)
    assert shown.occupation == "unknown"
    assert shown.contact_clock is not None
    assert shown.contact_clock["working_days_waiting"] == 5
    async with outreach.pool.acquire() as conn:
        total, entries = await access_log.entries(conn, TENANT, youth)
    assert total == 1
    assert (entries[0]["actor"], entries[0]["what"]) == ("user:anna", "outreach case")
