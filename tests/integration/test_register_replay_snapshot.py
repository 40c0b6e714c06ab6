"""Every part of an audit replay reads the register's archive in one moment (an exported snapshot):
a batch whose events were numbered before the last one the replay counted, but committed after the
count (the register writes several partitions' batches at once), is in no part of it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.register.adapters import archive
from services.register.adapters.projection.applied import apply_items
from services.register.commands import replay as replay_module
from services.register.commands.replay import replay
from shared.contracts.topics import IDENTIFY_EVENTS, OUTREACH_EVENTS
from tests.conftest import RunningInfra
from tests.integration.test_register_corrections import START, TENANT, Youth, identified_youth
from tests.integration.test_register_projection import Partition


async def test_a_batch_numbered_before_the_count_and_committed_after_it_is_in_no_part_of_it(
    infra: RunningInfra, register: asyncpg.Pool, db_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    youth, _ = await identified_youth(register)
    outreach = Partition(register, OUTREACH_EVENTS)
    later = youth.attempt(uuid.uuid4(), 4).model_copy(
        update={"recorded_at": START + timedelta(days=1)}  # after the instant asked
    )
    late = Youth()  # identified in a batch whose positions come first and that commits last
    writing = await register.acquire()
    batch = writing.transaction()
    await batch.start()
    try:
        parsed = Partition(register, IDENTIFY_EVENTS).parsed([late.identified(uuid.uuid4())])
        await apply_items(writing, parsed)
        await outreach.apply([youth.attempt(uuid.uuid4(), 3), later])  # numbered after, committed
        counted = archive.state_on

        async def committed_after_the_count(*args: Any) -> dict[str, Any]:
            state = await counted(*args)
            await batch.commit()
            return state

        monkeypatch.setattr(replay_module, "state_on", committed_after_the_count)
        as_of, now = START + timedelta(hours=1), datetime.now(UTC)
        answered = await replay(infra.database_url, TENANT, as_of, now, archive_schema=db_schema)
    finally:
        if not writing.is_closed() and writing.is_in_transaction():
            await batch.rollback()
        await register.release(writing)
    monkeypatch.undo()
    assert answered["events_recorded_by_then"] == 2, "the identification and the first attempt"
    assert [row["youth_id"] for row in answered["youths"]] == [youth.id], (
        "the batch committed after the count is in no part of the replay"
    )
    again = await replay(infra.database_url, TENANT, as_of, now, archive_schema=db_schema)
    assert again["events_recorded_by_then"] == 3, "in the next moment it is"
    assert {row["youth_id"] for row in again["youths"]} == {youth.id, late.id}
