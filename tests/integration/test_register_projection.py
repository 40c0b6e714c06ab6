"""The register projection's order and de-duplication, on the database (no Kafka, no processes).

The sink applies one topic partition's batch in one transaction with the partition's next offset:
an event id applied once is never applied again (a redelivery, a re-published event, a second copy
in one batch); a youth's events of a topic apply in their order, behind a parked one of theirs or
until the youth is identified; a measure's steps are applied as they come (the measures domain
decided them: the register decides nothing again, it only keeps dead a step of a measure it holds
no row of).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from services.register.adapters.database import create_tables, schema_statements
from services.register.adapters.projection.handlers import UNKNOWN_EPISODE
from services.register.adapters.projection.parking import EARLY, HELD
from services.register.adapters.projection.sink import RegisterProjection
from services.register.adapters.projection.statements import NO_SUCH_MEASURE
from services.register.commands.parked import discard, reapply
from shared.contracts.events import (
    AnyEvent,
    ContactAttempted,
    MeasureAccepted,
    MeasureDeclined,
    MeasureEnded,
    MeasureOffered,
    MeasureStarted,
    ObjectionRecorded,
    YouthIdentified,
    YouthLeftScope,
)
from shared.contracts.topics import IDENTIFY_EVENTS, MEASURES_EVENTS, OUTREACH_EVENTS
from shared.messaging.consumer import Delivery, Parsed

TENANT = "0180"
MEASURE = uuid.UUID(int=2)


def envelope(youth: uuid.UUID, minute: int = 0) -> dict[str, Any]:
    when = datetime(2026, 3, 2, 9, minute, tzinfo=UTC)
    return {"event_id": uuid.uuid4(), "tenant": TENANT, "youth_id": youth, "occurred_at": when,
            "recorded_at": when, "actor": "user:anna", "correlation_id": uuid.uuid4()}  # fmt: skip


def identified(youth: uuid.UUID, episode: uuid.UUID | None = None) -> YouthIdentified:
    return YouthIdentified(
        **envelope(youth), scope_episode_id=episode or uuid.uuid4(), entered_on=date(2026, 1, 5),
        scope_ends_on=date(2028, 1, 1), rule_version="kaa-2018-07-01", facts={"age": "17"},
    )  # fmt: skip


def offered(youth: uuid.UUID, on: date, minute: int = 0) -> MeasureOffered:
    return MeasureOffered(**envelope(youth, minute), measure_id=MEASURE,
                          measure_type="internship", offered_on=on)  # fmt: skip


def objection(youth: uuid.UUID, minute: int = 0) -> ObjectionRecorded:
    return ObjectionRecorded(**envelope(youth, minute), objected_on=date(2026, 3, 2))


class Partition:
    """One topic partition as the consumer hands it over: offsets counted, each event's bytes."""

    def __init__(self, register: asyncpg.Pool, topic: str) -> None:
        self.projection, self.topic, self.offset = RegisterProjection(register), topic, 0

    def parsed(self, events: list[AnyEvent]) -> list[Parsed[AnyEvent]]:
        items = []
        for event in events:
            delivery = Delivery(self.topic, 0, self.offset, None, event.to_bytes())
            items.append(Parsed(delivery, event))
            self.offset += 1
        return items

    async def apply(self, events: list[AnyEvent]) -> None:
        await self.projection.apply(self.topic, 0, self.parsed(events), self.offset)

    async def redeliver(self, events: list[AnyEvent], from_offset: int) -> None:
        """The same messages again, at their offsets (a consumer that did not commit)."""
        self.offset = from_offset
        await self.apply(events)


async def measure_row(register: asyncpg.Pool, youth: uuid.UUID) -> dict[str, Any]:
    row = await register.fetchrow("SELECT * FROM measure_status WHERE youth_id = $1", youth)
    assert row is not None
    return dict(row)


async def dead(register: asyncpg.Pool) -> dict[uuid.UUID, str]:
    rows = await register.fetch(
        "SELECT event_id, reason FROM dead_events WHERE reapplied_at IS NULL"
    )
    return {row["event_id"]: row["reason"] for row in rows}


async def test_a_redelivered_batch_changes_nothing_and_the_position_is_stored(
    register: asyncpg.Pool,
) -> None:
    youth = uuid.uuid4()
    await Partition(register, IDENTIFY_EVENTS).apply([identified(youth)])
    measures = Partition(register, MEASURES_EVENTS)
    batch: list[AnyEvent] = [offered(youth, date(2026, 3, 3)), objection(youth)]
    await measures.apply(batch)
    await measures.redeliver(batch, from_offset=0)
    assert (await measure_row(register, youth))["offers"] == 1, "one offer, counted once"
    assert await register.fetchval("SELECT count(*) FROM objections") == 1
    positions = await measures.projection.positions(MEASURES_EVENTS, [0, 1])
    assert positions == {0: 2}, "the next offset to read, stored with the rows"


async def test_a_republished_event_and_a_second_copy_in_a_batch_apply_once(
    register: asyncpg.Pool,
) -> None:
    youth = uuid.uuid4()
    await Partition(register, IDENTIFY_EVENTS).apply([identified(youth)])
    measures = Partition(register, MEASURES_EVENTS)
    offer = offered(youth, date(2026, 3, 3))
    await measures.apply([offer, offer])
    await measures.apply([offer])  # the same event id at a later offset
    assert (await measure_row(register, youth))["offers"] == 1
    archived = await register.fetch("SELECT event_id, payload FROM applied_events")
    assert [row["event_id"] for row in archived if row["event_id"] == offer.event_id] == [
        offer.event_id
    ]
    assert bytes(next(r for r in archived if r["event_id"] == offer.event_id)["payload"]) == (
        offer.to_bytes()
    ), "the archive keeps the message as published"


async def test_a_measures_steps_apply_in_their_order_with_each_date(
    register: asyncpg.Pool,
) -> None:
    youth = uuid.uuid4()
    await Partition(register, IDENTIFY_EVENTS).apply([identified(youth)])
    steps: list[AnyEvent] = [
        offered(youth, date(2026, 3, 3)),
        MeasureDeclined(**envelope(youth, 1), measure_id=MEASURE, declined_on=date(2026, 3, 5)),
        offered(youth, date(2026, 4, 4), minute=2),
        MeasureAccepted(**envelope(youth, 3), measure_id=MEASURE, accepted_on=date(2026, 4, 6)),
        MeasureStarted(**envelope(youth, 4), measure_id=MEASURE, started_on=date(2026, 4, 13)),
        MeasureEnded(**envelope(youth, 5), measure_id=MEASURE, ended_on=date(2026, 6, 12),
                     end_reason="started_work", occupation_after="work"),
    ]  # fmt: skip
    await Partition(register, MEASURES_EVENTS).apply(steps)  # one batch: one pipelined run
    row = await measure_row(register, youth)
    assert (row["state"], row["offers"], row["measure_type"]) == ("ended", 2, "internship")
    assert (row["offered_on"], row["declined_on"], row["accepted_on"]) == (
        date(2026, 4, 4), date(2026, 3, 5), date(2026, 4, 6),
    )  # fmt: skip
    assert (row["started_on"], row["ended_on"], row["end_reason"], row["occupation_after"]) == (
        date(2026, 4, 13), date(2026, 6, 12), "started_work", "work",
    )  # fmt: skip
    assert await register.fetchval("SELECT count(*) FROM measures") == 2, "both offers kept"
    assert await dead(register) == {}


async def test_a_step_of_a_measure_the_register_holds_no_row_of_is_kept_dead(
    register: asyncpg.Pool,
) -> None:
    """The measures domain decides which steps may be taken (tests/unit/measures); the register
    only checks that the measure's row exists: a step without one (e.g. a replay over a topic
    holding a step the register refused before) makes no row and is kept dead, as before."""
    youth = uuid.uuid4()
    await Partition(register, IDENTIFY_EVENTS).apply([identified(youth)])
    started = MeasureStarted(**envelope(youth), measure_id=MEASURE, started_on=date(2026, 4, 13))
    offer = offered(youth, date(2026, 4, 14), minute=1)
    await Partition(register, MEASURES_EVENTS).apply([started, offer])
    assert await dead(register) == {started.event_id: NO_SUCH_MEASURE}
    row = await measure_row(register, youth)
    assert (row["state"], row["offers"], row["started_on"]) == ("offered", 1, None)


async def test_a_step_held_behind_a_discarded_offer_stays_refused_at_reapply(
    register: asyncpg.Pool,
) -> None:
    youth = uuid.uuid4()
    await Partition(register, IDENTIFY_EVENTS).apply([identified(youth)])
    measures = Partition(register, MEASURES_EVENTS)
    offer = offered(youth, date(2026, 3, 3))
    accepted = MeasureAccepted(**envelope(youth, 1), measure_id=MEASURE,
                               accepted_on=date(2026, 3, 4))  # fmt: skip
    [item] = measures.parsed([offer])
    await measures.projection.park(MEASURES_EVENTS, 0, item, "a bug", measures.offset)
    await measures.apply([accepted])
    assert await discard(register, offer.event_id, "user:operator", "no fix will take it")
    result = await reapply(register, [TENANT])
    assert (result.applied, result.still_failing) == (0, [(accepted.event_id, NO_SUCH_MEASURE)])
    assert await register.fetchval("SELECT count(*) FROM measure_status") == 0
    assert (await dead(register))[accepted.event_id] == NO_SUCH_MEASURE


async def test_casework_before_its_youth_waits_and_then_applies_in_order(
    register: asyncpg.Pool,
) -> None:
    youth = uuid.uuid4()
    early: list[AnyEvent] = [
        offered(youth, date(2026, 3, 3)),
        MeasureAccepted(**envelope(youth, 1), measure_id=MEASURE, accepted_on=date(2026, 3, 4)),
    ]
    await Partition(register, MEASURES_EVENTS).apply(early)
    assert set((await dead(register)).values()) == {EARLY}
    await Partition(register, IDENTIFY_EVENTS).apply([identified(youth)])
    row = await measure_row(register, youth)
    assert (row["state"], row["accepted_on"]) == ("accepted", date(2026, 3, 4))
    assert await dead(register) == {}, "released: marked re-applied"


async def test_a_youths_later_events_wait_behind_a_parked_one_and_reapply_in_order(
    register: asyncpg.Pool,
) -> None:
    youth, other = uuid.uuid4(), uuid.uuid4()
    await Partition(register, IDENTIFY_EVENTS).apply([identified(youth), identified(other)])
    measures = Partition(register, MEASURES_EVENTS)
    first, behind = offered(youth, date(2026, 3, 3)), objection(youth, 1)
    [item] = measures.parsed([first])
    await measures.projection.park(MEASURES_EVENTS, 0, item, "a bug", measures.offset)
    await measures.apply([behind, objection(other)])
    assert await dead(register) == {first.event_id: "a bug", behind.event_id: HELD}
    assert await register.fetchval("SELECT count(*) FROM objections") == 1, "the other youth's"
    result = await reapply(register, [TENANT])
    assert (result.applied, result.still_failing, result.waiting) == (2, [], 0)
    assert (await measure_row(register, youth))["state"] == "offered"
    assert await register.fetchval("SELECT count(*) FROM objections") == 2


async def test_an_end_of_an_episode_the_register_never_saw_is_kept_dead_and_the_rest_goes_on(
    register: asyncpg.Pool,
) -> None:
    youth, episode = uuid.uuid4(), uuid.uuid4()
    identify = Partition(register, IDENTIFY_EVENTS)
    await identify.apply([identified(youth, episode)])
    unknown = YouthLeftScope(**envelope(youth), scope_episode_id=uuid.uuid4(),
                             left_on=date(2026, 3, 1), reason="moved_out",
                             rule_version="kaa-2018-07-01")  # fmt: skip
    attempt = ContactAttempted(
        **envelope(youth, 1), contact_attempt_id=uuid.uuid4(), channel="phone",
        outcome="reached", attempted_at=datetime(2026, 3, 2, 10, tzinfo=UTC),
    )  # fmt: skip
    await identify.apply([unknown])
    await Partition(register, OUTREACH_EVENTS).apply([attempt])
    assert await dead(register) == {unknown.event_id: UNKNOWN_EPISODE}
    status = await register.fetchval("SELECT status FROM youths WHERE youth_id = $1", youth)
    assert status == "in_scope"
    assert await register.fetchval("SELECT count(*) FROM contacts") == 1


async def test_making_the_tables_again_changes_nothing_and_drops_the_old_measure_function(
    register: asyncpg.Pool, db_schema: str
) -> None:
    youth = uuid.uuid4()
    await Partition(register, IDENTIFY_EVENTS).apply([identified(youth)])
    await register.execute(
        "CREATE FUNCTION measure_event(uuid, char(4), uuid, uuid, text, date, text, date, text,"
        " text, text, timestamptz, text) RETURNS void LANGUAGE sql AS 'SELECT'"
    )
    await create_tables(register, db_schema)
    assert await register.fetchval("SELECT count(*) FROM youths") == 1
    functions = await register.fetchval(
        "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = $1 AND p.proname = 'measure_event'",
        db_schema,
    )
    assert functions == 0
    assert len(schema_statements()) >= 7, "every schema file is read, in the order of its name"
