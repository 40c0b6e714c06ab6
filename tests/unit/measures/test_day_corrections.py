"""Corrections and withdrawals of a follow-up's completion and of an objection
(`domain.follow_ups`): the new day in place and published naming what it corrects, a withdrawn
completion due again, a completion the offer again made put right only through that offer (409
naming it), an entry corrected since named by the latest, an event id of another kind or
follow-up not found; and the public events still read when stored without the correction fields."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.measures.adapters.outbound import entry_event_id, to_integration_event
from services.measures.domain import MeasuresCase
from services.measures.domain.record import EntryNotFound
from services.measures.domain.values import FollowUpSubject, follow_up_id
from shared.casework.domain import CommandRefused, Why
from shared.contracts.envelope import IntegrationEvent
from shared.contracts.events import (
    FollowUpCompleted,
    FollowUpScheduled,
    MeasuresEntryWithdrawn,
    ObjectionRecorded,
)
from tests.unit.measures.support import ACTOR, SEALER, YOUTH, measures_case

D = date(2026, 3, 3)
WHEN = datetime(2026, 3, 20, 9, tzinfo=UTC)


def ids(version: int) -> uuid.UUID:
    return entry_event_id(YOUTH, version)


def why(reason: str = "wrong_date") -> Why:
    return Why(reason, None, ACTOR, uuid.uuid4(), WHEN)


def published(case: MeasuresCase) -> list[IntegrationEvent]:
    return [p for e in case.collect_events() if (p := to_integration_event(e)) is not None]


def refusal(work: Any) -> CommandRefused:
    with pytest.raises(CommandRefused) as refused:
        work()
    return refused.value


def completed_follow_up() -> tuple[MeasuresCase, uuid.UUID, uuid.UUID]:
    """A plan follow-up due 1 April, completed on 2 April: the case, its id, the completion's
    event id."""
    case = measures_case()
    case.revise_plan(
        valid_from=D, goal="Praktik", mapping={}, efforts=[], follow_up_on=date(2026, 4, 1),
        evaluation_on=None, actor=ACTOR, correlation_id=YOUTH, sealer=SEALER,
    )  # fmt: skip
    due = uuid.UUID(follow_up_id(case.id, FollowUpSubject.PLAN_FOLLOW_UP))
    case.complete_follow_up(due, date(2026, 4, 2), ACTOR, YOUTH)
    [completion] = [e for e in published(case) if isinstance(e, FollowUpCompleted)]
    return case, due, completion.event_id


def test_a_completion_corrected_is_the_new_day_published_naming_it_and_retried_once() -> None:
    case, due, completion = completed_follow_up()
    assert case.correct_completion(due, completion, date(2026, 4, 3), why(), ids)
    assert case.follow_ups[str(due)]["completed_on"] == date(2026, 4, 3)
    [public] = published(case)
    assert isinstance(public, FollowUpCompleted)
    assert (public.completed_on, public.corrects) == (date(2026, 4, 3), completion)
    assert public.correction is not None
    assert public.correction.reason == "wrong_date"
    assert not case.correct_completion(due, completion, date(2026, 4, 3), why(), ids), "a retry"
    refused = refusal(lambda: case.correct_completion(due, completion, D, why("other"), ids))
    assert (refused.field, refused.conflict) == ("corrects", True)
    assert str(public.event_id) in refused.reason, "names the latest"
    assert case.correct_completion(due, public.event_id, date(2026, 4, 6), why("other"), ids)


def test_a_withdrawn_completion_leaves_the_follow_up_due_again() -> None:
    case, due, completion = completed_follow_up()
    assert case.withdraw_completion(due, completion, why("did_not_happen"), ids)
    assert case.follow_ups[str(due)]["completed_on"] is None
    withdrawn, again = published(case)
    assert isinstance(withdrawn, MeasuresEntryWithdrawn)
    assert (withdrawn.withdraws, withdrawn.withdrawn_event_type) == (
        completion,
        "FollowUpCompleted",
    )
    assert isinstance(again, FollowUpScheduled)
    assert (again.follow_up_id, again.due_on) == (due, date(2026, 4, 1))
    assert not case.withdraw_completion(due, completion, why("did_not_happen"), ids), "a retry"
    refused = refusal(lambda: case.correct_completion(due, completion, D, why(), ids))
    assert (refused.field, refused.conflict) == ("corrects", True)


def test_a_completion_the_offer_again_made_is_put_right_through_that_offer() -> None:
    case = measures_case()
    measure = uuid.uuid4()
    case.offer_measure(measure, "internship", D, None, ACTOR, YOUTH)
    case.decline(measure, date(2026, 3, 4), 30, ACTOR, YOUTH)
    case.collect_events()
    case.offer_measure(measure, "internship", date(2026, 3, 12), None, ACTOR, YOUTH)
    offer, completion = published(case)
    reminder = uuid.UUID(follow_up_id(case.id, FollowUpSubject.MEASURE_REOFFER, str(measure)))
    for work, field in (
        (lambda: case.correct_completion(reminder, completion.event_id, D, why(), ids), "corrects"),
        (lambda: case.withdraw_completion(reminder, completion.event_id, why(), ids), "withdraws"),
    ):
        refused = refusal(work)
        assert (refused.field, refused.conflict) == (field, True)
        assert str(offer.event_id) in refused.reason
    assert published(case) == []


def test_an_objection_is_corrected_in_its_place_or_withdrawn() -> None:
    case = measures_case()
    case.record_objection(date(2026, 3, 4), ACTOR, YOUTH)
    case.record_objection(date(2026, 3, 6), ACTOR, YOUTH)
    first, second = published(case)
    assert case.correct_completion(None, first.event_id, date(2026, 3, 5), why(), ids)
    assert case.objections == [date(2026, 3, 5), date(2026, 3, 6)]
    [fixed] = published(case)
    assert isinstance(fixed, ObjectionRecorded)
    assert (fixed.objected_on, fixed.corrects) == (date(2026, 3, 5), first.event_id)
    assert case.withdraw_completion(None, second.event_id, why("did_not_happen"), ids)
    assert case.objections == [date(2026, 3, 5)]
    [withdrawn] = published(case)
    assert isinstance(withdrawn, MeasuresEntryWithdrawn)
    assert withdrawn.withdrawn_event_type == "ObjectionRecorded"
    assert case.record_objection(date(2026, 3, 6), ACTOR, YOUTH), "the day is free again"


def test_an_event_id_of_another_kind_or_follow_up_is_not_found_naming_the_field() -> None:
    case, due, completion = completed_follow_up()
    case.record_objection(date(2026, 3, 4), ACTOR, YOUTH)
    [objection] = published(case)
    attempts: list[tuple[Callable[[], bool], str]] = [
        (lambda: case.correct_completion(None, completion, D, why(), ids), "corrects"),
        (lambda: case.withdraw_completion(due, objection.event_id, why(), ids), "withdraws"),
        (lambda: case.correct_completion(uuid.uuid4(), completion, D, why(), ids), "corrects"),
        (lambda: case.withdraw_completion(due, uuid.uuid4(), why(), ids), "withdraws"),
        (lambda: case.withdraw(completion, None, why(), ids), "withdraws"),
    ]
    for work, field in attempts:
        with pytest.raises(EntryNotFound) as missing:
            work()
        assert missing.value.field == field
    assert published(case) == []


@pytest.mark.parametrize("event", [FollowUpCompleted, ObjectionRecorded])
def test_the_events_stored_without_correction_fields_still_read(event: Any) -> None:
    stored = {
        "event_id": str(uuid.uuid4()), "tenant": "0180", "youth_id": str(YOUTH),
        "occurred_at": WHEN.isoformat(), "recorded_at": WHEN.isoformat(), "actor": ACTOR,
        "correlation_id": str(uuid.uuid4()), "follow_up_id": str(uuid.uuid4()),
        "completed_on": "2026-03-04", "objected_on": "2026-03-04",
    }  # fmt: skip
    known = {k: v for k, v in stored.items() if k in event.model_fields}
    read = event.model_validate(known)
    assert (read.corrects, read.correction) == (None, None)
