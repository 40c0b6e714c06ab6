"""The correction use cases (`commands.corrections.MeasuresCorrections`) called directly: what they
check before the store is touched (reason, note, dates), the note sealed with the youth's key,
another municipality's youth not found, and the views naming every entry by its event id with
who corrected or withdrew it, when and why."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from datetime import date
from typing import Any, TypeVar

import pytest

from services.measures.adapters.outbound import to_integration_event
from services.measures.adapters.store import MeasuresApplication
from services.measures.commands import MeasuresCommands, OfferMeasure, RevisePlan, TakeStep
from services.measures.commands.corrections import (
    CorrectPlanRevision,
    CorrectStep,
    MeasuresCorrections,
    Withdraw,
)
from services.measures.domain import Step
from services.measures.domain.record import EntryNotFound
from shared.auth import Principal
from shared.casework.commands import CaseClock, CaseRuntime
from shared.casework.domain import CaseNotFound, CommandRefused
from shared.contracts.events import Correction, MeasureAccepted
from shared.crypto import open_sealed
from shared.dates import ImplausibleDate
from tests.unit.measures.store import InMemoryMeasures
from tests.unit.measures.support import YOUTH, measures_case

TODAY = date(2026, 3, 20)
CALLER = Principal(subject="anna", tenant="0180", roles=frozenset({"caseworker"}))
T = TypeVar("T")


def run(work: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(work)


def handlers() -> tuple[MeasuresCommands, MeasuresCorrections, InMemoryMeasures]:
    case = measures_case()
    case.collect_events()
    memory = InMemoryMeasures(case)
    runtime = memory.runtime()
    clock = CaseClock(TODAY)
    return MeasuresCommands(runtime, clock), MeasuresCorrections(runtime, clock), memory


def accepted_measure() -> tuple[MeasuresCommands, MeasuresCorrections, InMemoryMeasures, uuid.UUID]:
    commands, corrections, memory = handlers()
    offer = run(commands.offer_measure(CALLER, OfferMeasure(YOUTH, "internship", date(2026, 3, 3))))
    step = TakeStep(YOUTH, offer.measure_id, Step.ACCEPT, date(2026, 3, 4))
    run(commands.take_step(CALLER, step))
    return commands, corrections, memory, offer.measure_id


def test_a_correction_with_a_note_is_sealed_and_the_view_names_each_entry() -> None:
    commands, corrections, memory, measure = accepted_measure()
    [shown] = run(commands.show_measures(CALLER, YOUTH)).measures
    offer, accept = shown["entries"]
    assert (offer["event_type"], accept["event_type"]) == ("MeasureOffered", "MeasureAccepted")
    note = "Fel dag i anteckningen"
    command = CorrectStep(YOUTH, measure, accept["event_id"], "wrong_date", date(2026, 3, 5), note)
    assert run(corrections.correct_step(CALLER, command))
    corrected = memory.recorded[-1]
    public = to_integration_event(corrected)
    assert isinstance(public, MeasureAccepted)
    assert public.corrects == accept["event_id"]
    assert public.correction is not None
    sealed = public.correction.sealed_note
    assert sealed is not None
    assert note not in public.to_bytes().decode()
    key = memory.data_key(YOUTH)
    opened = open_sealed(key, sealed, "0180", YOUTH, Correction.SEALED_PURPOSE)
    assert opened == note.encode()
    assert not run(corrections.correct_step(CALLER, command)), "a retry records nothing"
    [shown] = run(commands.show_measures(CALLER, YOUTH)).measures
    assert shown["accepted_on"] == date(2026, 3, 5)
    _, old, new = shown["entries"]
    assert old["corrected"]["by"] == new["event_id"] == public.event_id
    assert (old["corrected"]["actor"], old["corrected"]["reason"]) == ("user:anna", "wrong_date")
    assert old["corrected"]["note"] == note
    assert old["corrected"]["at"] is not None
    assert new["corrects"] == accept["event_id"]


def test_a_withdrawn_offer_is_shown_withdrawn_with_nothing_standing() -> None:
    commands, corrections, _, measure = accepted_measure()
    [shown] = run(commands.show_measures(CALLER, YOUTH)).measures
    offer, accept = (e["event_id"] for e in shown["entries"])
    depends = Withdraw(YOUTH, offer, "did_not_happen", measure)
    with pytest.raises(CommandRefused) as refused:
        run(corrections.withdraw(CALLER, depends))
    assert refused.value.conflict
    assert str(accept) in refused.value.reason
    run(corrections.withdraw(CALLER, Withdraw(YOUTH, accept, "did_not_happen", measure)))
    run(corrections.withdraw(CALLER, depends))
    [shown] = run(commands.show_measures(CALLER, YOUTH)).measures
    assert shown["state"] is None
    assert [e["withdrawn"]["reason"] for e in shown["entries"]] == ["did_not_happen"] * 2


def test_reason_note_and_dates_are_refused_before_the_store_is_touched() -> None:
    untouched = CaseRuntime[MeasuresApplication]()  # never started: touching it is a RuntimeError
    corrections = MeasuresCorrections(untouched, CaseClock(TODAY))
    some = uuid.uuid4()
    refused = [
        (CorrectStep(YOUTH, some, some, "because", TODAY), "reason"),
        (CorrectStep(YOUTH, some, some, "other", TODAY, "x" * 301), "note"),
    ]
    for command, field in refused:
        with pytest.raises(CommandRefused) as refusal:
            run(corrections.correct_step(CALLER, command))
        assert refusal.value.field == field
        assert "x" * 10 not in str(refusal.value)
    with pytest.raises(CommandRefused):
        run(corrections.withdraw(CALLER, Withdraw(YOUTH, some, "wrong")))
    with pytest.raises(ImplausibleDate) as future:
        run(
            corrections.correct_step(
                CALLER, CorrectStep(YOUTH, some, some, "other", date(2026, 3, 21))
            )
        )
    assert future.value.field == "on"


def test_another_municipality_s_youth_or_entry_is_not_found() -> None:
    commands, corrections, _, measure = accepted_measure()
    [shown] = run(commands.show_measures(CALLER, YOUTH)).measures
    accept = shown["entries"][1]["event_id"]
    other = Principal(subject="bo", tenant="0181", roles=frozenset({"caseworker"}))
    with pytest.raises(CaseNotFound):
        run(corrections.withdraw(other, Withdraw(YOUTH, accept, "other", measure)))
    with pytest.raises(EntryNotFound) as unknown:
        run(corrections.withdraw(CALLER, Withdraw(YOUTH, uuid.uuid4(), "other", measure)))
    assert unknown.value.field == "withdraws"
    with pytest.raises(EntryNotFound):  # a step named as a plan revision
        run(corrections.withdraw(CALLER, Withdraw(YOUTH, accept, "other")))


def test_a_plan_revision_corrected_shows_in_the_revisions_and_the_plan_in_force() -> None:
    commands, corrections, _ = handlers()
    run(commands.revise_plan(CALLER, RevisePlan(YOUTH, "Komvux", valid_from=date(2026, 3, 5))))
    [revision] = run(commands.show_plan_revisions(CALLER, YOUTH))
    correct = CorrectPlanRevision(YOUTH, revision["event_id"], "wrong_value", "Komvux i höst")
    assert run(corrections.correct_plan_revision(CALLER, correct))
    first, second = run(commands.show_plan_revisions(CALLER, YOUTH))
    assert first["corrected"]["by"] == second["event_id"]
    assert (second["goal"], second["valid_from"], second["revision"]) == (
        "Komvux i höst", date(2026, 3, 5), 1
    )  # fmt: skip
    plan = run(commands.show_plan(CALLER, YOUTH)).plan
    assert plan is not None
    assert (plan["goal"], plan["event_id"]) == ("Komvux i höst", second["event_id"])
    assert run(corrections.withdraw(CALLER, Withdraw(YOUTH, second["event_id"], "wrong_youth")))
    assert run(commands.show_plan(CALLER, YOUTH)).plan is None
