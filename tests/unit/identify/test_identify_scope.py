"""The Person aggregate: facts as histories, scope episodes, messy feeds (pure, no I/O)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaa.dev.synthetic_feeds import generate
from services.identify.domain import NotificationIdTaken, Person
from services.identify.domain.records import EnrolmentRecord
from services.identify.domain.scope import DEFAULT_POLICY, TenantPolicy
from shared.contracts.feeds import PopulationFeedMessage

TODAY = date(2026, 3, 2)
BORN = date(2008, 5, 1)
SERVED = {"0180": DEFAULT_POLICY}
NOON = datetime(2026, 3, 2, 12, tzinfo=UTC)


def population(
    person: Person,
    kommun: str = "0180",
    change: str = "baseline",
    effective: date = BORN,
    observed: datetime = NOON,
) -> bool:
    return person.record_population(
        kommunkod=kommun,
        birth_date=BORN,
        protected=False,
        change_type=change,
        effective_date=effective,
        observed_at=observed,
        registered_in_sweden_on=None,
        record_id=uuid.uuid4(),
        tenant="0180",
        details_digest="same details every time",
        seal=lambda youth_id: f"sealed for {youth_id}",
    )


def gy(cancelled: bool = False) -> list[EnrolmentRecord]:
    return [EnrolmentRecord("GY", "u1", cancelled=cancelled, education_code="NA")]


def scope_events(person: Person) -> list[Any]:
    return [e for e in person.collect_events() if "Scope" in type(e).__name__]


def evaluate(
    person: Person, served: dict[str, TenantPolicy] = SERVED, on: date = TODAY
) -> list[Any]:
    person.reevaluate(served, on, actor="feed:population", correlation_id=uuid.uuid4())
    return scope_events(person)


def test_a_dropout_enters_once_and_reenters_with_a_new_episode_but_the_same_youth_id() -> None:
    person = Person("key-1")
    population(person)
    [entered] = evaluate(person)
    assert type(entered).__name__ == "ScopeEntered"
    assert entered.entered_on == date(2024, 7, 1), "dated when compulsory school ended"
    assert evaluate(person) == [], "a second evaluation changes nothing"
    youth_id, first = person.youth_ids["0180"], person.open_episodes["0180"]

    person.observe_enrolments(gy(), NOON, TODAY, BORN)
    [left] = evaluate(person)
    assert (type(left).__name__, left.reason, left.left_on) == ("ScopeLeft", "enrolled", TODAY)

    person.observe_enrolments(gy(cancelled=True), NOON + timedelta(hours=1), TODAY, BORN)
    [again] = evaluate(person)
    assert type(again).__name__ == "ScopeEntered"
    assert person.youth_ids["0180"] == youth_id
    assert person.open_episodes["0180"] != first


def test_moving_between_served_municipalities_gives_each_its_own_youth_id() -> None:
    served = {"0180": DEFAULT_POLICY, "1480": DEFAULT_POLICY}
    person = Person("key-2")
    population(person)
    evaluate(person, served)
    population(
        person,
        kommun="1480",
        change="moved_in",
        effective=date(2026, 2, 1),
        observed=NOON + timedelta(days=1),
    )
    events = evaluate(person, served)
    assert [(type(e).__name__, e.tenant) for e in events] == [
        ("ScopeLeft", "0180"),
        ("ScopeEntered", "1480"),
    ]
    assert events[0].reason == "moved_out"
    assert events[0].left_on == date(2026, 2, 1), "dated at the move, not when it was noticed"
    assert person.youth_ids["0180"] != person.youth_ids["1480"], "no link between municipalities"


def test_the_same_record_twice_adds_nothing_and_an_older_one_does_not_overwrite() -> None:
    person = Person("key-3")
    assert population(person)
    assert not population(person), "the same record delivered again"
    assert population(
        person,
        kommun="1480",
        change="moved_out",
        effective=date(2026, 1, 15),
        observed=NOON + timedelta(days=1),
    )
    assert not population(
        person, kommun="0180", change="moved_in", effective=date(2026, 1, 15), observed=NOON
    ), "stale"
    facts = person.facts()
    assert facts is not None
    assert facts.residence_on(TODAY).kommunkod == "1480"  # type: ignore[union-attr]
    # A record with an older effective date lands in the history, behind the newer fact.
    assert population(
        person,
        kommun="0180",
        change="moved_in",
        effective=date(2025, 6, 1),
        observed=NOON + timedelta(days=2),
    )
    facts = person.facts()
    assert facts is not None
    assert facts.residence_on(TODAY).kommunkod == "1480"  # type: ignore[union-attr]
    assert facts.residence_on(date(2025, 12, 1)).kommunkod == "0180"  # type: ignore[union-attr]


def test_an_older_school_observation_is_ignored_and_the_same_one_adds_nothing() -> None:
    person = Person("key-4")
    assert person.observe_enrolments(gy(), NOON, TODAY, BORN)
    assert not person.observe_enrolments(
        gy(), NOON + timedelta(days=1), TODAY + timedelta(days=1), BORN
    )
    assert not person.observe_enrolments(gy(cancelled=True), NOON - timedelta(days=1), TODAY, BORN)
    assert person.enrolments[0].observed_on == TODAY


def test_a_school_leaver_is_back_in_scope_the_day_they_left() -> None:
    person = Person("key-5")
    population(person)
    person.observe_enrolments(gy(), NOON, date(2025, 8, 20), BORN)
    assert evaluate(person) == []
    person.record_school_notification(
        notification_id=uuid.uuid4(),
        tenant="0180",
        kind="left",
        on=TODAY,
        school_type="GY",
        school_unit="u1",
        birth_date=BORN,
        reported_by="user:school",
    )
    [entered] = evaluate(person)
    assert (type(entered).__name__, entered.entered_on) == ("ScopeEntered", TODAY)


def test_a_studiebevis_is_recorded_but_an_examen_ends_scope() -> None:
    person = Person("key-6")
    population(person)
    evaluate(person)
    person.record_completion("studiebevis", date(2026, 2, 1), BORN, uuid.uuid4())
    assert evaluate(person) == []
    person.record_completion("gymnasieexamen", date(2026, 2, 20), BORN, uuid.uuid4())
    [left] = evaluate(person)
    assert (left.reason, left.left_on) == ("completed", date(2026, 2, 20))


def test_the_next_evaluation_is_the_next_date_time_alone_changes_scope() -> None:
    person = Person("key-7")
    population(person)
    assert person.next_evaluation(SERVED, date(2024, 1, 1)) == date(2024, 7, 1)
    assert person.next_evaluation(SERVED, TODAY) == date(2028, 5, 1)


FACTS = st.lists(
    st.tuples(
        st.sampled_from(["population", "school", "completion"]),
        st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 3, 1)),
        st.sampled_from(["0180", "1480"]),
        st.booleans(),
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda f: (f[0], f[1]),
)


def replay(facts: list[tuple[str, date, str, bool]]) -> Person:
    person = Person("key-replay")
    for kind, day, kommun, flag in facts:
        observed = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        if kind == "population":
            population(person, kommun=kommun, change="moved_in", effective=day, observed=observed)
        elif kind == "school":
            person.observe_enrolments(gy(cancelled=flag), observed, day, BORN)
        else:
            person.record_completion(
                "gymnasieexamen" if flag else "studiebevis", day, BORN, uuid.uuid4()
            )
    return person


@settings(max_examples=60)
@given(FACTS, st.randoms(use_true_random=False))
def test_any_delivery_order_that_respects_source_timestamps_gives_the_same_final_state(
    facts: list[tuple[str, date, str, bool]], rng: random.Random
) -> None:
    ordered = sorted(facts, key=lambda f: f[1])
    # Another interleaving: each source's records keep their own timestamp order.
    by_source: dict[str, list[tuple[str, date, str, bool]]] = {}
    for fact in ordered:
        by_source.setdefault(fact[0], []).append(fact)
    shuffled: list[tuple[str, date, str, bool]] = []
    while any(by_source.values()):
        source = rng.choice([s for s, queue in by_source.items() if queue])
        shuffled.append(by_source[source].pop(0))
    first, second = replay(ordered), replay(shuffled)
    assert first.facts() == second.facts()
    for person in (first, second):
        person.reevaluate(
            {"0180": DEFAULT_POLICY, "1480": DEFAULT_POLICY},
            TODAY,
            actor="feed:x",
            correlation_id=uuid.uuid4(),
        )
    assert first.open_episodes.keys() == second.open_episodes.keys()


def test_new_details_of_a_youth_in_scope_are_announced_sealed_and_the_same_ones_are_not() -> None:
    person = Person("key-details")
    population(person)
    evaluate(person)
    youth_id = person.youth_ids["0180"]
    person.collect_events()

    def record(digest: str, effective: date) -> list[Any]:
        person.record_population(
            kommunkod="0180", birth_date=BORN, protected=False, change_type="address_changed",
            effective_date=effective, observed_at=NOON, registered_in_sweden_on=None,
            record_id=uuid.uuid4(), tenant="0180", details_digest=digest,
            seal=lambda y: f"sealed {digest} for {y}",
        )  # fmt: skip
        return [e for e in person.collect_events() if type(e).__name__ == "DetailsAnnounced"]

    [announced] = record("a new address", date(2026, 2, 1))
    assert announced.personal_details == f"sealed a new address for {youth_id}"
    assert announced.youth_id == youth_id
    assert record("a new address", date(2026, 2, 1)) == [], "the same record again: nothing"


# -- issue 13: dates from the facts, notifications for the municipality notified ---------------


def baseline(
    person: Person,
    born: date,
    extract: date,
    registered: date | None = None,
    kommun: str = "0180",
    tenant: str = "0180",
) -> bool:
    return person.record_population(
        kommunkod=kommun, birth_date=born, protected=False, change_type="baseline",
        effective_date=extract, observed_at=NOON, registered_in_sweden_on=None,
        record_id=uuid.uuid4(), tenant=tenant, details_digest="d", seal=lambda y: f"s {y}",
        registered_in_municipality_on=registered,
    )  # fmt: skip


def ended_gy(end: date) -> list[EnrolmentRecord]:
    return [
        EnrolmentRecord("GY", "u1", start_date=date(2023, 8, 20), end_date=end, education_code="NA")
    ]


def test_a_baseline_extract_date_is_not_the_day_the_youth_became_folkbokford() -> None:
    """The trial of issue 13: born 2008-01-03, GY ended 2026-02-21, found in a baseline extract
    dated 2026-10-31 and loaded 2026-11-30. The episode is dated from the facts (the day after the
    enrolment ended); the day the municipality learned of it is the load day."""
    born, load = date(2008, 1, 3), date(2026, 11, 30)
    person = Person("key-extract")
    person.observe_enrolments(ended_gy(date(2026, 2, 21)), NOON, date(2026, 3, 2), born)
    baseline(person, born, extract=date(2026, 10, 31))
    [entered] = evaluate(person, on=load)
    assert entered.entered_on == date(2026, 2, 22), "not the extract's date"
    assert entered.identified_on == load
    assert entered.school_background == "GY"


def test_a_baseline_that_says_since_when_dates_the_residence_from_it() -> None:
    born = date(2008, 1, 3)
    person = Person("key-moved-in")
    baseline(person, born, extract=date(2026, 10, 31), registered=date(2025, 9, 1))
    [entered] = evaluate(person, on=date(2026, 11, 30))
    assert entered.entered_on == date(2025, 9, 1), "folkbokförd here since then"
    facts = person.facts()
    assert facts is not None
    assert facts.residence_on(date(2025, 8, 31)) is None


def test_a_move_is_still_dated_by_its_effective_date() -> None:
    born = date(2008, 1, 3)
    person = Person("key-move")
    person.record_population(
        kommunkod="0180", birth_date=born, protected=False, change_type="moved_in",
        effective_date=date(2026, 5, 4), observed_at=NOON, registered_in_sweden_on=None,
        record_id=uuid.uuid4(), tenant="0180", details_digest="d", seal=lambda y: f"s {y}",
    )  # fmt: skip
    [entered] = evaluate(person, on=date(2026, 6, 1))
    assert entered.entered_on == date(2026, 5, 4)


def notify(person: Person, tenant: str, kind: str = "left", **extra: Any) -> bool:
    return person.record_school_notification(
        notification_id=extra.pop("notification_id", uuid.uuid4()), tenant=tenant, kind=kind,
        on=extra.pop("on", TODAY), school_type="GY", school_unit="u1", birth_date=BORN,
        reported_by=f"user:school-{tenant}", **extra,
    )  # fmt: skip


BOTH = {"0180": DEFAULT_POLICY, "1480": DEFAULT_POLICY}


def enrolled_in(kommun: str) -> Person:
    person = Person(f"key-enrolled-{kommun}")
    baseline(person, BORN, extract=date(2026, 1, 1), kommun=kommun, tenant=kommun)
    person.observe_enrolments(gy(), NOON, date(2025, 8, 20), BORN)
    assert evaluate(person, BOTH) == []
    return person


def test_a_notification_to_one_municipality_never_puts_a_youth_in_anothers_scope() -> None:
    """Issue 13 section 3, both directions: a reporter of 0180 tells 0180 that a student
    folkbokförd in 1480 left: 1480's register does not change; only the notification to 1480
    (the hemkommun, as skollagen 15 kap. 15 § says) does."""
    for home, other in (("1480", "0180"), ("0180", "1480")):
        person = enrolled_in(home)
        assert notify(person, other)
        assert evaluate(person, BOTH) == [], f"{other}'s notification changed {home}'s scope"
        assert notify(person, home)
        [entered] = evaluate(person, BOTH)
        assert (entered.tenant, entered.entered_on) == (home, TODAY)


def test_a_started_notification_to_another_municipality_does_not_take_a_youth_out_of_scope() -> (
    None
):
    person = Person("key-started")
    baseline(person, BORN, extract=date(2026, 1, 1), kommun="1480", tenant="1480")
    [entered] = evaluate(person, BOTH)
    assert entered.tenant == "1480"
    assert notify(person, "0180", kind="started", on=date(2026, 2, 1))
    assert evaluate(person, BOTH) == []
    assert person.next_evaluation(BOTH, TODAY) == date(2028, 5, 1)  # the 20th birthday


def test_a_notification_id_names_one_notification() -> None:
    """Issue 13 section 5: a 1480 reporter reusing the id a 0180 reporter used for the same
    person is refused (it was a KeyError, a 500); the same notification again is a repeat."""
    person = Person("key-ids")
    baseline(person, BORN, extract=date(2026, 1, 1))
    taken = uuid.uuid4()
    assert notify(person, "0180", notification_id=taken)
    assert not notify(person, "0180", notification_id=taken), "the same notification again"
    with pytest.raises(NotificationIdTaken):
        notify(person, "1480", notification_id=taken)
    with pytest.raises(NotificationIdTaken):
        notify(person, "0180", notification_id=taken, kind="absence")
    assert "1480" not in person.youth_ids, "nothing recorded for the refused one"


def test_the_generated_municipality_says_since_when_each_youth_is_folkbokford(
    tmp_path: Path,
) -> None:
    """`kaa feed generate` writes `registered_in_municipality_on` like Navet, so no generated
    youth looks as if they arrived on the baseline extract's date (issue 13 section 4a)."""
    today = date(2026, 11, 30)
    made = generate(300, "0180", 7, tmp_path, today)
    records = [
        PopulationFeedMessage.model_validate_json(line).record
        for line in made.population.read_text().splitlines()
    ]
    baselines = [r for r in records if r.change_type == "baseline"]
    assert all(r.registered_in_municipality_on is not None for r in baselines)
    assert all(r.registered_in_municipality_on <= r.effective_date for r in baselines)  # type: ignore[operator]
    assert {r.registered_in_municipality_on == r.birth_date for r in baselines} == {True, False}
    extract = baselines[0].effective_date
    entered = []
    for record in baselines:
        person = Person(record.personnummer)
        person.record_population(
            kommunkod=record.kommunkod, birth_date=record.birth_date, protected=False,
            change_type="baseline", effective_date=record.effective_date, observed_at=NOON,
            registered_in_sweden_on=None, record_id=uuid.uuid4(), tenant="0180",
            details_digest="d", seal=lambda y: f"s {y}",
            registered_in_municipality_on=record.registered_in_municipality_on,
        )  # fmt: skip
        entered += [e.entered_on for e in evaluate(person, on=today)]
    assert entered, "some generated youths are in scope"
    assert extract not in entered, "no episode is dated by the extract"
