"""The follow-ups a correction or withdrawal changes (`domain.follow_ups`): a withdrawn decline's
re-offer reminder is closed, a corrected decline moves it, a withdrawn re-offer opens it again; a
corrected plan revision moves its follow-up, a withdrawn one falls back to the revision before it
or closes it. Each as the case holds it and as it is published (the worklist's follow-ups)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.measures.adapters.outbound import entry_event_id, to_integration_event
from services.measures.domain import MeasuresCase
from services.measures.domain.corrections import StepGiven
from services.measures.domain.values import FollowUpSubject, follow_up_id
from shared.casework.domain import Why
from shared.contracts.envelope import IntegrationEvent
from shared.contracts.events import FollowUpCancelled, FollowUpCompleted, FollowUpScheduled
from tests.unit.measures.support import ACTOR, SEALER, YOUTH, measures_case

D = date(2026, 3, 3)
WHEN = datetime(2026, 3, 20, 9, tzinfo=UTC)


def ids(version: int) -> uuid.UUID:
    return entry_event_id(YOUTH, version)


def why(reason: str = "did_not_happen") -> Why:
    return Why(reason, None, ACTOR, uuid.uuid4(), WHEN)


def published(case: MeasuresCase) -> list[IntegrationEvent]:
    return [p for e in case.collect_events() if (p := to_integration_event(e)) is not None]


def follow_up_events(events: list[IntegrationEvent]) -> list[IntegrationEvent]:
    return [
        e
        for e in events
        if isinstance(e, FollowUpScheduled | FollowUpCompleted | FollowUpCancelled)
    ]


def declined(days: int = 30) -> tuple[MeasuresCase, uuid.UUID, uuid.UUID, str]:
    """A measure offered on 3 March and declined on the 4th: the case, the measure, the decline's
    event id and the re-offer reminder's id (due `days` later)."""
    case = measures_case()
    case.collect_events()
    measure = uuid.uuid4()
    case.offer_measure(measure, "internship", D, None, ACTOR, YOUTH)
    case.decline(measure, date(2026, 3, 4), days, ACTOR, YOUTH)
    decline = ids(case.collect_events()[1].originator_version)
    reminder = follow_up_id(case.id, FollowUpSubject.MEASURE_REOFFER, str(measure))
    assert case.follow_ups[reminder]["due_on"] == date(2026, 3, 4) + timedelta(days=days)
    return case, measure, decline, reminder


def test_a_withdrawn_decline_closes_its_re_offer_reminder() -> None:
    case, measure, decline, reminder = declined()
    assert case.withdraw(decline, measure, why(), ids)
    assert reminder not in case.follow_ups
    closed = follow_up_events(published(case))
    assert [type(e) for e in closed] == [FollowUpCancelled], "not done: cancelled"
    assert isinstance(closed[0], FollowUpCancelled)
    assert (str(closed[0].follow_up_id), closed[0].cancelled_on) == (reminder, WHEN.date())


def test_a_corrected_decline_moves_its_re_offer_reminder_by_as_many_days() -> None:
    case, measure, decline, reminder = declined(days=20)
    assert case.correct_step(measure, decline, StepGiven(date(2026, 3, 6)), why("wrong_date"), ids)
    assert case.follow_ups[reminder]["due_on"] == date(2026, 3, 26)
    assert case.follow_ups[reminder]["completed_on"] is None
    moved = follow_up_events(published(case))
    assert [type(e) for e in moved] == [FollowUpScheduled]
    assert isinstance(moved[0], FollowUpScheduled)
    assert (str(moved[0].follow_up_id), moved[0].due_on) == (reminder, date(2026, 3, 26))


def test_a_decline_corrected_to_its_own_day_or_after_a_completed_reminder_moves_nothing() -> None:
    case, measure, decline, reminder = declined()
    assert case.complete_follow_up(uuid.UUID(reminder), date(2026, 3, 10), ACTOR, YOUTH)
    case.collect_events()
    assert case.correct_step(measure, decline, StepGiven(date(2026, 3, 5)), why("wrong_date"), ids)
    assert case.follow_ups[reminder]["completed_on"] == date(2026, 3, 10)
    assert follow_up_events(published(case)) == []


def test_a_withdrawn_re_offer_opens_the_reminder_it_closed_again() -> None:
    case, measure, _, reminder = declined()
    case.offer_measure(measure, "internship", date(2026, 3, 12), None, ACTOR, YOUTH)
    again = ids(case.collect_events()[0].originator_version)
    assert case.follow_ups[reminder]["completed_on"] == date(2026, 3, 12)
    assert case.withdraw(again, measure, why(), ids)
    assert case.follow_ups[reminder]["completed_on"] is None
    opened = follow_up_events(published(case))
    assert [(type(e), getattr(e, "due_on", None)) for e in opened] == [
        (FollowUpScheduled, date(2026, 4, 3))
    ]


def revise(case: MeasuresCase, valid_from: date, follow_up_on: date | None) -> uuid.UUID:
    case.revise_plan(
        valid_from=valid_from, goal="Praktik", mapping={}, efforts=[], follow_up_on=follow_up_on,
        evaluation_on=None, actor=ACTOR, correlation_id=YOUTH, sealer=SEALER,
    )  # fmt: skip
    return ids(case.collect_events()[0].originator_version)


def corrected(follow_up_on: date | None) -> dict[str, Any]:
    return {"goal": "Praktik", "mapping": {}, "efforts": [], "valid_from": None,
            "follow_up_on": follow_up_on, "evaluation_on": None}  # fmt: skip


def test_a_corrected_plan_revision_moves_its_follow_up() -> None:
    case = measures_case()
    case.collect_events()
    revision = revise(case, D, date(2026, 4, 1))
    due = follow_up_id(case.id, FollowUpSubject.PLAN_FOLLOW_UP)
    fix = corrected(date(2026, 4, 15))
    assert case.correct_plan_revision(revision, fix, why("wrong_date"), ids, SEALER)
    assert case.follow_ups[due]["due_on"] == date(2026, 4, 15)
    events = published(case)
    assert [(type(e), getattr(e, "due_on", None)) for e in follow_up_events(events)] == [
        (FollowUpScheduled, date(2026, 4, 15))
    ]
    fixed = events[0].event_id
    assert case.correct_plan_revision(fixed, corrected(None), why("wrong_value"), ids, SEALER)
    assert due not in case.follow_ups, "a revision corrected to no follow-up has none"
    assert [type(e) for e in follow_up_events(published(case))] == [FollowUpCancelled]


def test_a_withdrawn_plan_revision_drops_the_follow_up_it_scheduled_or_falls_back() -> None:
    case = measures_case()
    case.collect_events()
    first = revise(case, D, date(2026, 4, 1))
    second = revise(case, date(2026, 3, 10), date(2026, 5, 1))
    due = follow_up_id(case.id, FollowUpSubject.PLAN_FOLLOW_UP)
    assert case.follow_ups[due]["due_on"] == date(2026, 5, 1)
    assert case.withdraw(second, None, why(), ids)
    assert case.follow_ups[due]["due_on"] == date(2026, 4, 1), "back to the first revision's"
    assert [type(e) for e in follow_up_events(published(case))] == [FollowUpScheduled]
    assert case.withdraw(first, None, why(), ids)
    assert due not in case.follow_ups
    closed = follow_up_events(published(case))
    assert [(type(e), str(getattr(e, "follow_up_id", None))) for e in closed] == [
        (FollowUpCancelled, due)
    ]
