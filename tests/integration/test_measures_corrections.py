"""Corrections and withdrawals of measures entries on the real event store (PostgreSQL): the use
cases record through the group-commit writer, the events load again into a case that holds the
same corrected truth (what a restarted service sees), a refusal records nothing, and the outbox
publishes each with its `corrects` / `withdraws` naming the stored entry's event id."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import cast

import asyncpg
import psycopg
import pytest

from services.measures.adapters.outbound import entry_event_id, to_integration_event
from services.measures.adapters.store import MeasuresApplication
from services.measures.commands import (
    EndMeasure,
    MeasuresCommands,
    OfferMeasure,
    RevisePlan,
    TakeStep,
)
from services.measures.commands.corrections import (
    CorrectPlanRevision,
    CorrectStep,
    MeasuresCorrections,
    Withdraw,
)
from services.measures.domain import MeasuresCase, Step
from shared.casework.commands import Actor, CaseClock, CaseRuntime, take_in_identify_batch
from shared.casework.domain import CommandRefused
from shared.contracts.events import MeasureEnded, MeasuresEntryWithdrawn, YouthIdentified
from shared.crypto import KEYRING_DDL, TenantKeys
from shared.eventstore import eventsourcing_env
from tests.conftest import RunningInfra

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)
CALLER = Actor("0180", "user:anna")


@pytest.fixture
def app(infra: RunningInfra) -> Iterator[MeasuresApplication]:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(KEYRING_DDL)
    application = MeasuresApplication(eventsourcing_env(infra.database_url, schema))
    application.tenant_keys = TenantKeys("integration-master-key-0123456789")
    yield application
    application.close()
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def in_scope(app: MeasuresApplication, youth: uuid.UUID) -> None:
    identified = YouthIdentified(
        event_id=uuid.uuid4(), tenant="0180", youth_id=youth, occurred_at=NOW, recorded_at=NOW,
        actor="system:identify", correlation_id=uuid.uuid4(), scope_episode_id=uuid.uuid4(),
        entered_on=date(2026, 3, 2), scope_ends_on=date(2027, 5, 1), rule_version="r", facts={},
    )  # fmt: skip
    take_in_identify_batch(app, [identified], "identify", 0, 1)


def handlers(app: MeasuresApplication) -> tuple[MeasuresCommands, MeasuresCorrections]:
    runtime = CaseRuntime[MeasuresApplication]()
    runtime.start(app, cast(asyncpg.Pool, None), "measures")
    clock = CaseClock(date(2026, 3, 20))
    return MeasuresCommands(runtime, clock), MeasuresCorrections(runtime, clock)


def stored(app: MeasuresApplication, youth: uuid.UUID) -> MeasuresCase:
    """The case as a fresh replica loads it from the stored events."""
    fresh = MeasuresApplication(dict(app.env))
    try:
        case: MeasuresCase = fresh.case_of(youth, "0180")
        return case
    finally:
        fresh.close()


async def test_a_corrected_and_a_withdrawn_step_load_again_as_recorded(
    app: MeasuresApplication,
) -> None:
    youth = uuid.uuid4()
    in_scope(app, youth)
    commands, corrections = handlers(app)
    offer = await commands.offer_measure(
        CALLER, OfferMeasure(youth, "internship", date(2026, 3, 3))
    )
    measure = offer.measure_id
    for step, day in ((Step.ACCEPT, 4), (Step.START, 5)):
        await commands.take_step(CALLER, TakeStep(youth, measure, step, date(2026, 3, day)))
    await commands.end_measure(CALLER, EndMeasure(youth, measure, date(2026, 3, 9), "completed"))
    versions = sorted(stored(app, youth).record.entries)
    start, end = (entry_event_id(youth, v) for v in versions[2:4])
    with pytest.raises(CommandRefused) as refused:
        await corrections.withdraw(CALLER, Withdraw(youth, start, "did_not_happen", measure))
    assert str(end) in refused.value.reason
    fix = CorrectStep(youth, measure, end, "wrong_date", date(2026, 3, 10), "Fel datum",
                      end_reason="completed")  # fmt: skip
    assert await corrections.correct_step(CALLER, fix)
    case = stored(app, youth)
    assert case.measures[str(measure)]["ended_on"] == date(2026, 3, 10)
    corrected = max(case.record.entries)
    assert case.record.entries[versions[3]]["corrected"]["by"] == corrected
    latest = entry_event_id(youth, corrected)
    assert await corrections.withdraw(CALLER, Withdraw(youth, latest, "did_not_happen", measure))
    case = stored(app, youth)
    assert case.measures[str(measure)]["state"] == "started"
    published = [to_integration_event(e) for e in list(app.repository.event_store.get(youth))[-2:]]
    ended, withdrawn = published
    assert isinstance(ended, MeasureEnded)
    assert (ended.corrects, ended.ended_on) == (end, date(2026, 3, 10))
    assert isinstance(withdrawn, MeasuresEntryWithdrawn)
    assert (withdrawn.withdraws, withdrawn.withdrawn_event_type) == (latest, "MeasureEnded")


async def test_a_corrected_plan_revision_loads_again_in_its_place(
    app: MeasuresApplication,
) -> None:
    youth = uuid.uuid4()
    in_scope(app, youth)
    commands, corrections = handlers(app)
    await commands.revise_plan(CALLER, RevisePlan(youth, "Komvux", valid_from=date(2026, 3, 5)))
    [version] = stored(app, youth).record.entries
    fix = CorrectPlanRevision(youth, entry_event_id(youth, version), "wrong_value", "Praktik")
    assert await corrections.correct_plan_revision(CALLER, fix)
    assert not await asyncio.wait_for(corrections.correct_plan_revision(CALLER, fix), 10)
    case = stored(app, youth)
    [revision] = case.plan_revisions
    assert (revision["revision"], revision["valid_from"]) == (1, date(2026, 3, 5))
    assert revision["version"] != version
