"""Casework read before its youth's identification, on the database (no Kafka, no processes): the
live consumer and a rebuild read the topics concurrently, so an outreach batch can be written while
identify's batch is releasing the youth's waiting casework. Nothing may be left waiting for a youth
the register knows (it would become a dead event after KAA_EARLY_EVENT_WAIT, and a rebuild would
differ from the live register).
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from services.register.adapters.projection.applied import apply_items
from services.register.adapters.projection.parking import (
    EARLY,
    OPEN_PARKED,
    release_known,
    release_waiting,
)
from shared.contracts.events import CaseAssigned
from shared.contracts.topics import IDENTIFY_EVENTS, OUTREACH_EVENTS
from tests.integration.test_register_corrections import Youth
from tests.integration.test_register_projection import Partition


def assigned(youth: Youth, to: str) -> CaseAssigned:
    return CaseAssigned(**youth.envelope(), assignee_kind="caseworker", assignee=to)


async def still_parked(register: asyncpg.Pool) -> list[str]:
    rows = await register.fetch(f"SELECT reason FROM dead_events WHERE {OPEN_PARKED}")  # noqa: S608
    return [row["reason"] for row in rows]


async def test_casework_written_while_its_youth_is_released_does_not_wait_for_ever(
    register: asyncpg.Pool,
) -> None:
    youth = Youth()
    first, second = assigned(youth, "user:anna"), assigned(youth, "user:bertil")
    outreach, identify = Partition(register, OUTREACH_EVENTS), Partition(register, IDENTIFY_EVENTS)
    await outreach.apply([first])
    assert await still_parked(register) == [EARLY]
    # Identify's batch: the youth identified and the first assignment released, not committed yet.
    async with register.acquire() as conn:
        release = conn.transaction()
        await release.start()
        items = identify.parsed([youth.identified(uuid.uuid4())])
        await apply_items(conn, items)
        await release_waiting(conn, items)
        # Meanwhile the outreach topic's next batch (another writer) comes with the second.
        writing = asyncio.create_task(outreach.apply([second]))
        await asyncio.sleep(0.5)
        waited = not writing.done()
        await release.commit()
    await writing
    assert waited, "the outreach batch waits for the transaction releasing its youth"
    assert await still_parked(register) == [], "nothing waits for a youth the register knows"
    assert await register.fetchval("SELECT assignee FROM assignments") == "user:bertil"


async def test_a_rebuild_ends_by_releasing_casework_still_waiting_for_a_known_youth(
    register: asyncpg.Pool,
) -> None:
    youth = Youth()
    outreach, identify = Partition(register, OUTREACH_EVENTS), Partition(register, IDENTIFY_EVENTS)
    await outreach.apply([assigned(youth, "user:anna"), assigned(youth, "user:bertil")])
    async with register.acquire() as conn, conn.transaction():
        # The youth identified without the release (what a lost race left behind).
        await apply_items(conn, identify.parsed([youth.identified(uuid.uuid4())]))
    assert await still_parked(register) == [EARLY, EARLY]
    async with register.acquire() as conn, conn.transaction():
        await release_known(conn)
    assert await still_parked(register) == []
    assert await register.fetchval("SELECT assignee FROM assignments") == "user:bertil"
    released = await register.fetchval(
        "SELECT count(*) FROM dead_events WHERE reapplied_at IS NOT NULL"
    )
    assert released == 2, "each kept, marked re-applied, as the live release does"
