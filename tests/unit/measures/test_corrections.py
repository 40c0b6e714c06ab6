"""Corrections and withdrawals on the measures case (`domain.corrections`, `domain.record`): every
step a measure's later steps depend on, a correction of a correction, a withdrawn end that leaves
the measure started again, a correction out of order refused as recording it would be, and what
is published for each."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.measures.adapters.outbound import entry_event_id, to_integration_event
from services.measures.domain import MeasuresCase
from services.measures.domain.corrections import StepGiven
from services.measures.domain.record import EntryNotFound
from shared.casework.domain import CommandRefused, Why
from shared.contracts.events import IndividualPlanRevised, MeasuresEntryWithdrawn, MeasureStarted
from tests.unit.measures.support import ACTOR, SEALER, YOUTH, measures_case

D = date(2026, 3, 3)
STEPS = ("offer", "accept", "start", "end")


def ids(version: int) -> uuid.UUID:
    return entry_event_id(YOUTH, version)


def why(reason: str = "wrong_date") -> Why:
    return Why(reason, None, ACTOR, uuid.uuid4(), datetime(2026, 3, 20, tzinfo=UTC))


def ended_measure() -> tuple[MeasuresCase, uuid.UUID, dict[str, uuid.UUID]]:
    """A measure offered on 3 March, accepted on the 4th, started the 5th, ended the 9th: the
    case, the measure and each step's event id."""
    case = measures_case()
    case.collect_events()
    measure = uuid.uuid4()
    case.offer_measure(measure, "internship", D, None, ACTOR, YOUTH)
    case.accept(measure, date(2026, 3, 4), ACTOR, YOUTH)
    case.start(measure, date(2026, 3, 5), ACTOR, YOUTH)
    case.end(measure, date(2026, 3, 9), "completed", None, ACTOR, YOUTH)
    events = case.collect_events()
    return case, measure, {s: ids(e.originator_version) for s, e in zip(STEPS, events, strict=True)}


def refusal(work: Any) -> CommandRefused:
    with pytest.raises(CommandRefused) as refused:
        work()
    return refused.value


@pytest.mark.parametrize(
    ("step", "dependents"),
    [("offer", ("accept", "start", "end")), ("accept", ("start", "end")), ("start", ("end",))],
)
def test_a_step_others_depend_on_is_not_withdrawn_while_they_stand(
    step: str, dependents: tuple[str, ...]
) -> None:
    case, measure, steps = ended_measure()
    refused = refusal(lambda: case.withdraw(steps[step], measure, why("did_not_happen"), ids))
    assert (refused.field, refused.conflict) == ("withdraws", True)
    for name in dependents:
        assert str(steps[name]) in refused.reason
    assert "MeasureEnded" in refused.reason
    assert case.collect_events() == []


def test_a_declined_offer_and_a_decline_offered_again_are_dependents_too() -> None:
    case = measures_case()
    case.collect_events()
    measure = uuid.uuid4()
    case.offer_measure(measure, "internship", D, None, ACTOR, YOUTH)
    case.decline(measure, date(2026, 3, 4), 30, ACTOR, YOUTH)
    case.offer_measure(measure, "internship", date(2026, 3, 10), None, ACTOR, YOUTH)
    offer, decline, _, again, _ = [ids(e.originator_version) for e in case.collect_events()]
    assert str(decline) in refusal(lambda: case.withdraw(offer, measure, why(), ids)).reason
    assert str(again) in refusal(lambda: case.withdraw(decline, measure, why(), ids)).reason
    assert case.withdraw(again, measure, why("did_not_happen"), ids)
    assert case.measures[str(measure)]["state"] == "declined"


def test_withdrawing_from_the_last_step_back_leaves_what_stands() -> None:
    case, measure, steps = ended_measure()
    assert case.withdraw(steps["end"], measure, why("did_not_happen"), ids)
    state = case.measures[str(measure)]
    assert (state["state"], state["started_on"]) == ("started", date(2026, 3, 5))
    [withdrawn] = case.collect_events()
    public = to_integration_event(withdrawn)
    assert isinstance(public, MeasuresEntryWithdrawn)
    assert (public.withdraws, public.withdrawn_event_type) == (steps["end"], "MeasureEnded")
    assert public.correction.reason == "did_not_happen"
    assert not case.withdraw(steps["end"], measure, why("did_not_happen"), ids), "a retry"
    assert refusal(lambda: case.withdraw(steps["end"], measure, why("other"), ids)).conflict
    # the measure can end again; the start, then the acceptance, then the offer can go
    assert case.end(measure, date(2026, 3, 12), "completed", None, ACTOR, YOUTH)
    [again] = [ids(e.originator_version) for e in case.collect_events()]
    for step in (again, steps["start"], steps["accept"]):
        assert case.withdraw(step, measure, why("did_not_happen"), ids)
    assert case.measures[str(measure)]["state"] == "offered"
    assert case.withdraw(steps["offer"], measure, why("recorded_twice"), ids)
    assert str(measure) not in case.measures
    assert case.offer_measure(measure, "internship", D, None, ACTOR, YOUTH), "offered anew"


def test_a_correction_takes_the_place_of_the_step_and_is_published_naming_it() -> None:
    case, measure, steps = ended_measure()
    assert case.correct_step(measure, steps["start"], StepGiven(date(2026, 3, 6)), why(), ids)
    assert case.measures[str(measure)]["started_on"] == date(2026, 3, 6)
    assert case.measures[str(measure)]["state"] == "ended"
    [corrected] = case.collect_events()
    public = to_integration_event(corrected)
    assert isinstance(public, MeasureStarted)
    assert (public.measure_id, public.started_on, public.corrects) == (
        measure,
        date(2026, 3, 6),
        steps["start"],
    )
    assert public.correction is not None
    assert public.correction.reason == "wrong_date"
    assert public.event_id == ids(corrected.originator_version)
    # The same again is a retry; naming the corrected step again now names a superseded one.
    assert not case.correct_step(measure, steps["start"], StepGiven(date(2026, 3, 6)), why(), ids)
    latest = refusal(
        lambda: case.correct_step(measure, steps["start"], StepGiven(date(2026, 3, 7)), why(), ids)
    )
    assert (latest.field, latest.conflict) == ("corrects", True)
    assert str(public.event_id) in latest.reason
    # A correction of the correction names it.
    assert case.correct_step(measure, public.event_id, StepGiven(date(2026, 3, 7)), why(), ids)
    assert case.measures[str(measure)]["started_on"] == date(2026, 3, 7)
    [twice] = case.collect_events()
    again = to_integration_event(twice)
    assert isinstance(again, MeasureStarted)
    assert again.corrects == public.event_id
    # The end depends on the corrected start now: withdrawing it is refused naming the end.
    withdraw = refusal(lambda: case.withdraw(again.event_id, measure, why(), ids))
    assert str(steps["end"]) in withdraw.reason


def test_a_correction_out_of_order_is_refused_as_recording_it_would_be() -> None:
    case, measure, steps = ended_measure()
    before = refusal(
        lambda: case.correct_step(measure, steps["start"], StepGiven(date(2026, 3, 3)), why(), ids)
    )
    assert (before.field, before.conflict) == ("started_on", False)  # before the acceptance
    after = refusal(
        lambda: case.correct_step(measure, steps["accept"], StepGiven(date(2026, 3, 8)), why(), ids)
    )
    assert (after.field, after.conflict) == ("accepted_on", True)
    assert str(steps["start"]) in after.reason
    assert "MeasureStarted" in after.reason
    wrong_field = refusal(
        lambda: case.correct_step(
            measure, steps["accept"], StepGiven(D, end_reason="completed"), why(), ids
        )
    )
    assert wrong_field.field == "end_reason"
    code = refusal(
        lambda: case.correct_step(
            measure, steps["end"], StepGiven(date(2026, 3, 9), end_reason="nonsense"), why(), ids
        )
    )
    assert code.field == "end_reason"
    assert case.collect_events() == []


def test_an_offer_is_corrected_with_its_content_sealed() -> None:
    case, measure, steps = ended_measure()
    given = StepGiven(date(2026, 3, 2), "internship", date(2026, 3, 4), "Praktik i köket")
    assert case.correct_step(measure, steps["offer"], given, why("wrong_value"), ids, SEALER)
    assert case.measures[str(measure)]["offered_on"] == date(2026, 3, 2)
    [corrected] = case.collect_events()
    public = to_integration_event(corrected)
    assert public is not None
    assert "Praktik" not in public.to_bytes().decode()
    assert public.sealed_content is not None  # type: ignore[attr-defined]


def test_an_entry_not_of_this_measure_or_youth_is_not_found_naming_the_field() -> None:
    case, measure, steps = ended_measure()
    with pytest.raises(EntryNotFound) as unknown:
        case.withdraw(uuid.uuid4(), measure, why(), ids)
    assert unknown.value.field == "withdraws"
    with pytest.raises(EntryNotFound) as other_measure:
        case.correct_step(uuid.uuid4(), steps["start"], StepGiven(D), why(), ids)
    assert other_measure.value.field == "corrects"
    with pytest.raises(EntryNotFound):  # a step is no plan revision
        case.withdraw(steps["end"], None, why(), ids)
    with pytest.raises(CommandRefused) as reason:
        why("because")
    assert reason.value.field == "reason"


def revised(case: MeasuresCase, valid_from: date, goal: str) -> uuid.UUID:
    case.revise_plan(
        valid_from=valid_from, goal=goal, mapping={}, efforts=[], follow_up_on=None,
        evaluation_on=None, actor=ACTOR, correlation_id=YOUTH, sealer=SEALER,
    )  # fmt: skip
    return ids(case.collect_events()[0].originator_version)


def test_a_plan_revision_is_corrected_in_its_place_or_withdrawn() -> None:
    case = measures_case()
    case.collect_events()
    first = revised(case, date(2026, 3, 5), "Komvux")
    second = revised(case, date(2026, 3, 10), "Praktik")
    revision: dict[str, Any] = {
        "goal": "Komvux i höst",
        "mapping": {},
        "efforts": [],
        "valid_from": None,
    }
    assert case.correct_plan_revision(first, revision, why("wrong_value"), ids, SEALER)
    assert [r["revision"] for r in case.plan_revisions] == [1, 2]
    [corrected] = case.collect_events()
    public = to_integration_event(corrected)
    assert isinstance(public, IndividualPlanRevised)
    assert (public.revision, public.valid_from, public.corrects) == (1, date(2026, 3, 5), first)
    late = {**revision, "valid_from": date(2026, 3, 11)}
    refused = refusal(lambda: case.correct_plan_revision(public.event_id, late, why(), ids, SEALER))
    assert (refused.field, refused.conflict) == ("valid_from", True)
    assert str(second) in refused.reason
    assert case.withdraw(second, None, why("did_not_happen"), ids)
    assert case.plan_on(date(2026, 3, 20))["revision"] == 1  # type: ignore[index]
    assert revised(case, date(2026, 3, 12), "Jobb") is not None
    assert [r["revision"] for r in case.plan_revisions] == [1, 3], "numbers are never reused"
