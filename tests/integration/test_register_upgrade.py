"""A register built before issue 16 (no history of assignments, measure steps, contact details;
no projection version), on real PostgreSQL and Kafka: at start-up it is rebuilt from the topics and
put in place, the old one kept beside it; then a correction of one of its old entries applies.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaProducer

from services.register.adapters.database import create_pool, create_tables
from services.register.adapters.projection.parking import OPEN_PARKED
from services.register.adapters.upgrade import PROJECTION_VERSION, projection_state, stamp, upgrade
from shared.contracts.events import AnyEvent, CaseAssigned
from shared.contracts.topics import EVENT_TOPICS, IDENTIFY_EVENTS, OUTREACH_EVENTS
from tests.conftest import RunningInfra, Topics
from tests.integration.test_register_corrections import TENANT, Youth, fixing
from tests.integration.test_register_projection import Partition


async def publish(infra: RunningInfra, namespace: str, events: list[AnyEvent]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap_servers)
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                f"{namespace}{event.topic}", event.to_bytes(), key=str(event.youth_id).encode()
            )
    finally:
        await producer.stop()


async def state(infra: RunningInfra, schema: str) -> str:
    conn = await asyncpg.connect(infra.database_url)
    try:
        return await projection_state(conn, schema)
    finally:
        await conn.close()


async def started(infra: RunningInfra, namespace: str, schema: str) -> tuple[str, asyncpg.Pool]:
    """What the register's start-up does (bootstrap.py): upgrade, make the tables, stamp."""
    found = await upgrade(infra.database_url, infra.bootstrap_servers, namespace, [TENANT], schema)
    pool = await create_pool(infra.database_url, schema, min_size=1, max_size=2)
    await create_tables(pool, schema)
    async with pool.acquire() as conn:
        await stamp(conn, schema)
    return found, pool


async def test_a_register_built_before_the_history_tables_is_rebuilt_at_start_up(
    infra: RunningInfra, db_schema: str, topics: Topics
) -> None:
    for topic in EVENT_TOPICS:
        await topics.create(topic, partitions=1)
    namespace = f"{topics.prefix}."
    youth, episode = Youth(), uuid.uuid4()
    identified = youth.identified(episode)
    assigned = CaseAssigned(**youth.envelope(), assignee_kind="caseworker", assignee="user:anna")
    await publish(infra, namespace, [identified, assigned])
    # The register as the version before issue 16 left it: the events applied, no history.
    old = await create_pool(infra.database_url, db_schema, min_size=1, max_size=1)
    await create_tables(old, db_schema)
    await Partition(old, IDENTIFY_EVENTS).apply([identified])
    await Partition(old, OUTREACH_EVENTS).apply([assigned])
    await old.execute("DELETE FROM assignment_entries; DROP TABLE projection_version")
    await old.close()
    assert await state(infra, db_schema) == "older"
    kept = f"{db_schema}_before_v{PROJECTION_VERSION}"
    try:
        found, pool = await started(infra, namespace, db_schema)
        try:
            assert found == "older"
            assert await state(infra, db_schema) == "current"
            held = await pool.fetch("SELECT event_id, assignee FROM assignment_entries")
            assert [(r["event_id"], r["assignee"]) for r in held] == [
                (assigned.event_id, "user:anna")
            ]
            fixed = CaseAssigned(**youth.envelope(), assignee_kind="caseworker",
                                 assignee="user:bertil", **fixing(assigned, "wrong_value"))  # fmt: skip
            outreach = Partition(pool, OUTREACH_EVENTS)
            outreach.offset = 10
            await outreach.apply([fixed])
            assert await pool.fetchval("SELECT assignee FROM assignments") == "user:bertil"
            # The rebuild reads the topics concurrently: the assignment read before the youth's
            # identification waited and was applied when the youth was (its row kept, marked
            # re-applied, as live); nothing is left waiting or parked, whichever came first.
            left = f"SELECT count(*) FROM dead_events WHERE {OPEN_PARKED}"  # noqa: S608
            assert await pool.fetchval(left) == 0
        finally:
            await pool.close()
        assert await state(infra, kept) == "older", "the old register kept beside it"
        again, pool = await started(infra, namespace, db_schema)
        await pool.close()
        assert again == "current", "rebuilt once"
    finally:
        conn = await asyncpg.connect(infra.database_url)
        await conn.execute(f'DROP SCHEMA IF EXISTS "{kept}" CASCADE')
        await conn.close()


async def test_a_fresh_register_is_stamped_with_the_current_version(
    infra: RunningInfra, db_schema: str
) -> None:
    assert await state(infra, db_schema) == "fresh"
    found, pool = await started(infra, "unused.", db_schema)
    try:
        assert found == "fresh"
        assert await pool.fetchval("SELECT version FROM projection_version") == PROJECTION_VERSION
        assert await state(infra, db_schema) == "current"
        assert datetime.now(UTC) >= await pool.fetchval("SELECT built_at FROM projection_version")
    finally:
        await pool.close()
