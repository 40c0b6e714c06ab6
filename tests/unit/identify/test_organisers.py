"""Enrolments observed per SS 12000 organiser: one organiser's list replaces its own enrolments
only, and an enrolment its organiser stops listing ends the day before (pure, no I/O)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.identify.adapters.feeds import FeedFacts
from services.identify.adapters.policies import tenant_policies
from services.identify.domain import Person
from services.identify.domain.records import EnrolmentRecord
from shared.contracts.feeds import Ss12000FeedMessage
from tests.unit.apps import offline_settings
from tests.unit.identify.test_identify_scope import BORN, NOON, evaluate, population

TODAY = date(2026, 3, 2)
STARTED = date(2024, 8, 19)


def gy(unit: str = "u1", **fields: Any) -> EnrolmentRecord:
    return EnrolmentRecord("GY", unit, education_code="NA", **{"start_date": STARTED, **fields})


def enrolled_person() -> Person:
    person = Person("key-organisers")
    population(person)
    person.observe_enrolments([gy("city")], NOON, TODAY, BORN, source="ss12000.city")
    person.observe_enrolments([gy("free")], NOON, TODAY, BORN, source="ss12000.free")
    return person


def test_each_organiser_replaces_its_own_enrolments_only() -> None:
    person = enrolled_person()
    assert sorted((e.source, e.school_unit) for e in person.enrolments) == [
        ("ss12000.city", "city"),
        ("ss12000.free", "free"),
    ]
    later = NOON + timedelta(hours=1)
    assert person.observe_enrolments([gy("city2")], later, TODAY, BORN, source="ss12000.city")
    units = {e.school_unit: e for e in person.enrolments}
    assert set(units) == {"city", "city2", "free"}, "the free school's enrolment stays"
    assert units["city"].end_date == TODAY - timedelta(days=1), "the one no longer listed ended"
    assert units["free"].end_date is None
    stored = [type(e).__name__ for e in person.collect_events()]
    assert "OrganiserEnrolmentsObserved" in stored
    assert "EnrolmentsObserved" not in stored


def test_an_organiser_observation_older_than_its_last_is_ignored_but_another_s_is_not() -> None:
    person = enrolled_person()
    earlier = NOON - timedelta(hours=1)
    assert not person.observe_enrolments([], earlier, TODAY, BORN, source="ss12000.city")
    assert person.observe_enrolments(
        [gy("free"), gy("free2")], NOON + timedelta(minutes=1), TODAY, BORN, source="ss12000.free"
    )
    assert not person.observe_enrolments([gy("city")], NOON, TODAY, BORN, source="ss12000.city")


def test_a_deleted_person_ends_the_organisers_open_enrolments_and_the_youth_enters_scope() -> None:
    person = Person("key-deleted")
    population(person)
    person.observe_enrolments([gy("city")], NOON, TODAY - timedelta(days=30), BORN, "ss12000.city")
    evaluate(person, on=TODAY - timedelta(days=30))
    assert "0180" not in person.open_episodes, "enrolled: not in scope"
    assert person.observe_enrolments([], NOON + timedelta(days=1), TODAY, BORN, "ss12000.city")
    [entered] = evaluate(person)
    assert type(entered).__name__ == "ScopeEntered"
    assert entered.entered_on == TODAY, "the day after the enrolment ended"
    assert not person.observe_enrolments([], NOON + timedelta(days=2), TODAY, BORN, "ss12000.city")


def test_a_cancelled_or_not_yet_started_enrolment_no_longer_listed_is_dropped() -> None:
    person = Person("key-dropped")
    future = gy("next", start_date=TODAY + timedelta(days=10))
    person.observe_enrolments(
        [gy("gone", cancelled=True), future, gy("ended", end_date=date(2025, 6, 1))],
        NOON, TODAY, BORN, source="ss12000.city",
    )  # fmt: skip
    assert person.observe_enrolments([], NOON + timedelta(hours=1), TODAY, BORN, "ss12000.city")
    assert [(e.school_unit, e.end_date) for e in person.enrolments] == [
        ("ended", date(2025, 6, 1))
    ], "an ended enrolment stays as history; the cancelled and the future one are gone"


def test_the_feeds_files_keep_their_stored_form_and_leave_organisers_alone() -> None:
    person = enrolled_person()
    person.collect_events()
    assert person.observe_enrolments([gy("file")], NOON + timedelta(hours=1), TODAY, BORN)
    [event] = person.collect_events()
    assert type(event).__name__ == "EnrolmentsObserved"
    sources = {e["school_unit"]: e.get("source") for e in event.enrolments}  # type: ignore[attr-defined]
    assert sources == {"city": "ss12000.city", "free": "ss12000.free", "file": None}
    assert {e.school_unit for e in person.enrolments} == {"city", "free", "file"}


def ss12000(live: bool) -> Ss12000FeedMessage:
    return Ss12000FeedMessage.model_validate(
        {
            "record_id": str(uuid.uuid4()), "tenant": "0180", "source": "ss12000.city",
            "observed_at": datetime.now(UTC).isoformat(), "live": live,
            "person": {"id": "p1", "civicNo": {"value": "200805012382"}, "enrolments": []},
        }
    )  # fmt: skip


def test_a_live_change_is_decided_at_once_and_a_bulk_record_waits() -> None:
    assert FeedFacts.decided_at_once(ss12000(live=True))
    assert not FeedFacts.decided_at_once(ss12000(live=False))


def test_identify_waits_for_each_organiser_in_place_of_the_ss12000_source(tmp_path: Path) -> None:
    file = tmp_path / "connectors.json"
    organiser = {"id": "city", "name": "Staden", "base_url": "http://127.0.0.1:9/ss12000"}
    file.write_text(json.dumps({"0180": {"organisers": [organiser, {**organiser, "id": "free"}]}}))
    settings = offline_settings(tenants=["0180", "1480"], connectors_file=file)
    policies = tenant_policies(settings)
    assert policies["0180"].feed_sources == ("population", "ss12000.city", "ss12000.free")
    assert policies["1480"].feed_sources == ("population", "ss12000"), "no organisers: the files"
    file.write_text(json.dumps({"0181": {"organisers": [organiser]}}))
    with pytest.raises(ValueError, match="0181 not served"):
        tenant_policies(settings)


def test_a_back_dated_end_is_the_same_enrolment_ended_on_its_own_day() -> None:
    person = Person("key-back-dated")
    person.observe_enrolments([gy("city")], NOON, TODAY - timedelta(days=45), BORN, "ss12000.c")
    ended = gy("city", end_date=date(2026, 1, 15))
    assert person.observe_enrolments([ended], NOON + timedelta(days=1), TODAY, BORN, "ss12000.c")
    [only] = person.enrolments
    assert only.end_date == date(2026, 1, 15), "not also ended the day before the observation"
    assert only.observed_on == TODAY - timedelta(days=45), "first observed then"


def test_a_school_notification_stays_until_an_observation_lists_its_unit() -> None:
    person = Person("key-notified")
    person.record_school_notification(
        notification_id=uuid.uuid4(), tenant="0180", kind="started", on=date(2026, 2, 1),
        school_type="GY", school_unit="free", birth_date=BORN, reported_by="user:s",
    )  # fmt: skip
    person.observe_enrolments([gy("city")], NOON, TODAY, BORN, "ss12000.city")
    assert {(e.school_unit, e.notified_to) for e in person.enrolments} == {
        ("free", "0180"),
        ("city", None),
    }, "another organiser's list leaves what the free school told"
    person.observe_enrolments([gy("free")], NOON, TODAY, BORN, "ss12000.free")
    assert {(e.school_unit, e.notified_to) for e in person.enrolments} == {
        ("free", None),
        ("city", None),
    }, "its own organiser's list takes its place"
