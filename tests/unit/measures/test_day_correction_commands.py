"""The use cases correcting a follow-up's completion and an objection (`commands.corrections`):
the measures view names each completion and objection by the event id to correct, with who
corrected or withdrew it and why; another municipality's youth is not found; a day not yet come
is refused naming `on`; and what was recorded while the youth was in scope is put right after the
youth left it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import pytest

from services.measures.commands import (
    CompleteFollowUp,
    MeasuresCommands,
    RecordObjection,
    RevisePlan,
)
from services.measures.commands.corrections import CorrectDay, MeasuresCorrections, WithdrawDay
from shared.auth import Principal
from shared.casework.commands import CaseClock
from shared.casework.domain import CaseNotFound
from shared.contracts.events import YouthLeftScope
from shared.dates import ImplausibleDate
from tests.unit.measures.store import InMemoryMeasures
from tests.unit.measures.support import YOUTH, measures_case

TODAY = date(2026, 4, 20)
CALLER = Principal(subject="anna", tenant="0180", roles=frozenset({"caseworker"}))
T = TypeVar("T")


def run(work: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(work)


def recorded() -> tuple[MeasuresCommands, MeasuresCorrections, InMemoryMeasures, uuid.UUID]:
    """A plan follow-up completed on 2 April and an objection on 4 March: the use cases, the
    store and the follow-up's id."""
    case = measures_case()
    case.collect_events()
    memory = InMemoryMeasures(case)
    runtime, clock = memory.runtime(), CaseClock(TODAY)
    commands = MeasuresCommands(runtime, clock)
    plan = RevisePlan(YOUTH, "Praktik", valid_from=date(2026, 3, 3), follow_up_on=date(2026, 4, 1))
    run(commands.revise_plan(CALLER, plan))
    [follow_up] = run(commands.show_measures(CALLER, YOUTH)).follow_ups
    due = uuid.UUID(follow_up["follow_up_id"])
    run(commands.complete_follow_up(CALLER, CompleteFollowUp(YOUTH, due, date(2026, 4, 2))))
    run(commands.record_objection(CALLER, RecordObjection(YOUTH, date(2026, 3, 4))))
    return commands, MeasuresCorrections(runtime, clock), memory, due


def test_the_view_names_each_completion_and_objection_and_who_put_it_right() -> None:
    commands, corrections, _, due = recorded()
    shown = run(commands.show_measures(CALLER, YOUTH))
    [completion] = shown.follow_ups[0]["entries"]
    [objection] = shown.objection_entries
    assert (completion["event_type"], completion["completed_on"]) == (
        "FollowUpCompleted", date(2026, 4, 2)
    )  # fmt: skip
    assert (objection["event_type"], objection["objected_on"]) == (
        "ObjectionRecorded",
        date(2026, 3, 4),
    )
    note = "Fel dag"
    fix = CorrectDay(YOUTH, completion["event_id"], "wrong_date", date(2026, 4, 3), due, note)
    assert run(corrections.correct_day(CALLER, fix))
    gone = WithdrawDay(YOUTH, objection["event_id"], "did_not_happen")
    assert run(corrections.withdraw_day(CALLER, gone))
    shown = run(commands.show_measures(CALLER, YOUTH))
    first, latest = shown.follow_ups[0]["entries"]
    assert first["corrected"]["by"] == latest["event_id"]
    assert (latest["corrects"], latest["correction"]["note"]) == (completion["event_id"], note)
    assert shown.follow_ups[0]["completed_on"] == date(2026, 4, 3)
    assert shown.objections == []
    assert shown.objection_entries[0]["withdrawn"]["reason"] == "did_not_happen"


def test_another_municipality_s_youth_is_not_found_and_a_day_to_come_refused() -> None:
    commands, corrections, memory, _ = recorded()
    [objection] = run(commands.show_measures(CALLER, YOUTH)).objection_entries
    other = Principal(subject="bo", tenant="0181", roles=frozenset({"caseworker"}))
    before = len(memory.recorded)
    with pytest.raises(CaseNotFound):
        run(corrections.withdraw_day(other, WithdrawDay(YOUTH, objection["event_id"], "other")))
    later = CorrectDay(YOUTH, objection["event_id"], "wrong_date", date(2026, 4, 21))
    with pytest.raises(ImplausibleDate) as future:
        run(corrections.correct_day(CALLER, later))
    assert future.value.field == "on"
    assert len(memory.recorded) == before


def test_an_entry_is_put_right_after_the_youth_left_scope() -> None:
    commands, corrections, memory, _ = recorded()
    [objection] = run(commands.show_measures(CALLER, YOUTH)).objection_entries
    at = datetime(2026, 4, 10, tzinfo=UTC)
    case = memory.cases[YOUTH]
    assert case.open_episode is not None
    left = YouthLeftScope(
        event_id=uuid.uuid4(), tenant="0180", youth_id=YOUTH, occurred_at=at, recorded_at=at,
        actor="system:identify", correlation_id=uuid.uuid4(),
        scope_episode_id=uuid.UUID(case.open_episode), left_on=date(2026, 4, 10), reason="moved_out",
        rule_version="kaa-2018-07-01",
    )  # fmt: skip
    case.on_identify_event(left)
    case.collect_events()
    assert not case.in_scope
    fix = CorrectDay(YOUTH, objection["event_id"], "wrong_date", date(2026, 3, 5))
    assert run(corrections.correct_day(CALLER, fix))
    assert case.objections == [date(2026, 3, 5)]
