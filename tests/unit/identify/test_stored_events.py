"""A person's events as they were stored before the aggregate kept typed records (issue 15): they
replay to the same facts, and events recorded now are stored in the same form under the same
topics. `stored_person_events.json` was written by the code before the change (one person: a
baseline naming since when they are folkbokförda, an address change, an SS 12000 observation, a
school's "left" and "started" notifications, a studiebevis, and the episodes these opened)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent

from services.identify.domain import Person
from services.identify.domain.records import EnrolmentRecord, Episode
from services.identify.domain.scope import DEFAULT_POLICY, Completion, Enrolment, Residence
from shared.eventstore import KafkaFedApplication

STORED = json.loads((Path(__file__).parent / "stored_person_events.json").read_text())
NOON = datetime(2026, 3, 2, 12, tzinfo=UTC)
BORN = date(2008, 5, 1)


@pytest.fixture(scope="module")
def store() -> KafkaFedApplication:
    """The platform's event-store application in memory: its mapper and transcodings."""
    return KafkaFedApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def replayed(store: KafkaFedApplication) -> Person:
    person: Any = None
    for stored in STORED["events"]:
        event: Any = store.mapper.to_domain_event(
            StoredEvent(
                originator_id=uuid.UUID(STORED["id"]),
                originator_version=stored["version"],
                topic=stored["topic"],
                state=stored["state"].encode(),
            )
        )
        person = event.mutate(person)
    assert isinstance(person, Person)
    return person


def test_stored_events_replay_to_the_same_facts(store: KafkaFedApplication) -> None:
    person = replayed(store)
    assert person.version == 10
    residences = (
        Residence(date(2020, 1, 1), "0180"),  # the baseline: folkbokförd since the day it names
        Residence(date(2026, 2, 1), "0180"),
    )
    feed_gy = Enrolment("GY", start_date=date(2026, 2, 10), observed_on=date(2026, 3, 2),
                        education_code="NA")  # fmt: skip
    facts = person.facts("0180")
    assert facts is not None
    assert facts.residences == residences
    assert facts.enrolments == (
        Enrolment("GY", start_date=date(2026, 2, 10), end_date=date(2026, 2, 28),
                  observed_on=date(2026, 3, 2), education_code="NA"),  # left, told to 0180
        Enrolment("GY", start_date=date(2026, 3, 5), observed_on=date(2026, 3, 5)),  # started
    )  # fmt: skip
    assert facts.completions == (Completion("studiebevis", date(2026, 3, 3)),)
    elsewhere = person.facts("1480")
    assert elsewhere is not None
    assert elsewhere.enrolments == (feed_gy,), "the notifications count for 0180 alone"
    assert person.episodes == {"0180": (Episode(date(2024, 7, 1), date(2026, 2, 10)),)}
    assert person.open_episodes == {}
    assert person.next_evaluation({"0180": DEFAULT_POLICY}, date(2026, 3, 6)) == date(2028, 5, 1)


def test_the_state_is_typed_records(store: KafkaFedApplication) -> None:
    person = replayed(store)
    assert all(isinstance(e, EnrolmentRecord) for e in person.enrolments)
    assert [(e.school_unit, e.notified_to, e.left_notified) for e in person.enrolments] == [
        ("u1", None, (("0180", date(2026, 2, 28)),)),
        ("u2", "0180", ()),
    ]
    assert [(r.since, r.registered_from) for r in person.registrations] == [
        (date(2026, 1, 1), date(2020, 1, 1)),
        (date(2026, 2, 1), None),
    ]


def without_ids(stored: StoredEvent | dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Topic and state of a stored event, without what differs between runs (the timestamp,
    random youth and episode ids)."""
    if isinstance(stored, StoredEvent):
        topic, state = stored.topic, json.loads(stored.state)
    else:
        topic, state = stored["topic"], json.loads(stored["state"])
    for varying in ("timestamp", "youth_id", "scope_episode_id"):
        state.pop(varying, None)
    return topic, state


def test_events_recorded_now_are_stored_as_before(store: KafkaFedApplication) -> None:
    """The same commands as the stored person's (`u(n)` are the ids they used)."""
    u = uuid.UUID
    person = Person("key-stored")
    stored: list[StoredEvent] = []

    def keep() -> None:
        stored.extend(store.mapper.to_stored_event(e) for e in person.collect_events())

    def population(change: str, effective: date, digest: str, since: date | None = None) -> None:
        person.record_population(
            kommunkod="0180", birth_date=BORN, protected=False, change_type=change,
            effective_date=effective, observed_at=NOON, registered_in_sweden_on=None,
            record_id=u(int=1 if since else 3), tenant="0180", details_digest=digest,
            seal=lambda _: f"sealed-{digest[-1]}", registered_in_municipality_on=since,
        )  # fmt: skip
        keep()

    def evaluate(on: date, actor: str, correlation: int) -> None:
        person.reevaluate(
            {"0180": DEFAULT_POLICY}, on, actor=actor, correlation_id=u(int=correlation)
        )
        keep()

    def notify(n: int, kind: str, on: date, unit: str, **extra: Any) -> None:
        person.record_school_notification(
            notification_id=u(int=n), tenant="0180", kind=kind, on=on, school_type="GY",
            school_unit=unit, birth_date=BORN, reported_by="user:s", **extra,
        )  # fmt: skip
        keep()

    population("baseline", date(2026, 1, 1), "d1", since=date(2020, 1, 1))
    evaluate(date(2026, 3, 2), "feed:population", 2)
    population("address_changed", date(2026, 2, 1), "d2")
    gy = EnrolmentRecord("GY", "u1", start_date=date(2026, 2, 10), education_code="NA")
    person.observe_enrolments([gy], NOON, date(2026, 3, 2), BORN)
    keep()
    evaluate(date(2026, 3, 2), "feed:ss12000", 4)
    notify(5, "left", date(2026, 3, 1), "u1", received_on=date(2026, 3, 2),
           reporting_organisation="org", correlation_id=u(int=6))  # fmt: skip
    notify(7, "started", date(2026, 3, 5), "u2", received_on=date(2026, 3, 5))
    person.record_completion("studiebevis", date(2026, 3, 3), BORN, u(int=8))
    keep()
    evaluate(date(2026, 3, 6), "system", 9)
    assert [without_ids(s) for s in stored] == [without_ids(s) for s in STORED["events"]]


def test_an_observation_stays_as_observed_when_a_school_notification_follows_before_saving(
    store: KafkaFedApplication,
) -> None:
    """The state once shared the observation's dicts with its event, so a "left" notification
    recorded before the batch was saved rewrote the stored observation (issue 15)."""
    person = Person("key-aliasing")
    gy = EnrolmentRecord("GY", "u1", start_date=date(2026, 2, 10), education_code="NA")
    person.observe_enrolments([gy], NOON, date(2026, 3, 2), BORN)
    person.record_school_notification(
        notification_id=uuid.uuid4(), tenant="0180", kind="left", on=date(2026, 3, 1),
        school_type="GY", school_unit="u1", birth_date=BORN, reported_by="user:s",
    )  # fmt: skip
    [observed] = [
        json.loads(store.mapper.to_stored_event(e).state)
        for e in person.collect_events()
        if type(e).__name__ == "EnrolmentsObserved"
    ]
    assert observed["enrolments"] == [
        {"school_type": "GY", "school_unit": "u1", "cancelled": False, "start_date": "2026-02-10",
         "end_date": None, "education_code": "NA", "observed_on": "2026-03-02"},
    ]  # fmt: skip
