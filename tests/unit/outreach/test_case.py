"""The outreach case's rules: dates that cannot be true, client ids that record once, occupations
that add up, and who owns the case."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from shared.casework.domain import CommandRefused
from shared.codelists import code_list
from shared.dates import ImplausibleDate
from tests.unit.casework.events import YOUTH
from tests.unit.outreach.support import ACTOR, at, outreach_case


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (date(1899, 12, 31), "is before 1900"),
        (date(2014, 12, 31), "is before 2015-01-01, when the activity responsibility began"),
        (date(2007, 4, 30), "is before the youth was born"),  # scope ends 2027-05-01: born 2007
    ],
)
def test_a_contact_or_occupation_dated_before_it_can_have_happened_is_refused(
    day: date, reason: str
) -> None:
    case = outreach_case()
    with pytest.raises(ImplausibleDate) as refused:
        case.attempt_contact(uuid.uuid4(), "phone", "reached", at(day), ACTOR, YOUTH)
    assert (refused.value.field, refused.value.reason) == ("attempted_at", reason)
    with pytest.raises(ImplausibleDate) as refused:
        case.establish_contact(at(day), "phone", ACTOR, YOUTH)
    assert refused.value.field == "at"
    with pytest.raises(ImplausibleDate) as refused:
        case.record_occupation(
            occupation_id=uuid.uuid4(), category="work", tense="current", from_date=day,
            to_date=None, confirmed_on=date(2026, 3, 2), actor=ACTOR, correlation_id=YOUTH,
        )  # fmt: skip
    assert (refused.value.field, refused.value.reason) == ("from_date", reason)
    assert case.pending_events[-1].__class__.__name__ == "ScopeOpened", "nothing recorded"


def test_a_repeated_contact_attempt_is_recorded_once() -> None:
    case = outreach_case()
    attempt = uuid.uuid4()
    assert case.attempt_contact(
        attempt, "letter", "not_reached", at(date(2026, 3, 3)), ACTOR, YOUTH
    )
    assert not case.attempt_contact(
        attempt, "letter", "not_reached", at(date(2026, 3, 3)), ACTOR, YOUTH
    )
    assert len(case.contact_attempt_ids) == 1


def test_a_client_id_taken_by_different_content_is_a_conflict() -> None:
    case = outreach_case()
    attempt = uuid.uuid4()
    assert case.attempt_contact(
        attempt, "letter", "not_reached", at(date(2026, 3, 3)), ACTOR, YOUTH
    )
    with pytest.raises(CommandRefused) as refused:
        case.attempt_contact(attempt, "phone", "reached", at(date(2026, 3, 3)), ACTOR, YOUTH)
    assert (refused.value.field, refused.value.conflict) == ("contact_attempt_id", True)
    occupation = uuid.uuid4()
    record: dict[str, Any] = {
        "occupation_id": occupation, "category": "work", "tense": "current",
        "from_date": date(2026, 1, 1), "to_date": None, "confirmed_on": date(2026, 3, 2),
        "actor": ACTOR, "correlation_id": YOUTH,
    }  # fmt: skip
    assert case.record_occupation(**record)
    assert not case.record_occupation(**record)
    with pytest.raises(CommandRefused) as refused:
        case.record_occupation(**{**record, "category": "internship"})
    assert (refused.value.field, refused.value.conflict) == ("occupation_id", True)
    # confirmed_on left to its default (today) is not content: the retry the next day is the same.
    next_day = {**record, "confirmed_on": date(2026, 3, 3), "confirmed_on_given": False}
    assert not case.record_occupation(**next_day)
    with pytest.raises(CommandRefused):
        case.record_occupation(**{**next_day, "confirmed_on_given": True})


@pytest.mark.parametrize(("method", "field"), [("establish_contact", "contact_id"),
                                                ("inform", "information_id")])  # fmt: skip
def test_a_retried_contact_or_information_with_its_client_id_records_once(
    method: str, field: str
) -> None:
    case = outreach_case()
    client_id = uuid.uuid4()
    record = getattr(case, method)
    assert record(at(date(2026, 3, 3)), "phone", ACTOR, YOUTH, client_id)
    assert not record(at(date(2026, 3, 3)), "phone", ACTOR, YOUTH, client_id)
    with pytest.raises(CommandRefused) as refused:
        record(at(date(2026, 3, 3)), "letter", ACTOR, YOUTH, client_id)
    assert (refused.value.field, refused.value.conflict) == (field, True)
    assert record(at(date(2026, 3, 3)), "phone", ACTOR, YOUTH), "without an id: a new fact"
    kind = "ContactEstablished" if method == "establish_contact" else "YouthInformed"
    assert [type(e).__name__ for e in case.pending_events].count(kind) == 2


@pytest.mark.parametrize(
    ("category", "tense", "from_date", "to_date", "field"),
    [
        ("astronaut", "current", date(2026, 1, 1), None, "category"),
        ("work", "current", date(2026, 3, 1), date(2026, 2, 1), "to_date"),
        ("work", "previous", date(2025, 1, 1), None, "to_date"),
        ("work", "current", date(2026, 4, 1), None, "from_date"),
        ("studies_komvux", "planned", date(2026, 3, 1), None, "from_date"),
    ],
)
def test_an_occupation_that_does_not_add_up_is_refused_naming_the_field(
    category: str, tense: str, from_date: date, to_date: date | None, field: str
) -> None:
    case = outreach_case()
    with pytest.raises(CommandRefused) as refused:
        case.record_occupation(
            occupation_id=uuid.uuid4(), category=category, tense=tense, from_date=from_date,
            to_date=to_date, confirmed_on=date(2026, 3, 2), actor=ACTOR, correlation_id=YOUTH,
        )  # fmt: skip
    assert refused.value.field == field
    assert all(type(e).__name__ != "OccupationRecorded" for e in case.pending_events)


def test_the_current_occupation_is_the_latest_confirmed() -> None:
    case = outreach_case()
    for category, confirmed in (("work", date(2026, 1, 10)), ("internship", date(2026, 2, 10))):
        case.record_occupation(
            occupation_id=uuid.uuid4(), category=category, tense="current",
            from_date=date(2026, 1, 1), to_date=None, confirmed_on=confirmed, actor=ACTOR,
            correlation_id=YOUTH,
        )  # fmt: skip
    current = case.current_occupation()
    assert current is not None
    assert current["category"] == "internship"
    assert current["code_list_version"] == code_list("occupation").version


def test_assignment_and_reassignment() -> None:
    case = outreach_case()
    assert case.assign("team", "team-north", ACTOR, YOUTH)
    assert not case.assign("team", "team-north", ACTOR, YOUTH)
    assert case.assign("caseworker", "user:anna", ACTOR, YOUTH)
    assert (case.assignee_kind, case.assignee) == ("caseworker", "user:anna")
