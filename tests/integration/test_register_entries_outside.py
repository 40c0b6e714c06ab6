"""Withdrawals and corrections of entries that are not register content, on the database (no
Kafka): measures publishes them for a follow-up's completion (`POST
/v1/youths/{id}/follow-ups/{follow_up_id}/withdrawals`, and its corrections), which the register
does not keep (förordning 2006:39 § 4). They are skipped, never parked, so the youth's later
measures events apply; a register projected afresh from the archive is the same.

Every other event type measures and outreach can withdraw is register content
(tests/unit/register/test_entries_outside_register.py pins the list); a withdrawal of one the
register does not hold stays parked (test_register_unknown_entries.py).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import asyncpg

from services.register.adapters.archive import drop_schema, project_archive
from services.register.commands.rebuild import verify
from shared.contracts.events import FollowUpCompleted
from shared.contracts.topics import MEASURES_EVENTS
from tests.conftest import RunningInfra
from tests.integration.test_register_corrections import (
    TENANT,
    Youth,
    fixing,
    identified_youth,
    measure_events,
)
from tests.integration.test_register_projection import Partition
from tests.integration.test_register_unknown_entries import consume, parked


def completed(youth: Youth, follow_up: uuid.UUID, day: int,
              corrects: FollowUpCompleted | None = None) -> FollowUpCompleted:  # fmt: skip
    return FollowUpCompleted(**youth.envelope(), follow_up_id=follow_up,
                             completed_on=date(2026, 3, day),
                             **fixing(corrects, "wrong_date"))  # fmt: skip


async def test_a_withdrawn_follow_up_completion_holds_none_of_the_youths_later_measures(
    register: asyncpg.Pool, infra: RunningInfra, db_schema: str
) -> None:
    youth, _ = await identified_youth(register)
    measures, measure, follow_up = Partition(register, MEASURES_EVENTS), uuid.uuid4(), uuid.uuid4()
    offer, accepted, started, ended = measure_events(youth, measure)
    done = completed(youth, follow_up, 4)
    await consume(measures, [offer, accepted, done])
    await consume(measures, [youth.withdrawn(done)])  # alone in its batch, as the route sends it
    await consume(measures, [started])
    assert await parked(register) == {}
    assert await register.fetchval("SELECT state FROM measure_status") == "started"
    # A completion corrected, and the correction withdrawn, in the batch of a later step.
    again = completed(youth, follow_up, 5)
    fixed = completed(youth, follow_up, 6, corrects=again)
    await consume(measures, [again, fixed, youth.withdrawn(fixed), ended])
    assert await parked(register) == {}
    assert await register.fetchval("SELECT state FROM measure_status") == "ended"
    assert await register.fetchval("SELECT count(*) FROM entry_corrections") == 0
    afresh = f"{db_schema}_afresh"
    try:
        await project_archive(infra.database_url, TENANT, datetime.now(UTC), afresh,
                              archive_schema=db_schema)  # fmt: skip
        assert await verify(infra.database_url, db_schema, afresh) == {}
    finally:
        await drop_schema(infra.database_url, afresh)
