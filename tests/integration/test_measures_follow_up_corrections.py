"""The follow-ups a correction or withdrawal changes, and corrections of a follow-up's completion
and of an objection, on the real event store (PostgreSQL): the measures service records them, a
fresh replica loads the same truth, and what it publishes, taken in by outreach on its own
PostgreSQL schema (as its consumer of the measures topic does), puts the follow-up worklist
right: a withdrawn decline's re-offer reminder gone, a corrected decline's moved, a corrected
plan revision's follow-up moved, a withdrawn completion due again."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import psycopg
import pytest

from services.measures.adapters.outbound import entry_event_id, to_integration_event
from services.measures.adapters.store import MeasuresApplication
from services.measures.commands import (
    CompleteFollowUp,
    MeasuresCommands,
    OfferMeasure,
    RecordObjection,
    RevisePlan,
    TakeStep,
)
from services.measures.commands.corrections import (
    CorrectDay,
    CorrectPlanRevision,
    CorrectStep,
    MeasuresCorrections,
    Withdraw,
    WithdrawDay,
)
from services.measures.domain import Step
from services.outreach.adapters.worklists import Item
from services.outreach.commands import WorklistQuery
from shared.casework.domain import CommandRefused
from shared.contracts.events import FollowUpCompleted, ObjectionRecorded
from shared.crypto import KEYRING_DDL, TenantKeys
from shared.eventstore import eventsourcing_env
from tests.conftest import RunningInfra
from tests.integration.outreach_support import ANNA, Outreach, outreach
from tests.integration.test_measures_corrections import CALLER, handlers, in_scope, stored

__all__ = ["outreach"]


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


class Relay:
    """The measures events published so far for a youth, handed to outreach once each."""

    def __init__(self, app: MeasuresApplication, outreach: Outreach, youth: uuid.UUID) -> None:
        self.app, self.outreach, self.youth, self.sent = app, outreach, youth, 0

    def publish(self) -> list[Any]:
        stored_events = list(self.app.repository.event_store.get(self.youth))
        new = [p for e in stored_events[self.sent :] if (p := to_integration_event(e)) is not None]
        self.sent = len(stored_events)
        self.outreach._take("measures", new)
        return new


async def due(outreach: Outreach, day: date) -> list[Item]:
    _, items = await outreach.on(day).worklist(ANNA, WorklistQuery("follow_up"))
    return items


def started(app: MeasuresApplication, outreach: Outreach) -> tuple[
    uuid.UUID, MeasuresCommands, MeasuresCorrections, Relay
]:  # fmt: skip
    """A youth in scope in both services, the measures use cases and the relay to outreach."""
    youth = outreach.identify()
    in_scope(app, youth)
    commands, corrections = handlers(app)
    return youth, commands, corrections, Relay(app, outreach, youth)


async def declined(
    youth: uuid.UUID, commands: MeasuresCommands, relay: Relay
) -> tuple[uuid.UUID, uuid.UUID]:
    """A measure offered on 3 March, declined on the 4th (re-offer due 30 days later, 3 April):
    the measure and the decline's event id."""
    offer = await commands.offer_measure(
        CALLER, OfferMeasure(youth, "internship", date(2026, 3, 3))
    )
    step = TakeStep(youth, offer.measure_id, Step.DECLINE, date(2026, 3, 4))
    await commands.take_step(CALLER, step)
    published = relay.publish()
    return offer.measure_id, published[1].event_id


async def test_a_withdrawn_decline_leaves_no_re_offer_reminder(
    app: MeasuresApplication, outreach: Outreach
) -> None:
    youth, commands, corrections, relay = started(app, outreach)
    measure, decline = await declined(youth, commands, relay)
    [reminder] = await due(outreach, date(2026, 4, 3))
    assert reminder.youth_id == youth
    assert await corrections.withdraw(CALLER, Withdraw(youth, decline, "did_not_happen", measure))
    relay.publish()
    assert await due(outreach, date(2026, 4, 3)) == []
    assert str(reminder.follow_up_id) not in stored(app, youth).follow_ups


async def test_a_corrected_decline_moves_its_re_offer_reminder(
    app: MeasuresApplication, outreach: Outreach
) -> None:
    youth, commands, corrections, relay = started(app, outreach)
    measure, decline = await declined(youth, commands, relay)
    fix = CorrectStep(youth, measure, decline, "wrong_date", date(2026, 3, 10))
    assert await corrections.correct_step(CALLER, fix)
    relay.publish()
    assert await due(outreach, date(2026, 4, 8)) == []
    [reminder] = await due(outreach, date(2026, 4, 9))
    assert stored(app, youth).follow_ups[str(reminder.follow_up_id)]["due_on"] == date(2026, 4, 9)


async def test_a_plan_revision_corrected_moves_its_follow_up_and_withdrawn_drops_it(
    app: MeasuresApplication, outreach: Outreach
) -> None:
    youth, commands, corrections, relay = started(app, outreach)
    plan = RevisePlan(youth, "Komvux", valid_from=date(2026, 3, 5), follow_up_on=date(2026, 4, 1))
    await commands.revise_plan(CALLER, plan)
    revision = relay.publish()[0].event_id
    assert len(await due(outreach, date(2026, 4, 1))) == 1
    fix = CorrectPlanRevision(
        youth, revision, "wrong_date", "Komvux", follow_up_on=date(2026, 4, 20)
    )
    assert await corrections.correct_plan_revision(CALLER, fix)
    corrected = relay.publish()[0].event_id
    assert await due(outreach, date(2026, 4, 19)) == []
    assert len(await due(outreach, date(2026, 4, 20))) == 1
    assert await corrections.withdraw(CALLER, Withdraw(youth, corrected, "did_not_happen"))
    relay.publish()
    assert await due(outreach, date(2026, 4, 20)) == []
    assert stored(app, youth).follow_ups == {}


async def test_a_completion_corrected_or_withdrawn_and_an_objection_put_right(
    app: MeasuresApplication, outreach: Outreach
) -> None:
    youth, commands, corrections, relay = started(app, outreach)
    plan = RevisePlan(youth, "Komvux", valid_from=date(2026, 3, 5), follow_up_on=date(2026, 3, 10))
    await commands.revise_plan(CALLER, plan)
    [follow_up] = stored(app, youth).follow_ups
    done = CompleteFollowUp(youth, uuid.UUID(follow_up), date(2026, 3, 11))
    await commands.complete_follow_up(CALLER, done)
    await commands.record_objection(CALLER, RecordObjection(youth, date(2026, 3, 12)))
    *_, completion, objection = relay.publish()
    assert isinstance(completion, FollowUpCompleted)
    assert isinstance(objection, ObjectionRecorded)
    assert await due(outreach, date(2026, 3, 12)) == []
    fix = CorrectDay(youth, completion.event_id, "wrong_date", date(2026, 3, 13), done.follow_up_id)
    assert await corrections.correct_day(CALLER, fix)
    assert not await corrections.correct_day(CALLER, fix), "a retry records nothing"
    [corrected] = relay.publish()
    assert isinstance(corrected, FollowUpCompleted)
    assert corrected.corrects == completion.event_id
    stale = WithdrawDay(youth, completion.event_id, "did_not_happen", done.follow_up_id)
    with pytest.raises(CommandRefused) as refused:
        await corrections.withdraw_day(CALLER, stale)
    assert str(corrected.event_id) in refused.value.reason
    gone = WithdrawDay(youth, corrected.event_id, "did_not_happen", done.follow_up_id)
    assert await corrections.withdraw_day(CALLER, gone)
    relay.publish()
    [again] = await due(outreach, date(2026, 3, 14))
    assert again.follow_up_id == done.follow_up_id
    moved = CorrectDay(youth, objection.event_id, "wrong_date", date(2026, 3, 9))
    assert await corrections.correct_day(CALLER, moved)
    case = stored(app, youth)
    assert case.objections == [date(2026, 3, 9)]
    assert case.follow_ups[follow_up]["completed_on"] is None
    [entry] = [v for v, e in case.book.entries.items() if e["corrects"] is not None and
               e["event_type"] == "ObjectionRecorded"]  # fmt: skip
    assert entry_event_id(youth, entry) == relay.publish()[0].event_id
