"""Putting outreach entries right on the real PostgreSQL after the youth left scope, and who may put
an assignment right: an entry recorded while the youth was in scope stays correctable and
withdrawable after the case closed (SCB resubmission and the audit need the record right), while
a new fact for a youth out of scope stays refused; an assignment is corrected or withdrawn by whom
may assign (a coordinator), anyone else refused naming why."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.outreach.commands import Assign, AttemptContact, RecordContactDetails
from services.outreach.commands.corrections import (
    Correct,
    NotAllowedToAssign,
    OutreachCorrections,
    Withdraw,
    entries_shown,
)
from shared.casework.commands import CaseClock
from shared.casework.domain import CommandRefused, NotInScope
from shared.contracts.events import ContactDetails
from tests.integration.outreach_support import ANNA, TENANT, Outreach, outreach

__all__ = ["outreach"]  # the fixture
DAY = date(2026, 3, 2)
TODAY = date(2026, 3, 20)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


class Caller:
    """A caller with roles, as a token's principal is."""

    def __init__(self, subject: str, *roles: str) -> None:
        self.tenant, self.actor, self.roles = TENANT, f"user:{subject}", frozenset(roles)


CASEWORKER = Caller("anna", "caseworker")
COORDINATOR = Caller("cecilia", "coordinator")


async def entry_ids(outreach: Outreach, youth: uuid.UUID) -> dict[str, uuid.UUID]:
    """The latest entry of each kind: its event id."""
    shown = await outreach.on(TODAY).show_case(ANNA, youth)
    return {e["event_type"]: e["event_id"] for e in entries_shown(shown.case)}


async def test_an_entry_is_corrected_and_withdrawn_after_the_youth_left_scope(
    outreach: Outreach,
) -> None:
    youth = outreach.identify(identified_on=DAY)
    handlers = outreach.on(TODAY)
    corrections = OutreachCorrections(outreach.runtime, CaseClock(TODAY))
    await handlers.attempt_contact(ANNA, AttemptContact(youth, "phone", "not_reached",
                                                        at(date(2026, 3, 10))))  # fmt: skip
    await handlers.attempt_contact(ANNA, AttemptContact(youth, "sms", "reached",
                                                        at(date(2026, 3, 12))))  # fmt: skip
    shown = await handlers.show_case(ANNA, youth)
    first, second = (e["event_id"] for e in entries_shown(shown.case))
    outreach.leave(youth, date(2026, 3, 15))
    values = {"channel": "phone", "outcome": "not_reached",
              "attempted_at": at(date(2026, 3, 9)).isoformat()}  # fmt: skip
    corrected = await corrections.correct(ANNA, Correct(youth, first, "wrong_date", values))
    withdrawn = await corrections.withdraw(ANNA, Withdraw(youth, second, "recorded_twice"))
    assert (corrected.recorded, withdrawn.recorded) == (True, True)
    after = await handlers.show_case(ANNA, youth)
    assert not after.case.in_scope
    assert after.case.last_attempt_on == date(2026, 3, 9)
    assert after.case.last_contact_on is None, "the withdrawn contact stands no more"
    row = await outreach.row(youth)
    assert row is not None
    assert row["last_attempt_on"] == date(2026, 3, 9)
    # A retry after leaving is still a retry.
    again = await corrections.withdraw(ANNA, Withdraw(youth, second, "recorded_twice"))
    assert (again.recorded, again.event_id) == (False, withdrawn.event_id)


async def test_a_new_fact_for_a_youth_out_of_scope_is_still_refused(outreach: Outreach) -> None:
    youth = outreach.identify(identified_on=DAY)
    outreach.leave(youth, date(2026, 3, 15))
    with pytest.raises(NotInScope):
        await outreach.on(TODAY).attempt_contact(
            ANNA, AttemptContact(youth, "phone", "not_reached", at(date(2026, 3, 16)))
        )


def assignee(kind: str = "caseworker", who: str = "user:bertil") -> dict[str, Any]:
    return {"assignee_kind": kind, "assignee": who}


async def test_an_assignment_is_corrected_or_withdrawn_by_whom_may_assign(
    outreach: Outreach,
) -> None:
    youth = outreach.identify(identified_on=DAY)
    await outreach.on(TODAY).assign(COORDINATOR, Assign(youth, "caseworker", "user:anna"))
    assigned = (await entry_ids(outreach, youth))["CaseAssigned"]
    corrections = OutreachCorrections(outreach.runtime, CaseClock(TODAY))
    for attempt in (
        corrections.correct(CASEWORKER, Correct(youth, assigned, "wrong_value", assignee())),
        corrections.withdraw(CASEWORKER, Withdraw(youth, assigned, "did_not_happen")),
        corrections.correct(ANNA, Correct(youth, assigned, "wrong_value", assignee())),
    ):
        with pytest.raises(NotAllowedToAssign) as refused:
            await attempt
        assert refused.value.field == "corrects" or refused.value.field == "withdraws"
        assert "coordinator" in refused.value.reason
    shown = await outreach.on(TODAY).show_case(ANNA, youth)
    assert shown.case.assignee == "user:anna", "nothing recorded by a refusal"
    done = await corrections.correct(COORDINATOR, Correct(youth, assigned, "wrong_value",
                                                          assignee("team", "team-north")))  # fmt: skip
    assert done.recorded
    withdrawn = await corrections.withdraw(COORDINATOR,
                                           Withdraw(youth, done.event_id, "did_not_happen"))  # fmt: skip
    assert withdrawn.recorded
    shown = await outreach.on(TODAY).show_case(ANNA, youth)
    assert (shown.case.assignee_kind, shown.case.assignee) == (None, None)


async def test_a_caseworker_still_corrects_other_facts(outreach: Outreach) -> None:
    youth = outreach.identify(identified_on=DAY)
    await outreach.on(TODAY).attempt_contact(
        ANNA, AttemptContact(youth, "phone", "not_reached", at(date(2026, 3, 10)))
    )
    attempt = (await entry_ids(outreach, youth))["ContactAttempted"]
    corrections = OutreachCorrections(outreach.runtime, CaseClock(TODAY))
    done = await corrections.withdraw(CASEWORKER, Withdraw(youth, attempt, "did_not_happen"))
    assert done.recorded


async def test_after_retention_purged_the_youth_no_note_or_details_are_sealed_anew(
    outreach: Outreach,
) -> None:
    """A purged youth's data key is destroyed: a correction may still put the record right, but
    sealing a note or contact details would make the youth a new key (personal data again)."""
    youth = outreach.identify(identified_on=DAY)
    handlers = outreach.on(TODAY)
    corrections = OutreachCorrections(outreach.runtime, CaseClock(TODAY))
    await handlers.attempt_contact(ANNA, AttemptContact(youth, "phone", "not_reached",
                                                        at(date(2026, 3, 10))))  # fmt: skip
    await handlers.record_contact_details(ANNA, RecordContactDetails(youth, ContactDetails(
        phone="070-1234567")))  # fmt: skip
    ids = await entry_ids(outreach, youth)
    outreach.leave(youth, date(2026, 3, 15))
    # Retention, as `kaa retention run` does it: the key destroyed, that recorded.
    await outreach.pool.execute("DELETE FROM keyring.youth_keys WHERE youth_id = $1", youth)
    await outreach.pool.execute(
        "INSERT INTO keyring.destroyed_keys (tenant, youth_id, reason) VALUES ($1, $2, 'retention')",
        TENANT, youth,
    )  # fmt: skip
    outreach.application.data_keys.drop(TENANT, youth)
    attempt = ids["ContactAttempted"]
    with pytest.raises(CommandRefused) as refused:
        await corrections.withdraw(ANNA, Withdraw(youth, attempt, "other", note="fel ungdom"))
    assert (refused.value.field, refused.value.conflict) == ("note", True)
    details = ids["ContactDetailsRecorded"]
    with pytest.raises(CommandRefused) as refused:
        await corrections.correct(ANNA, Correct(youth, details, "wrong_value",
                                                {"phone": "070-7654321"}))  # fmt: skip
    assert (refused.value.field, refused.value.conflict) == ("values", True)
    keys = await outreach.pool.fetchval(
        "SELECT count(*) FROM keyring.youth_keys WHERE youth_id = $1", youth
    )
    assert keys == 0, "no new key made for a purged youth"
    done = await corrections.withdraw(ANNA, Withdraw(youth, attempt, "wrong_youth"))
    assert done.recorded, "without a note the record is still put right"
