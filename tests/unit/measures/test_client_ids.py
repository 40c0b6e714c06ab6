"""Client-chosen ids on the measures service's commands (issue 13, section 6): a retry with the
same id and the same content records once; the same id with different content is a conflict
(409: the id is taken), never a silent `recorded: false`."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from services.measures.domain import MeasuresCase
from shared.casework.domain import CommandRefused
from tests.unit.measures.support import ACTOR, SEALER, YOUTH, measures_case

OFFERED = date(2026, 3, 3)


def taken(call: Any) -> CommandRefused:
    with pytest.raises(CommandRefused) as refused:
        call()
    assert refused.value.conflict, "the id is taken: 409, not 422"
    assert "different content" in refused.value.reason
    return refused.value


def test_an_offer_retried_records_once_and_the_id_with_other_content_is_taken() -> None:
    case = measures_case()
    measure = uuid.uuid4()
    offer = (ACTOR, YOUTH, "Praktik", SEALER)
    assert case.offer_measure(measure, "internship", OFFERED, None, *offer)
    assert not case.offer_measure(measure, "internship", OFFERED, None, *offer)
    for measure_type, can_start_on, content in (
        ("study_visit", None, "Praktik"),
        ("internship", date(2026, 3, 10), "Praktik"),
        ("internship", None, "Något annat"),
    ):
        with pytest.raises(CommandRefused) as refused:
            case.offer_measure(
                measure, measure_type, OFFERED, can_start_on, ACTOR, YOUTH, content, SEALER
            )
        assert (refused.value.field, refused.value.conflict) == ("measure_id", True)
    assert case.measures[str(measure)]["offers"] == 1


def test_an_end_retried_records_once_and_with_another_reason_is_taken() -> None:
    case = measures_case()
    measure = uuid.uuid4()
    case.offer_measure(measure, "internship", OFFERED, None, ACTOR, YOUTH)
    case.accept(measure, date(2026, 3, 4), ACTOR, YOUTH)
    case.start(measure, date(2026, 3, 10), ACTOR, YOUTH)
    assert case.end(measure, date(2026, 6, 1), "started_work", "work", ACTOR, YOUTH)
    assert not case.end(measure, date(2026, 6, 1), "started_work", "work", ACTOR, YOUTH)
    taken(lambda: case.end(measure, date(2026, 6, 1), "completed", "work", ACTOR, YOUTH))
    taken(lambda: case.end(measure, date(2026, 6, 1), "started_work", None, ACTOR, YOUTH))


def test_a_follow_up_completed_again_on_another_day_is_a_conflict() -> None:
    case = measures_case()
    measure = uuid.uuid4()
    case.offer_measure(measure, "internship", OFFERED, None, ACTOR, YOUTH)
    case.decline(measure, date(2026, 3, 5), 30, ACTOR, YOUTH)
    [reminder] = case.follow_ups
    follow_up = uuid.UUID(reminder)
    assert case.complete_follow_up(follow_up, date(2026, 3, 6), ACTOR, YOUTH)
    assert not case.complete_follow_up(follow_up, date(2026, 3, 6), ACTOR, YOUTH)
    with pytest.raises(CommandRefused) as refused:
        case.complete_follow_up(follow_up, date(2026, 3, 7), ACTOR, YOUTH)
    assert (refused.value.field, refused.value.conflict) == ("follow_up_id", True)


def test_an_objection_with_a_client_id_records_once() -> None:
    case = measures_case()
    objection = uuid.uuid4()
    assert case.record_objection(date(2026, 3, 4), ACTOR, YOUTH, objection)
    assert not case.record_objection(date(2026, 3, 4), ACTOR, YOUTH, objection)
    refused = taken(lambda: case.record_objection(date(2026, 3, 5), ACTOR, YOUTH, objection))
    assert refused.field == "objection_id"
    # Another id the same day is another objection; without an id, one per day.
    assert case.record_objection(date(2026, 3, 4), ACTOR, YOUTH, uuid.uuid4())
    assert not case.record_objection(date(2026, 3, 4), ACTOR, YOUTH)
    assert case.objections == [date(2026, 3, 4), date(2026, 3, 4)]


def plan(
    case: MeasuresCase,
    revision_id: uuid.UUID | None,
    goal: str = "Komvux",
    valid_from: date = date(2026, 3, 5),
    valid_from_given: bool = True,
) -> int:
    effort = {"effort_id": str(uuid.uuid4()), "description": "SYV-samtal",
              "responsible": "municipality", "other_actor": None, "start_date": None,
              "end_date": None, "end_reason": None}  # fmt: skip
    return case.revise_plan(
        valid_from=valid_from, goal=goal, mapping={"goals": ["komvux"]}, efforts=[effort],
        follow_up_on=None, evaluation_on=None, actor=ACTOR, correlation_id=YOUTH, sealer=SEALER,
        revision_id=revision_id, valid_from_given=valid_from_given,
    )  # fmt: skip


def test_a_plan_revision_with_a_client_id_records_once() -> None:
    case = measures_case()
    revision = uuid.uuid4()
    assert plan(case, revision) == 1
    assert plan(case, revision) == 1, "a retry (the efforts' made-up ids aside) is the same"
    assert len(case.plan_revisions) == 1
    refused = taken(lambda: plan(case, revision, goal="Praktik"))
    assert refused.field == "revision_id"
    # valid_from left to its default (today) is not content: the retry the next day is the same.
    assert plan(case, revision, valid_from=date(2026, 3, 6), valid_from_given=False) == 1
    assert taken(lambda: plan(case, revision, valid_from=date(2026, 3, 6))).field == "revision_id"
    assert plan(case, None) == 2, "without an id every request is a new revision"
