"""Outreach's use cases refuse a bad command before they touch the event store: here the store is
never started, so a refusal that reached it would be a RuntimeError instead."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from services.outreach.adapters.store import OutreachApplication
from services.outreach.commands import (
    AttemptContact,
    EstablishContact,
    Inform,
    OutreachHandlers,
    RecordContactDetails,
    RecordOccupation,
)
from shared.casework.commands import Actor, CaseClock, CaseRuntime
from shared.casework.domain import CommandRefused
from shared.contracts.events import ContactDetails
from shared.dates import ImplausibleDate

ANNA = Actor("0180", "user:anna")
YOUTH = uuid.uuid4()
TODAY = date(2026, 3, 2)
TOMORROW = datetime(2026, 3, 3, 9, tzinfo=UTC)


def handlers() -> OutreachHandlers:
    """The handlers on a store that never started."""
    return OutreachHandlers(CaseRuntime[OutreachApplication](), CaseClock(TODAY))


async def test_a_contact_attempt_in_the_future_is_refused_naming_its_field() -> None:
    with pytest.raises(ImplausibleDate) as refused:
        await handlers().attempt_contact(ANNA, AttemptContact(YOUTH, "phone", "reached", TOMORROW))
    assert (refused.value.field, refused.value.reason) == ("attempted_at", "is in the future")


async def test_a_contact_or_information_in_the_future_is_refused_naming_at() -> None:
    with pytest.raises(ImplausibleDate) as contact:
        await handlers().establish_contact(ANNA, EstablishContact(YOUTH, TOMORROW, "phone"))
    with pytest.raises(ImplausibleDate) as information:
        await handlers().inform(ANNA, Inform(YOUTH, TOMORROW, "letter"))
    assert contact.value.field == information.value.field == "at"


async def test_an_occupation_confirmed_before_the_law_is_refused() -> None:
    occupation = RecordOccupation(
        YOUTH, "work", "current", date(2014, 1, 1), confirmed_on=date(2014, 12, 31)
    )
    with pytest.raises(ImplausibleDate) as refused:
        await handlers().record_occupation(ANNA, occupation)
    assert refused.value.field == "confirmed_on"


async def test_contact_details_without_an_address_or_number_are_refused() -> None:
    with pytest.raises(CommandRefused) as refused:
        await handlers().record_contact_details(ANNA, RecordContactDetails(YOUTH, ContactDetails()))
    assert (refused.value.field, refused.value.reason) == (
        "email", "give an e-mail address or a phone number",
    )  # fmt: skip


async def test_a_command_that_passes_its_checks_needs_the_started_store() -> None:
    with pytest.raises(RuntimeError, match="the service has not started"):
        await handlers().attempt_contact(
            ANNA, AttemptContact(YOUTH, "phone", "reached", datetime(2026, 3, 2, 9, tzinfo=UTC))
        )
