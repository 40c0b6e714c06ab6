"""The measures service's use cases (`commands.MeasuresCommands`) called directly, as Kafka, the
CLI or a test would, without HTTP: what each checks before it records, what it records, and how
a retry and a refusal answer. The store is in memory (`store.InMemoryMeasures`)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from datetime import date
from typing import Any, TypeVar

import pytest

from services.measures.adapters.store import MeasuresApplication
from services.measures.commands import (
    CompleteFollowUp,
    Effort,
    EndMeasure,
    MeasuresCommands,
    OfferMeasure,
    RecordObjection,
    RevisePlan,
    TakeStep,
)
from services.measures.domain import Step
from shared.auth import Principal
from shared.casework.commands import CaseClock, CaseRuntime
from shared.casework.domain import CaseNotFound, CommandRefused
from shared.dates import ImplausibleDate
from shared.free_text import plan_revision_shown
from tests.unit.measures.store import InMemoryMeasures
from tests.unit.measures.support import YOUTH, measures_case

TODAY = date(2026, 3, 20)
CALLER = Principal(subject="anna", tenant="0180", roles=frozenset({"caseworker"}))
T = TypeVar("T")


def run(work: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(work)


def handlers(**store: Any) -> tuple[MeasuresCommands, InMemoryMeasures]:
    case = measures_case()
    case.collect_events()  # opened and in scope: what the commands record comes after
    memory = InMemoryMeasures(case, **store)
    return MeasuresCommands(memory.runtime(), CaseClock(TODAY)), memory


def offered(commands: MeasuresCommands, **changes: Any) -> uuid.UUID:
    offer = OfferMeasure(YOUTH, "internship", date(2026, 3, 3), **changes)
    return run(commands.offer_measure(CALLER, offer)).measure_id


def kinds(memory: InMemoryMeasures) -> list[str]:
    return [type(e).__name__ for e in memory.recorded]


def test_an_offer_is_recorded_with_a_new_id_and_its_retry_records_nothing() -> None:
    commands, memory = handlers()
    first = run(commands.offer_measure(CALLER, OfferMeasure(YOUTH, "internship", TODAY)))
    assert first.recorded
    assert first.warnings == []
    again = OfferMeasure(YOUTH, "internship", TODAY, measure_id=first.measure_id)
    assert not run(commands.offer_measure(CALLER, again)).recorded
    assert kinds(memory) == ["MeasureOffered"]
    assert memory.recorded[0].actor == "user:anna"


def test_a_date_that_cannot_be_true_is_refused_before_the_store_is_touched() -> None:
    untouched = CaseRuntime[MeasuresApplication]()  # never started: touching it is a RuntimeError
    commands = MeasuresCommands(untouched, CaseClock(TODAY))
    attempts: list[tuple[Coroutine[Any, Any, Any], str]] = [
        (commands.offer_measure(CALLER, OfferMeasure(YOUTH, "internship", TODAY, date(1899, 1, 1))),
         "can_start_on"),
        (commands.take_step(CALLER, TakeStep(YOUTH, YOUTH, Step.ACCEPT, date(2014, 6, 30))), "on"),
        (commands.end_measure(CALLER, EndMeasure(YOUTH, YOUTH, date(2026, 3, 21), "completed")),
         "on"),
        (commands.revise_plan(CALLER, RevisePlan(YOUTH, "g", evaluation_on=date(1899, 1, 1))),
         "evaluation_on"),
        (commands.complete_follow_up(CALLER, CompleteFollowUp(YOUTH, YOUTH, date(2014, 1, 1))),
         "on"),
    ]  # fmt: skip
    for attempt, field in attempts:
        with pytest.raises(ImplausibleDate) as refused:
            run(attempt)
        assert refused.value.field == field


def test_an_offer_is_checked_before_anything_is_recorded() -> None:
    commands, memory = handlers()
    refusals = [
        (OfferMeasure(YOUTH, "internship", date(2026, 3, 21)), "offered_on"),  # tomorrow
        (OfferMeasure(YOUTH, "internship", TODAY, date(2014, 1, 1)), "can_start_on"),
        (OfferMeasure(YOUTH, "no_such_measure", TODAY), "measure_type"),
    ]
    for offer, field in refusals:
        with pytest.raises((CommandRefused, ImplausibleDate)) as refused:
            run(commands.offer_measure(CALLER, offer))
        assert getattr(refused.value, "field", None) == field
    assert memory.recorded == []


def test_an_offer_seals_its_content_and_warns_about_sensitive_words() -> None:
    commands, memory = handlers()
    offer = OfferMeasure(YOUTH, "internship", TODAY, content="Har en ADHD-diagnos")
    answer = run(commands.offer_measure(CALLER, offer))
    [warning] = answer.warnings
    assert warning.startswith("content: may contain sensitive personal data (health)")
    assert "ADHD" not in warning
    [event] = memory.recorded
    assert event.content_digest is not None
    assert "ADHD" not in event.content


def test_a_decline_schedules_the_re_offer_after_the_municipality_s_days() -> None:
    commands, memory = handlers(reoffer_after_days=10)
    measure = offered(commands)
    assert run(commands.take_step(CALLER, TakeStep(YOUTH, measure, Step.DECLINE, TODAY)))
    assert kinds(memory)[-2:] == ["MeasureDeclined", "FollowUpScheduled"]
    assert memory.recorded[-1].due_on == date(2026, 3, 30)


def test_the_steps_run_through_the_lifecycle_and_a_retry_records_nothing() -> None:
    commands, memory = handlers()
    measure = offered(commands)
    for step, day in ((Step.ACCEPT, date(2026, 3, 4)), (Step.START, date(2026, 3, 5))):
        assert run(commands.take_step(CALLER, TakeStep(YOUTH, measure, step, day)))
        assert not run(commands.take_step(CALLER, TakeStep(YOUTH, measure, step, day)))
    end = EndMeasure(YOUTH, measure, date(2026, 3, 19), "completed", "work")
    assert run(commands.end_measure(CALLER, end))
    assert not run(commands.end_measure(CALLER, end))
    assert kinds(memory) == ["MeasureOffered", "MeasureAccepted", "MeasureStarted", "MeasureEnded"]


def test_a_step_the_lifecycle_does_not_allow_is_a_conflict_and_records_nothing() -> None:
    commands, memory = handlers()
    measure = offered(commands)
    with pytest.raises(CommandRefused) as refused:
        run(commands.take_step(CALLER, TakeStep(YOUTH, measure, Step.START, TODAY)))
    assert (refused.value.field, refused.value.conflict) == ("measure_id", True)
    assert kinds(memory) == ["MeasureOffered"]
    with pytest.raises(ValueError, match="step: end is not taken with a day only"):
        run(commands.take_step(CALLER, TakeStep(YOUTH, measure, Step.END, TODAY)))


def test_a_youth_of_another_municipality_is_not_found() -> None:
    commands, _ = handlers()
    other = Principal(subject="bo", tenant="0181", roles=frozenset({"caseworker"}))
    with pytest.raises(CaseNotFound):
        run(commands.offer_measure(other, OfferMeasure(YOUTH, "internship", TODAY)))
    with pytest.raises(CaseNotFound):
        run(commands.case_and_opener(other, YOUTH))


def plan(**changes: Any) -> RevisePlan:
    effort = Effort("SYV-samtal", "municipality", start_date=date(2026, 3, 10))
    given: dict[str, Any] = {"mapping": {"goals": ["komvux"]}, "efforts": (effort,), **changes}
    return RevisePlan(YOUTH, "Börja på komvux", **given)


def test_a_plan_revision_valid_from_today_by_default_is_the_same_request_the_next_day() -> None:
    commands, memory = handlers()
    revision = uuid.uuid4()
    first = run(commands.revise_plan(CALLER, plan(revision_id=revision)))
    assert (first.revision, first.recorded) == (1, True)
    assert memory.recorded[0].valid_from == TODAY
    next_day = MeasuresCommands(commands.runtime, CaseClock(date(2026, 3, 21)))
    again = run(next_day.revise_plan(CALLER, plan(revision_id=revision)))
    assert (again.revision, again.recorded) == (1, False)


def test_a_plan_revision_warns_naming_the_field_and_refuses_an_implausible_date() -> None:
    commands, memory = handlers()
    answer = run(commands.revise_plan(CALLER, plan(mapping={"needs": ["", "går på BUP"]})))
    assert [w.split(":")[0] for w in answer.warnings] == ["mapping.needs[1]"]
    early = Effort("x", "youth", start_date=date(2014, 12, 31))
    with pytest.raises(ImplausibleDate) as refused:
        run(commands.revise_plan(CALLER, plan(efforts=(early,))))
    assert refused.value.field == "efforts[0].start_date"
    assert kinds(memory).count("IndividualPlanRevised") == 1


def test_a_follow_up_and_an_objection_are_recorded_once() -> None:
    commands, memory = handlers()
    run(commands.revise_plan(CALLER, plan(follow_up_on=date(2026, 4, 1))))
    [follow_up] = [e.follow_up_id for e in memory.recorded if hasattr(e, "follow_up_id")]
    complete = CompleteFollowUp(YOUTH, uuid.UUID(follow_up), TODAY)
    assert run(commands.complete_follow_up(CALLER, complete))
    assert not run(commands.complete_follow_up(CALLER, complete))
    objection = RecordObjection(YOUTH, TODAY)
    assert run(commands.record_objection(CALLER, objection))
    assert not run(commands.record_objection(CALLER, objection))
    with pytest.raises(ImplausibleDate):
        run(commands.record_objection(CALLER, RecordObjection(YOUTH, date(2026, 3, 21))))


def test_the_read_opens_the_words_with_the_key_the_keyring_holds_now() -> None:
    commands, memory = handlers()
    run(commands.revise_plan(CALLER, plan()))
    case, open_ = run(commands.case_and_opener(CALLER, YOUTH))
    [revision] = case.plan_revisions
    assert plan_revision_shown(revision, open_)["goal"] == "Börja på komvux"
    memory.keys[YOUTH] = None  # retention destroyed the key
    _, gone = run(commands.case_and_opener(CALLER, YOUTH))
    assert plan_revision_shown(revision, gone)["text"] == "redacted"
    memory.key_refused = True  # the wrapped key fails authentication
    _, refused = run(commands.case_and_opener(CALLER, YOUTH))
    assert plan_revision_shown(revision, refused)["text"] == "tampered"


def test_the_catalogue_is_sorted_by_code() -> None:
    commands, _ = handlers()
    codes = [entry["code"] for entry in run(commands.catalogue(CALLER))]
    assert codes == sorted(codes)
    assert "internship" in codes


def test_the_reads_show_the_words_opened_and_write_each_read_to_the_access_log() -> None:
    commands, memory = handlers()
    run(commands.revise_plan(CALLER, plan(valid_from=date(2026, 3, 10))))
    measure = offered(commands, content="Praktik på biblioteket")
    [shown] = run(commands.show_measures(CALLER, YOUTH)).measures
    assert (shown["measure_id"], shown["content"]) == (str(measure), "Praktik på biblioteket")
    assert run(commands.show_plan(CALLER, YOUTH)).plan["goal"] == "Börja på komvux"  # type: ignore[index]
    before = run(commands.show_plan(CALLER, YOUTH, date(2026, 3, 9)))
    assert (before.as_of, before.plan) == (date(2026, 3, 9), None)
    [revision] = run(commands.show_plan_revisions(CALLER, YOUTH))
    assert revision["goal"] == "Börja på komvux"
    assert [(e[0], e[1], e[2], e[4], e[5]) for e in memory.pool.access_logged()] == [
        ("0180", "user:anna", [YOUTH], what, "measures")
        for what in ("measures", f"individual plan as of {TODAY}",
                     "individual plan as of 2026-03-09", "individual plan revisions")
    ]  # fmt: skip


def test_a_read_of_another_municipality_s_youth_is_not_found_and_not_logged() -> None:
    commands, memory = handlers()
    other = Principal(subject="bo", tenant="0181", roles=frozenset({"caseworker"}))
    for read in (commands.show_measures, commands.show_plan, commands.show_plan_revisions):
        with pytest.raises(CaseNotFound):
            run(read(other, YOUTH))
    assert memory.pool.access_logged() == []
