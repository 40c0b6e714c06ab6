"""Correcting and withdrawing what was recorded on an outreach case: the entry named must be this
case's and the latest of its corrections, a withdrawn one stands no more, and what the case shows
(the last attempt, the contact clock, the occupation, the owner) is the corrected truth."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from services.outreach.adapters.outbound import entry_event_id, to_integration_event
from services.outreach.adapters.store import case_row
from services.outreach.commands.corrections import entries_shown, parsed
from services.outreach.domain import OutreachCase
from services.outreach.domain.corrections import EntryNotFound
from shared.casework.domain import CaseNotFound, CommandRefused, Why, check_why
from shared.contracts.events import ContactAttempted, OccupationRecorded, OutreachEntryWithdrawn
from tests.unit.casework.events import YOUTH
from tests.unit.outreach.support import ACTOR, at, outreach_case

MARCH_4, MARCH_9 = date(2026, 3, 4), date(2026, 3, 9)
BO = "user:bo"
WITHDRAWN = "names an entry that was withdrawn"


def ids(version: int) -> uuid.UUID:
    return entry_event_id(YOUTH, version)


def why(reason: str = "wrong_date", actor: str = BO) -> Why:
    return Why(reason, None, actor, uuid.uuid4(), datetime(2026, 3, 10, 9, tzinfo=UTC))


def attempted(case: OutreachCase, day: date, outcome: str = "not_reached") -> int:
    case.attempt_contact(uuid.uuid4(), "phone", outcome, at(day), ACTOR, YOUTH)
    return case.version


def attempt_values(day: date, outcome: str = "not_reached") -> dict[str, object]:
    return {"channel": "phone", "outcome": outcome, "attempted_at": at(day)}


def test_a_corrected_date_moves_the_last_attempt_and_the_contact_clock() -> None:
    case = outreach_case()
    version = attempted(case, MARCH_9)
    assert case.clock is not None
    assert case.clock["first_attempt_on"] == MARCH_9
    assert case.correct(version, attempt_values(MARCH_4), why(), ids)
    assert (case.clock["first_attempt_on"], case.last_attempt_on) == (MARCH_4, MARCH_4)
    row = case_row(case)
    assert MARCH_4 in row
    assert MARCH_9 not in row
    corrected = case.entries[version]["corrected"]
    assert (corrected["by"], corrected["actor"], corrected["reason"]) == (case.version, BO,
                                                                          "wrong_date")  # fmt: skip
    # The public event: the same attempt again, naming what it corrects.
    [event] = [to_integration_event(e) for e in case.collect_events()[-1:]]
    assert isinstance(event, ContactAttempted)
    assert event.contact_attempt_id == uuid.UUID(
        case.entries[version]["values"]["contact_attempt_id"]
    )
    assert (event.corrects, event.attempted_at.date()) == (ids(version), MARCH_4)
    assert event.correction is not None
    assert event.correction.reason == "wrong_date"


def test_a_withdrawn_attempt_no_longer_counts_and_is_published_as_withdrawn() -> None:
    case = outreach_case()
    version = attempted(case, MARCH_4, "reached")
    assert case.withdraw(version, why("did_not_happen"), ids)
    assert case.clock is not None
    assert (case.clock["first_attempt_on"], case.clock["first_contact_on"]) == (None, None)
    assert (case.last_attempt_on, case.last_attempt_outcome, case.last_contact_on) == (None,) * 3
    event = to_integration_event(case.collect_events()[-1])
    assert isinstance(event, OutreachEntryWithdrawn)
    assert (event.withdraws, event.withdrawn_event_type) == (ids(version), "ContactAttempted")
    # The same withdrawal again is a retry; for another reason, or a correction of it, refused.
    assert not case.withdraw(version, why("did_not_happen"), ids)
    with pytest.raises(CommandRefused) as refused:
        case.withdraw(version, why("recorded_twice"), ids)
    assert (refused.value.conflict, refused.value.reason) == (True, WITHDRAWN)
    with pytest.raises(CommandRefused) as refused:
        case.correct(version, attempt_values(MARCH_4), why(), ids)
    assert (refused.value.conflict, refused.value.reason) == (True, WITHDRAWN)


def test_a_correction_of_a_correction_names_the_latest() -> None:
    case = outreach_case()
    first = attempted(case, MARCH_9)
    case.correct(first, attempt_values(MARCH_4), why(), ids)
    second = case.version
    with pytest.raises(CommandRefused) as refused:
        case.correct(first, attempt_values(date(2026, 3, 5)), why("wrong_value"), ids)
    assert (refused.value.field, refused.value.conflict) == ("corrects", True)
    assert str(ids(second)) in refused.value.reason
    assert case.correct(second, attempt_values(date(2026, 3, 5)), why(), ids)
    assert case.last_attempt_on == date(2026, 3, 5)
    # The same correction again is a retry: nothing new.
    before = case.version
    assert not case.correct(second, attempt_values(date(2026, 3, 5)), why(), ids)
    assert case.version == before
    shown = entries_shown(case)
    assert [e["corrects"] for e in shown] == [None, ids(first), ids(second)]
    assert shown[0]["corrected"]["by"] == ids(second)
    assert shown[2]["corrected"] is None
    assert shown[2]["withdrawn"] is None


def test_an_event_id_of_no_entry_of_this_case_is_not_found_naming_the_field() -> None:
    case = outreach_case()
    attempted(case, MARCH_4)
    for event_id in (uuid.uuid4(), entry_event_id(uuid.uuid4(), 2)):
        with pytest.raises(EntryNotFound) as refused:
            case.entry_named(event_id, "withdraws", ids)
        assert refused.value.field == "withdraws"
        assert isinstance(refused.value, CaseNotFound)


def test_a_withdrawn_occupation_is_unknown_again_and_a_retried_recording_stays_withdrawn() -> None:
    case = outreach_case()
    occupation = uuid.uuid4()
    recorded = {"occupation_id": occupation, "category": "work", "tense": "current",
                "from_date": date(2026, 1, 1), "to_date": None, "confirmed_on": MARCH_4,
                "actor": ACTOR, "correlation_id": YOUTH}  # fmt: skip
    case.record_occupation(**recorded)  # type: ignore[arg-type]
    version = case.version
    with pytest.raises(CommandRefused) as refused:
        case.correct(version, {"category": "nonsense", "tense": "current",
                               "from_date": date(2026, 1, 1), "to_date": None,
                               "confirmed_on": MARCH_4}, why("wrong_value"), ids)  # fmt: skip
    assert (refused.value.field, refused.value.conflict) == ("values.category", False)
    case.correct(version, {"category": "studies_abroad", "tense": "current",
                           "from_date": date(2026, 1, 1), "to_date": None,
                           "confirmed_on": MARCH_4}, why("wrong_value"), ids)  # fmt: skip
    current = case.current_occupation()
    assert current is not None
    assert current["category"] == "studies_abroad"
    event = to_integration_event(case.collect_events()[-1])
    assert isinstance(event, OccupationRecorded)
    assert event.occupation_id == occupation
    case.withdraw(case.version, why("wrong_youth"), ids)
    assert (case.current_occupation(), case.occupations) == (None, [])
    assert not case.record_occupation(**recorded)  # type: ignore[arg-type]
    assert case.occupations == []


def test_a_withdrawn_assignment_gives_the_case_back_to_the_one_before() -> None:
    case = outreach_case()
    case.assign("team", "north", ACTOR, YOUTH)
    case.assign("caseworker", BO, ACTOR, YOUTH)
    case.withdraw(case.version, why("wrong_value"), ids)
    assert (case.assignee_kind, case.assignee) == ("team", "north")


def test_an_attempt_corrected_to_before_the_clocks_event_no_longer_stops_it() -> None:
    case = outreach_case()
    version = attempted(case, MARCH_4)
    case.correct(version, attempt_values(date(2026, 3, 3)), why(), ids)
    assert case.clock is not None
    assert case.clock["first_attempt_on"] == date(2026, 3, 3)
    # A date before the clock's event does not stop it.
    case.correct(case.version, attempt_values(date(2026, 2, 27)), why(), ids)
    assert case.clock["first_attempt_on"] is None


def test_a_reason_note_or_value_out_of_bounds_is_refused_naming_the_field_not_the_value() -> None:
    with pytest.raises(CommandRefused) as refused:
        check_why("because", None)
    assert refused.value.field == "reason"
    with pytest.raises(CommandRefused) as refused:
        check_why("other", "x" * 301)
    assert refused.value.field == "note"
    with pytest.raises(CommandRefused) as refused:
        Why("because", None, ACTOR, uuid.uuid4(), datetime.now(UTC))
    assert refused.value.field == "reason"
    with pytest.raises(CommandRefused) as refused:
        parsed("ContactAttempted", {"channel": "pigeon-secret", "outcome": "reached",
                                    "attempted_at": "2026-03-04T10:00:00Z"})  # fmt: skip
    assert refused.value.field == "values.channel"
    assert "pigeon-secret" not in str(refused.value)
    with pytest.raises(CommandRefused) as refused:
        parsed("ContactDetailsRecorded", {"phone": "not a phone 070-secret"})
    assert refused.value.field == "values.phone"
    assert "secret" not in str(refused.value)
    with pytest.raises(CommandRefused) as refused:
        parsed("YouthInformed", {"at": "2026-03-04T10:00:00Z", "channel": "sms", "x": 1})
    assert refused.value.field == "values.x"
