"""A correction or withdrawal naming an entry the register does not hold, on the database (no
Kafka): the consumer's own path (`apply_isolated`, as the live consumer and a rebuild run it)
parks it with its bytes and a reason naming the field, never a value, and the rest goes on.

An entry and what corrects or withdraws it are on one topic with one key (the youth), so they
arrive in their order: a correction or withdrawal whose entry the register does not hold cannot
be early (an entry that is itself parked holds them behind it), so it is parked, not held.
"""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg

from services.register.commands.parked import discard, reapply
from shared.contracts.events import AnyEvent, CaseAssigned, MeasureStarted
from shared.contracts.topics import MEASURES_EVENTS, OUTREACH_EVENTS
from shared.messaging.consumer import Parsed
from shared.messaging.parking import apply_isolated
from tests.integration.test_register_corrections import (
    TENANT,
    Youth,
    fixing,
    identified_youth,
    measure_events,
)
from tests.integration.test_register_projection import Partition

NO_SUCH = "no such entry of this youth in the register"


async def consume(partition: Partition, events: list[AnyEvent]) -> None:
    """A batch as the consumer applies it: whole, or (when it fails) one by one, parking the
    events that fail on their own with their bytes."""
    items = partition.parsed(events)
    projection, topic = partition.projection, partition.topic
    try:
        await projection.apply(topic, 0, items, partition.offset)
    except Exception:

        async def park(item: Parsed[AnyEvent], reason: str) -> None:
            await projection.park(topic, 0, item, reason, item.delivery.offset + 1)

        await apply_isolated(projection, topic, 0, items, partition.offset, park)


async def parked(register: asyncpg.Pool) -> dict[uuid.UUID, tuple[str, bytes]]:
    rows = await register.fetch(
        "SELECT event_id, reason, payload FROM dead_events"
        " WHERE reapplied_at IS NULL AND discarded_at IS NULL"
    )
    return {row["event_id"]: (row["reason"], bytes(row["payload"] or b"")) for row in rows}


async def test_a_withdrawal_of_an_entry_the_register_does_not_hold_is_parked_with_its_bytes(
    register: asyncpg.Pool,
) -> None:
    youth, _ = await identified_youth(register)
    outreach = Partition(register, OUTREACH_EVENTS)
    other, _ = await identified_youth(register)
    never = youth.attempt(uuid.uuid4(), 3)  # never published
    stray, kept = youth.withdrawn(never), other.attempt(uuid.uuid4(), 4)
    await consume(outreach, [stray, kept])
    [(reason, payload)] = (await parked(register)).values()
    assert (
        reason == f"OutreachEntryWithdrawn could not be applied: NoSuchEntry: withdraws: {NO_SUCH}"
    )
    assert payload == stray.to_bytes()
    assert await register.fetchval("SELECT count(*) FROM entry_corrections") == 0
    assert await register.fetchval("SELECT count(*) FROM contacts") == 1, "the rest applied"
    stored = await register.fetchval(
        "SELECT next_offset FROM consumer_positions WHERE topic = $1", OUTREACH_EVENTS
    )
    assert stored == outreach.offset, "the consumer moved past it"


async def test_a_measures_withdrawal_or_a_second_withdrawal_of_one_entry_is_parked(
    register: asyncpg.Pool,
) -> None:
    youth, _ = await identified_youth(register)
    measures, measure = Partition(register, MEASURES_EVENTS), uuid.uuid4()
    offer, accepted, started, ended = measure_events(youth, measure)
    first, again = youth.withdrawn(ended), youth.withdrawn(ended)
    other, _ = await identified_youth(register)
    stray = other.withdrawn(MeasureStarted(**other.envelope(), measure_id=uuid.uuid4(),
                                           started_on=date(2026, 3, 9)))  # fmt: skip
    await consume(measures, [offer, accepted, started, ended, first, again, stray])
    held = await parked(register)
    assert set(held) == {again.event_id, stray.event_id}
    assert {reason for reason, _ in held.values()} == {
        f"MeasuresEntryWithdrawn could not be applied: NoSuchEntry: withdraws: {NO_SUCH}"
    }, "each on its own: no other event of the youth came after it"
    assert await register.fetchval("SELECT state FROM measure_status") == "started"


async def test_a_withdrawal_in_the_batch_of_its_entry_applies(register: asyncpg.Pool) -> None:
    youth, _ = await identified_youth(register)
    attempt = youth.attempt(uuid.uuid4(), 3)
    await consume(Partition(register, OUTREACH_EVENTS), [attempt, youth.withdrawn(attempt)])
    assert await parked(register) == {}
    assert await register.fetchval("SELECT count(*) FROM contacts") == 0


async def test_corrections_of_entries_the_register_does_not_hold_are_parked_alike(
    register: asyncpg.Pool,
) -> None:
    (youth, _), (other, _) = await identified_youth(register), await identified_youth(register)
    outreach, measures = Partition(register, OUTREACH_EVENTS), Partition(register, MEASURES_EVENTS)
    never = youth.attempt(uuid.uuid4(), 3)
    fixed = youth.attempt(never.contact_attempt_id, 4, corrects=never)
    absent = CaseAssigned(**other.envelope(), assignee_kind="team", assignee="north")
    reassigned = CaseAssigned(**other.envelope(), assignee_kind="team", assignee="south",
                              **fixing(absent, "wrong_value"))  # fmt: skip
    await consume(outreach, [fixed, reassigned])
    measure = uuid.uuid4()
    offer, accepted, started, _ = measure_events(youth, measure)
    late = MeasureStarted(**youth.envelope(), measure_id=measure,
                          started_on=date(2026, 3, 16), **fixing(started, "wrong_date"))  # fmt: skip
    await consume(measures, [offer, accepted, late])
    held = await parked(register)
    assert {event: reason.rsplit(": ", 2)[-2:] for event, (reason, _) in held.items()} == {
        fixed.event_id: ["corrects", NO_SUCH],
        reassigned.event_id: ["corrects", NO_SUCH],
        late.event_id: ["corrects", NO_SUCH],
    }
    assert held[late.event_id][1] == late.to_bytes()
    assert await register.fetchval("SELECT count(*) FROM contacts") == 0
    assert await register.fetchval("SELECT count(*) FROM assignments") == 0
    assert await register.fetchval("SELECT state FROM measure_status") == "accepted"


async def test_a_parked_withdrawal_stays_refused_at_reapply_and_a_discard_frees_the_rest(
    register: asyncpg.Pool,
) -> None:
    youth: Youth
    youth, _ = await identified_youth(register)
    outreach = Partition(register, OUTREACH_EVENTS)
    stray = youth.withdrawn(youth.attempt(uuid.uuid4(), 3))
    await consume(outreach, [stray])
    behind = youth.attempt(uuid.uuid4(), 5)
    await consume(outreach, [behind])  # held behind it, in order
    result = await reapply(register, [TENANT])
    assert [event for event, _ in result.still_failing] == [stray.event_id]
    assert NO_SUCH in result.still_failing[0][1]
    assert await discard(register, stray.event_id, "user:operator", "names nothing")
    result = await reapply(register, [TENANT])
    assert (result.applied, result.still_failing) == (1, [])
    assert await register.fetchval("SELECT count(*) FROM contacts") == 1
