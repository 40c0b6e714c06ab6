"""After a mark of registered in error, re-evaluation keeps only the coordinator's word: no episode
re-opens on the facts it was marked on, and nothing else the scope engine decides is held back."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from services.identify.domain import Person
from services.identify.domain.in_error import IN_ERROR
from tests.unit.identify.test_identify_scope import BORN, NOON, TODAY, evaluate, gy, population


def test_an_earlier_episode_marked_in_error_does_not_keep_the_open_one_past_the_20th_birthday() -> (
    None
):
    """Episode 1 ends (enrolled), episode 2 opens (the enrolment cancelled); the coordinator marks
    episode 1 registered in error. On the 20th birthday the facts are those the mark was made on,
    and episode 2 must still end: only an episode's opening is held back by the mark."""
    person = Person("key-in-error")
    population(person)
    evaluate(person)
    first = person.open_episodes["0180"]
    person.observe_enrolments(gy(), NOON, TODAY, BORN)
    evaluate(person)
    person.observe_enrolments(gy(cancelled=True), NOON + timedelta(hours=1), TODAY, BORN)
    evaluate(person)
    second = person.open_episodes["0180"]
    assert second != first
    youth = person.youth_ids["0180"]
    person.mark_registered_in_error(
        "0180", youth, first, "wrong_value", actor="user:coord", correlation_id=uuid.uuid4()
    )
    assert person.open_episodes == {"0180": second}, "the open episode is not the one marked"
    person.collect_events()

    twentieth = date(BORN.year + 20, BORN.month, BORN.day)
    [left] = evaluate(person, on=twentieth)
    assert type(left).__name__ == "ScopeLeft"
    assert (left.scope_episode_id, left.reason) == (second, "turned_20")
    assert person.open_episodes == {}
    assert person.scope_episodes[first].left_reason == IN_ERROR


def test_marking_an_ended_episode_holds_back_no_later_episode_of_the_youth() -> None:
    """Episode 1 ends (enrolled), episode 2 opens (the enrolment cancelled); the coordinator marks
    episode 1, the ended one. The youth enrols again and drops out again the same day: the facts
    are those the mark was made on, but the mark was about episode 1, not these facts; episode 2
    was rightly open on them, and the youth is in scope again."""
    person = Person("key-ended")
    population(person)
    evaluate(person)
    first = person.open_episodes["0180"]
    person.observe_enrolments(gy(), NOON, TODAY, BORN)
    evaluate(person)
    person.observe_enrolments(gy(cancelled=True), NOON + timedelta(hours=1), TODAY, BORN)
    evaluate(person)
    second = person.open_episodes["0180"]
    person.mark_registered_in_error(
        "0180", person.youth_ids["0180"], first, "recorded_twice", actor="user:coord",
        correlation_id=uuid.uuid4(),
    )  # fmt: skip
    person.collect_events()

    person.observe_enrolments(gy(), NOON + timedelta(hours=2), TODAY, BORN)
    [left] = evaluate(person)
    assert (type(left).__name__, left.scope_episode_id) == ("ScopeLeft", second)
    person.observe_enrolments(gy(cancelled=True), NOON + timedelta(hours=3), TODAY, BORN)
    [again] = evaluate(person)
    assert type(again).__name__ == "ScopeEntered"
    assert again.scope_episode_id not in (first, second)
