"""The measures case's rules: a measure's steps on the case (the lifecycle itself:
`test_lifecycle.py`), the individual plan's revisions, follow-ups; and its stored events keep the
topics they were recorded under."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from eventsourcing.utils import get_topic, resolve_topic

from services.measures.domain import MeasureCatalogue, MeasuresCase
from shared.casework.domain import CommandRefused
from shared.free_text import opener, plan_revision_shown
from tests.unit.measures.support import ACTOR, DATA_KEY, SEALER, YOUTH, measures_case


def test_a_measure_offered_declined_reoffered_started_and_ended() -> None:
    case = measures_case()
    measure = uuid.uuid4()
    case.offer_measure(measure, "internship", date(2026, 3, 3), None, ACTOR, YOUTH)
    case.decline(measure, date(2026, 3, 5), 30, ACTOR, YOUTH)
    [reminder] = case.follow_ups.values()
    assert (reminder["subject"], reminder["due_on"]) == ("measure_reoffer", date(2026, 4, 4))
    assert case.offer_measure(measure, "internship", date(2026, 4, 4), None, ACTOR, YOUTH)
    assert reminder["completed_on"] == date(2026, 4, 4)  # the re-offer did what was due
    case.accept(measure, date(2026, 4, 6), ACTOR, YOUTH)
    case.start(measure, date(2026, 4, 13), ACTOR, YOUTH)
    case.end(measure, date(2026, 6, 12), "started_work", "work", ACTOR, YOUTH)
    assert case.measures[str(measure)]["state"] == "ended"
    assert case.measures[str(measure)]["offers"] == 2


def test_transitions_that_are_not_allowed_are_refused_as_conflicts() -> None:
    case = measures_case()
    measure = uuid.uuid4()
    case.offer_measure(measure, "internship", date(2026, 3, 3), None, ACTOR, YOUTH)
    case.decline(measure, date(2026, 3, 5), 30, ACTOR, YOUTH)
    with pytest.raises(CommandRefused) as refused:
        case.start(measure, date(2026, 3, 6), ACTOR, YOUTH)  # start a declined measure
    assert refused.value.conflict
    assert refused.value.field == "measure_id"
    with pytest.raises(CommandRefused) as unknown:
        case.accept(uuid.uuid4(), date(2026, 3, 6), ACTOR, YOUTH)
    assert unknown.value.field == "measure_id"


def test_a_measure_ending_before_it_started_is_refused() -> None:
    case = measures_case()
    measure = uuid.uuid4()
    case.offer_measure(measure, "internship", date(2026, 3, 3), None, ACTOR, YOUTH)
    case.accept(measure, date(2026, 3, 4), ACTOR, YOUTH)
    case.start(measure, date(2026, 3, 10), ACTOR, YOUTH)
    with pytest.raises(CommandRefused) as refused:
        case.end(measure, date(2026, 3, 9), "completed", None, ACTOR, YOUTH)
    assert refused.value.field == "ended_on"
    assert not refused.value.conflict
    with pytest.raises(CommandRefused) as bad_code:
        case.end(measure, date(2026, 3, 20), "bored", None, ACTOR, YOUTH)
    assert bad_code.value.field == "end_reason"


def test_every_plan_revision_is_kept_and_the_plan_of_any_day_can_be_shown() -> None:
    case = measures_case()
    effort = {"effort_id": str(uuid.uuid4()), "description": "SYV-samtal", "responsible":
              "municipality", "other_actor": None, "start_date": date(2026, 3, 10),
              "end_date": None, "end_reason": None}  # fmt: skip
    first = case.revise_plan(
        valid_from=date(2026, 3, 5), goal="Börja på komvux", mapping={"goals": ["komvux"]},
        efforts=[effort], follow_up_on=date(2026, 4, 5), evaluation_on=None, actor=ACTOR,
        correlation_id=YOUTH, sealer=SEALER,
    )  # fmt: skip
    second = case.revise_plan(
        valid_from=date(2026, 4, 5), goal="Praktik först", mapping={"goals": ["praktik"]},
        efforts=[{**effort, "end_date": date(2026, 4, 1), "end_reason": "klart"}],
        follow_up_on=date(2026, 5, 5), evaluation_on=date(2026, 6, 1), actor=ACTOR,
        correlation_id=YOUTH, sealer=SEALER,
    )  # fmt: skip
    assert (first, second) == (1, 2)
    assert case.plan_on(date(2026, 3, 4)) is None
    in_force = case.plan_on(date(2026, 3, 20))
    assert in_force is not None
    shown = plan_revision_shown(in_force, opener(DATA_KEY, "0180", YOUTH))
    assert (shown["goal"], shown["text"]) == ("Börja på komvux", "open")
    assert case.plan_on(date(2026, 4, 5))["revision"] == 2  # type: ignore[index]
    subjects = sorted((f["subject"], f["due_on"]) for f in case.follow_ups.values())
    assert subjects == [("plan_evaluation", date(2026, 6, 1)), ("plan_follow_up", date(2026, 5, 5))]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"start_date": date(2026, 4, 1), "end_date": date(2026, 3, 1)}, "efforts[0].end_date"),
        ({"end_reason": "klart"}, "efforts[0].end_date"),
        ({"responsible": "other_actor"}, "efforts[0].other_actor"),
    ],
)
def test_a_plan_effort_that_does_not_add_up_is_refused(change: dict[str, Any], field: str) -> None:
    case = measures_case()
    effort = {
        "effort_id": str(uuid.uuid4()),
        "description": "x",
        "responsible": "youth",
        "other_actor": None,
        "start_date": None,
        "end_date": None,
        "end_reason": None,
    }
    with pytest.raises(CommandRefused) as refused:
        case.revise_plan(
            valid_from=date(2026, 3, 5), goal="g", mapping={}, efforts=[{**effort, **change}],
            follow_up_on=None, evaluation_on=None, actor=ACTOR, correlation_id=YOUTH,
            sealer=SEALER,
        )  # fmt: skip
    assert refused.value.field == field
    assert case.plan_revisions == []


def test_a_re_offer_is_of_the_same_measure_type_and_not_before_the_decline() -> None:
    case = measures_case()
    measure = uuid.uuid4()
    case.offer_measure(measure, "internship", date(2026, 3, 3), None, ACTOR, YOUTH)
    case.decline(measure, date(2026, 3, 5), 30, ACTOR, YOUTH)
    with pytest.raises(CommandRefused) as other_type:
        case.offer_measure(measure, "study_visit", date(2026, 4, 4), None, ACTOR, YOUTH)
    assert (other_type.value.field, other_type.value.conflict) == ("measure_type", False)
    with pytest.raises(CommandRefused) as early:
        case.offer_measure(measure, "internship", date(2026, 3, 4), None, ACTOR, YOUTH)
    assert early.value.field == "offered_on"
    with pytest.raises(CommandRefused) as start:
        case.offer_measure(uuid.uuid4(), "internship", date(2026, 3, 4), date(2026, 3, 3),
                           ACTOR, YOUTH)  # fmt: skip
    assert start.value.field == "can_start_on"


def test_a_step_retried_the_same_day_records_nothing_and_another_day_is_a_conflict() -> None:
    case = measures_case()
    measure = uuid.uuid4()
    case.offer_measure(measure, "internship", date(2026, 3, 3), None, ACTOR, YOUTH)
    assert case.accept(measure, date(2026, 3, 4), ACTOR, YOUTH)
    assert not case.accept(measure, date(2026, 3, 4), ACTOR, YOUTH)
    with pytest.raises(CommandRefused) as refused:
        case.accept(measure, date(2026, 3, 5), ACTOR, YOUTH)
    assert refused.value.conflict
    assert [type(e).__name__ for e in case.collect_events()].count("MeasureAccepted") == 1


def test_a_decline_schedules_one_re_offer_reminder_that_a_re_offer_completes() -> None:
    case = measures_case()
    measure = uuid.uuid4()
    case.offer_measure(measure, "internship", date(2026, 3, 3), None, ACTOR, YOUTH)
    case.decline(measure, date(2026, 3, 5), 10, ACTOR, YOUTH)
    [reminder] = case.follow_ups.values()
    assert (reminder["due_on"], reminder["measure_id"]) == (date(2026, 3, 15), str(measure))
    case.complete_follow_up(uuid.UUID(reminder["follow_up_id"]), date(2026, 3, 15), ACTOR, YOUTH)
    case.offer_measure(measure, "internship", date(2026, 3, 16), None, ACTOR, YOUTH)
    assert reminder["completed_on"] == date(2026, 3, 15), "a completed reminder stays as it was"


def test_stored_events_keep_the_topics_they_were_recorded_under() -> None:
    """The outbox relay selects what it publishes by topic, and stored events name their class
    by it: the domain's split into modules changes none of them."""
    case: Any = MeasuresCase  # its event classes are made by the library, unseen by mypy
    catalogue: Any = MeasureCatalogue
    assert get_topic(case.MeasureOffered) == (
        "services.measures.domain:MeasuresCase.MeasureOffered"
    )
    assert get_topic(catalogue.EntryDefined) == (
        "services.measures.domain:MeasureCatalogue.EntryDefined"
    )
    for name in ("Opened", "ScopeOpened", "MeasureEnded", "IndividualPlanRevised"):
        topic = f"services.measures.domain:MeasuresCase.{name}"
        assert resolve_topic(topic) is getattr(MeasuresCase, name)
