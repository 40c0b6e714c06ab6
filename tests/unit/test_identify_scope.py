"""The first scope rule and the Person aggregate's scope episodes (pure, no I/O)."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from services.identify.domain import Person
from services.identify.scope import EnrolmentFact, PersonFacts, decide, twentieth_birthday

TODAY = date(2026, 3, 1)


def facts(
    *,
    kommunkod: str | None = "0180",
    born: date | None = date(2008, 5, 1),
    status: str = "resident",
    enrolments: tuple[EnrolmentFact, ...] = (),
) -> PersonFacts:
    return PersonFacts(kommunkod=kommunkod, birth_date=born, status=status, enrolments=enrolments)


@pytest.mark.parametrize(
    ("person", "in_scope", "reason"),
    [
        (facts(), True, None),
        (facts(born=date(2006, 3, 1)), False, "turned_20"),
        (facts(born=date(2006, 3, 2)), True, None),
        (facts(born=date(2010, 3, 2)), False, None),
        (facts(kommunkod="1480"), False, "moved_out"),
        (facts(status="emigrated"), False, "emigrated"),
        (facts(status="deceased"), False, "deceased"),
        (facts(enrolments=(EnrolmentFact("GY", False, None, None),)), False, "enrolled"),
        (facts(enrolments=(EnrolmentFact("GYS", False, None, None),)), False, "enrolled"),
        (facts(enrolments=(EnrolmentFact("GY", True, None, None),)), True, None),
        (
            facts(enrolments=(EnrolmentFact("GY", False, date(2024, 8, 1), date(2026, 2, 1)),)),
            True,
            None,
        ),
        (facts(enrolments=(EnrolmentFact("GY", False, date(2026, 8, 1), None),)), True, None),
        (facts(enrolments=(EnrolmentFact("VUXGY", False, None, None),)), True, None),
    ],
)
def test_scope_decision(person: PersonFacts, in_scope: bool, reason: str | None) -> None:
    decision = decide(person, "0180", TODAY)
    assert (decision.in_scope, decision.leaving_reason) == (in_scope, reason)
    assert decision.rule_version == "simple-v1"
    assert decision.facts["tenant"] == "0180"


def test_twentieth_birthday_of_a_leap_day_child() -> None:
    assert twentieth_birthday(date(2008, 2, 29)) == date(2028, 2, 29)
    assert twentieth_birthday(date(2080, 2, 29)) == date(2100, 3, 1)  # 2100 is no leap year
    assert twentieth_birthday(date(2008, 5, 1)) == date(2028, 5, 1)


def _scope_events(person: Person) -> list[str]:
    return [type(e).__name__ for e in person.collect_events() if "Scope" in type(e).__name__]


def test_a_dropout_enters_scope_once_and_reenters_with_a_new_episode_but_same_youth_id() -> None:
    person = Person("key-1")
    correlation = uuid.uuid4()
    person.record_population("0180", date(2008, 5, 1), False, "baseline", TODAY, correlation)
    person.reevaluate(["0180"], TODAY, actor="feed:population", correlation_id=correlation)
    person.reevaluate(["0180"], TODAY, actor="feed:population", correlation_id=correlation)
    assert _scope_events(person) == ["ScopeEntered"]
    youth_id, first_episode = person.youth_ids["0180"], person.open_episodes["0180"]

    person.observe_enrolments(
        [{"school_type": "GY", "cancelled": False, "start_date": None, "end_date": None}],
        TODAY,
        date(2008, 5, 1),
        correlation,
    )
    person.reevaluate(["0180"], TODAY, actor="feed:ss12000", correlation_id=correlation)
    assert _scope_events(person) == ["ScopeLeft"]
    assert "0180" not in person.open_episodes

    person.observe_enrolments(
        [{"school_type": "GY", "cancelled": True, "start_date": None, "end_date": None}],
        TODAY,
        date(2008, 5, 1),
        correlation,
    )
    person.reevaluate(["0180"], TODAY, actor="feed:ss12000", correlation_id=correlation)
    assert _scope_events(person) == ["ScopeEntered"]
    assert person.youth_ids["0180"] == youth_id
    assert person.open_episodes["0180"] != first_episode


def test_moving_between_served_municipalities_closes_one_episode_and_opens_another() -> None:
    person = Person("key-2")
    correlation = uuid.uuid4()
    served = ["0180", "1480"]
    person.record_population("0180", date(2008, 5, 1), False, "baseline", TODAY, correlation)
    person.reevaluate(served, TODAY, actor="feed:population", correlation_id=correlation)
    person.collect_events()
    person.record_population("1480", date(2008, 5, 1), False, "moved_in", TODAY, correlation)
    person.reevaluate(served, TODAY, actor="feed:population", correlation_id=correlation)
    events = [e for e in person.collect_events() if "Scope" in type(e).__name__]
    assert [(type(e).__name__, e.tenant) for e in events] == [  # type: ignore[attr-defined]
        ("ScopeLeft", "0180"),
        ("ScopeEntered", "1480"),
    ]
    assert events[0].reason == "moved_out"  # type: ignore[attr-defined]
    assert person.youth_ids["0180"] != person.youth_ids["1480"], "no link between municipalities"
