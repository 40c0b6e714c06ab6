"""The person's fact events made without the library's per-call machinery (`domain/triggers.py`)
are the library's own events, and a save's facts stored as one `FactsRecorded`
(`domain/facts.py`) replay to exactly the person that was saved, its events numbered without
gaps."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

from services.identify.domain import FactsRecorded, Person, compact, triggers
from services.identify.domain.records import EnrolmentRecord
from services.identify.domain.scope import DEFAULT_POLICY
from shared.eventstore import KafkaFedApplication
from shared.pseudonym import person_id

NOON = datetime(2026, 3, 2, 12, tzinfo=UTC)
BORN = date(2006, 5, 1)
KEY = "key-triggers"


@pytest.fixture(scope="module")
def store() -> KafkaFedApplication:
    return KafkaFedApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def state(person: Person) -> dict[str, Any]:
    """What the person knows, without the times of its events and its unsaved events."""
    varying = {"_pending_events", "_created_on", "_modified_on", "_facts_at_version"}
    return {k: v for k, v in vars(person).items() if k not in varying}


def commands(fast: bool) -> Person:
    """A person new to identify: a baseline, an SS 12000 observation, a completion, a scope
    decision, a move; each fact through the fast path or the library's."""
    triggers.FAST = fast
    try:
        registered = Person.Registered  # type: ignore[attr-defined]
        person: Person = triggers.created(Person, registered, person_id(KEY), person_key=KEY)
        for change, effective, digest in (("baseline", date(2026, 1, 1), "d1"),
                                          ("address_changed", date(2026, 2, 1), "d2")):  # fmt: skip
            person.record_population(
                kommunkod="0180", birth_date=BORN, protected=False, change_type=change,
                effective_date=effective, observed_at=NOON, registered_in_sweden_on=None,
                record_id=uuid.UUID(int=1), tenant="0180", details_digest=digest,
                seal=lambda _: "sealed", registered_in_municipality_on=date(2020, 1, 1),
            )  # fmt: skip
            if change == "baseline":
                person.reevaluate({"0180": DEFAULT_POLICY}, date(2026, 3, 2), actor="t",
                                  correlation_id=uuid.UUID(int=2))  # fmt: skip
        gy = EnrolmentRecord("GY", "u1", start_date=date(2022, 8, 20), end_date=date(2025, 6, 1))
        person.observe_enrolments([gy], NOON, date(2026, 3, 2), BORN)
        person.observe_enrolments([gy], NOON, date(2026, 3, 2), BORN, source="org")
        person.record_completion("studiebevis", date(2025, 6, 1), BORN, uuid.UUID(int=3))
        return person
    finally:
        triggers.FAST = True


def assert_same_events(made: list[Any], expected: list[Any]) -> None:
    """The same events, state in the same order, but for their time and the random ids."""
    for mine_event, their_event in zip(made, expected, strict=True):
        mine, theirs = dict(vars(mine_event)), dict(vars(their_event))
        assert mine.pop("timestamp").tzinfo == theirs.pop("timestamp").tzinfo
        for varying in ("youth_id", "scope_episode_id"):  # random per run
            assert (varying in mine) == (varying in theirs)
            mine.pop(varying, None), theirs.pop(varying, None)
        assert list(mine) == list(theirs), "the same state in the same order"
        assert mine == theirs


def test_the_fast_events_are_the_librarys() -> None:
    fast, library = commands(fast=True), commands(fast=False)
    assert [type(e) for e in fast.pending_events] == [type(e) for e in library.pending_events]
    assert len(fast.pending_events) == 8, "registered, 2 facts, a decision and details, 3 more"
    assert_same_events(fast.pending_events, library.pending_events)
    library_state, fast_state = state(library), state(fast)
    for known in (library_state, fast_state):
        known.pop("youth_ids"), known.pop("open_episodes"), known.pop("scope_episodes")
        known.pop("personal_details"), known.pop("details_digests")
    assert fast_state == library_state
    assert fast.version == library.version == 8


def test_a_fast_event_refuses_what_the_method_does_not_take() -> None:
    person = commands(fast=True)
    with pytest.raises(TypeError):
        triggers.trigger(person, "_completion_recorded", "x", date(2025, 1, 1), BORN, 1, 2)
    with pytest.raises(TypeError):
        triggers.trigger(person, "_completion_recorded", kind="x", not_a_parameter=1)
    with pytest.raises(TypeError, match="missing arguments"):  # as the library says it
        triggers.trigger(person, "_completion_recorded", kind="x")


def stored_and_replayed(store: KafkaFedApplication, person: Person) -> tuple[list[Any], Person]:
    """The person's unsaved events through the store's mapper and back, replayed from nothing."""
    stored = [store.mapper.to_stored_event(e) for e in person.collect_events()]
    replayed: Any = None
    for row in stored:
        read = StoredEvent(row.originator_id, row.originator_version, row.topic, bytes(row.state))
        domain_event: Any = store.mapper.to_domain_event(read)
        replayed = domain_event.mutate(replayed)
    return stored, replayed


def test_a_saves_facts_are_stored_as_one_event_and_replay_to_the_same_person(
    store: KafkaFedApplication,
) -> None:
    person = commands(fast=True)
    assert [(type(e).__name__, e.originator_version) for e in person.pending_events] == [
        ("Registered", 1), ("PopulationRecorded", 2), ("ScopeEntered", 3),
        ("PopulationRecorded", 4), ("DetailsAnnounced", 5), ("EnrolmentsObserved", 6),
        ("OrganiserEnrolmentsObserved", 7), ("CompletionRecorded", 8),
    ]  # fmt: skip
    facts_before = person.facts("0180")
    compact(person)
    # Runs of facts held together; every event numbered again, one version each, no gaps.
    assert [(type(e).__name__, e.originator_version) for e in person.pending_events] == [
        ("FactsRecorded", 1), ("ScopeEntered", 2), ("PopulationRecorded", 3),
        ("DetailsAnnounced", 4), ("FactsRecorded", 5),
    ]  # fmt: skip
    assert person.version == 5
    assert "_facts_at_version" not in vars(person), "facts kept by version: another state's"
    assert person.facts("0180") == facts_before
    stored, replayed = stored_and_replayed(store, person)
    assert replayed.version == person.version == 5
    assert state(replayed) == state(person)
    assert replayed.facts("0180") == person.facts("0180")
    assert any(s.topic == FactsRecorded.TOPIC for s in stored)


def test_the_held_facts_are_filed_under_a_name_that_never_changes() -> None:
    """Stored events are found again by their topic: moving the class must not change it."""
    stored = "services.identify.domain:Person.FactsRecorded"
    assert get_topic(FactsRecorded) == FactsRecorded.TOPIC == stored
    assert resolve_topic(stored) is FactsRecorded


def test_held_facts_of_a_class_upcast_since_read_through_its_upcasts(
    store: KafkaFedApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = commands(fast=True)
    compact(person)
    stored = [store.mapper.to_stored_event(e) for e in person.collect_events()]
    upcast: list[dict[str, Any]] = []
    completion = Person.CompletionRecorded  # type: ignore[attr-defined]
    monkeypatch.setattr(completion, "class_version", 2, raising=False)
    monkeypatch.setattr(completion, "upcast_v1_v2", staticmethod(upcast.append), raising=False)
    replayed: Any = None
    for row in stored:
        read = StoredEvent(row.originator_id, row.originator_version, row.topic, bytes(row.state))
        domain_event: Any = store.mapper.to_domain_event(read)
        replayed = domain_event.mutate(replayed)
    assert [state["kind"] for state in upcast] == ["studiebevis"], "the held state was upcast"
    assert replayed.version == person.version
