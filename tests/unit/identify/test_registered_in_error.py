"""Marking a scope episode registered in error (`domain/in_error.py`): only the youth's own episode
in the coordinator's municipality, not twice; refusals name the field, never a value."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from services.identify.adapters.outbound import to_integration_event
from services.identify.domain import Person
from services.identify.domain.in_error import (
    IN_ERROR,
    AlreadyInError,
    EpisodeRecord,
    NoSuchEpisode,
    episode_to_mark,
)
from shared.contracts.events import YouthLeftScope
from shared.contracts.events.corrections import Correction

RULE = "kaa-2018-07-01"
OPEN = EpisodeRecord("0180", "youth-a", "episode-1", date(2026, 1, 5), RULE)
ENDED = EpisodeRecord("0180", "youth-a", "episode-2", date(2025, 1, 5), RULE).left(
    date(2025, 6, 1), "enrolled"
)
ELSEWHERE = EpisodeRecord("0181", "youth-b", "episode-3", date(2026, 1, 5), RULE)
EPISODES = {e.scope_episode_id: e for e in (OPEN, ENDED, ELSEWHERE)}


def test_an_open_or_ended_episode_of_the_youth_may_be_marked() -> None:
    assert episode_to_mark(EPISODES, "0180", "youth-a", "episode-1") == OPEN
    assert episode_to_mark(EPISODES, "0180", "youth-a", "episode-2") == ENDED


@pytest.mark.parametrize(
    ("tenant", "youth", "episode"),
    [
        ("0180", "youth-a", "episode-9"),  # unknown
        ("0180", "youth-b", "episode-1"),  # another youth's
        ("0180", "youth-b", "episode-3"),  # another municipality's: the same answer
        ("0181", "youth-a", "episode-1"),
    ],
)
def test_another_youths_or_municipalitys_episode_is_not_found(
    tenant: str, youth: str, episode: str
) -> None:
    with pytest.raises(NoSuchEpisode) as refused:
        episode_to_mark(EPISODES, tenant, youth, episode)
    assert refused.value.field == "scope_episode_id"
    assert episode not in str(refused.value)


def test_an_episode_already_registered_in_error_is_refused() -> None:
    marked = {"episode-1": OPEN.left(OPEN.entered_on, IN_ERROR)}
    with pytest.raises(AlreadyInError) as refused:
        episode_to_mark(marked, "0180", "youth-a", "episode-1")
    assert str(refused.value) == "scope_episode_id: is already marked registered in error"


def _in_scope(key: str) -> Person:
    from tests.unit.identify.test_identify_scope import evaluate, population

    person = Person(key)
    population(person)
    [entered] = evaluate(person)
    assert type(entered).__name__ == "ScopeEntered"
    return person


def test_the_person_records_the_mark_and_publishes_the_episode_left_in_error() -> None:
    person = _in_scope("key-1")
    youth, episode = person.youth_ids["0180"], person.open_episodes["0180"]
    marked = person.mark_registered_in_error(
        "0180", youth, episode, "wrong_youth", actor="user:coord", correlation_id=uuid.uuid4()
    )
    assert marked.left_reason == IN_ERROR
    assert person.open_episodes == {}
    [*_, last] = person.collect_events()
    out = to_integration_event(last)
    assert isinstance(out, YouthLeftScope)
    assert (out.reason, out.left_on) == ("registered_in_error", marked.entered_on)
    assert out.youth_id == uuid.UUID(youth)
    assert out.scope_episode_id == uuid.UUID(episode)
    assert out.correction == Correction(reason="wrong_youth", sealed_note=None)
    with pytest.raises(AlreadyInError):
        person.mark_registered_in_error(
            "0180", youth, episode, "other", actor="user:coord", correlation_id=uuid.uuid4()
        )


def test_no_episode_reopens_on_the_facts_it_was_marked_on_but_a_changed_fact_is_decided() -> None:
    from tests.unit.identify.test_identify_scope import BORN, NOON, TODAY, evaluate, gy

    person = _in_scope("key-2")
    youth, episode = person.youth_ids["0180"], person.open_episodes["0180"]
    person.mark_registered_in_error(
        "0180", youth, episode, "wrong_value", actor="user:coord", correlation_id=uuid.uuid4()
    )
    assert evaluate(person) == [], "the same facts: the coordinator's word stands"
    assert evaluate(person, on=TODAY + timedelta(days=30)) == [], "nor a later day"

    # A school reports an enrolment and it ends: the youth is decided afresh.
    person.observe_enrolments(gy(), NOON, TODAY, BORN)
    assert evaluate(person) == []
    person.observe_enrolments(gy(cancelled=True), NOON + timedelta(hours=1), TODAY, BORN)
    [again] = evaluate(person)
    assert type(again).__name__ == "ScopeEntered"
    assert person.youth_ids["0180"] == youth
    assert person.open_episodes["0180"] != episode


def test_a_replayed_person_keeps_the_mark() -> None:
    from tests.unit.identify.test_identify_scope import SERVED, TODAY, evaluate, population

    person = Person("key-3")
    population(person)
    person.reevaluate(SERVED, TODAY, actor="feed:population", correlation_id=uuid.uuid4())
    youth, episode = person.youth_ids["0180"], person.open_episodes["0180"]
    person.mark_registered_in_error(
        "0180", youth, episode, "other", actor="user:coord", correlation_id=uuid.uuid4()
    )
    replayed: Person | None = None
    for stored in person.collect_events():
        replayed = stored.mutate(replayed)
    assert replayed is not None
    assert replayed.scope_episodes[episode].left_reason == IN_ERROR
    assert replayed.open_episodes == {}
    assert evaluate(replayed) == []


def test_the_published_end_carries_the_reason_and_the_sealed_note_not_the_words() -> None:
    person = _in_scope("key-4")
    youth, episode = person.youth_ids["0180"], person.open_episodes["0180"]
    person.mark_registered_in_error(
        "0180", youth, episode, "recorded_twice", actor="user:coord",
        correlation_id=uuid.uuid4(), sealed_note="kaa1.c2VhbGVk",
    )  # fmt: skip
    [*_, last] = person.collect_events()
    out = to_integration_event(last)
    assert isinstance(out, YouthLeftScope)
    assert out.correction == Correction(reason="recorded_twice", sealed_note="kaa1.c2VhbGVk")
    again = YouthLeftScope.model_validate_json(out.model_dump_json())
    assert again.correction == out.correction


def test_an_end_published_before_the_reason_was_carried_still_reads() -> None:
    person = _in_scope("key-5")
    youth, episode = person.youth_ids["0180"], person.open_episodes["0180"]
    person.mark_registered_in_error(
        "0180", youth, episode, "other", actor="user:coord", correlation_id=uuid.uuid4()
    )
    [*_, last] = person.collect_events()
    out = to_integration_event(last)
    assert isinstance(out, YouthLeftScope)
    stored = out.model_dump(mode="json")
    del stored["correction"]  # as stored before issue 16 carried it
    assert YouthLeftScope.model_validate(stored).correction is None
