"""A replay's scratch register: answered first and dropped after when a service asks
(`answer_first`), and swept when a replay left it behind (its process killed) but never while a
replay holds it (`adapters/scratch.py`). On the real PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from services.register.adapters import scratch
from services.register.adapters.database import Connection
from services.register.commands import replay as replay_module
from tests.conftest import RunningInfra
from tests.integration.test_register_replay_answer import INSTANTS, TENANT, applied, histories

SCHEMAS = "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'replay\\_%'"


async def schemas(conn: Connection) -> set[str]:
    return {str(row["nspname"]) for row in await conn.fetch(SCHEMAS)}


async def test_a_service_is_answered_before_the_scratch_register_is_dropped(
    infra: RunningInfra, register: asyncpg.Pool, db_schema: str
) -> None:
    await applied(register, histories())
    as_of, now = datetime.fromisoformat(INSTANTS[1]), datetime(2026, 12, 1, tzinfo=UTC)
    async with register.acquire() as conn:
        before = await schemas(conn)
        answered = await replay_module.replay(infra.database_url, TENANT, as_of, now,
                                              archive_schema=db_schema, answer_first=True)  # fmt: skip
        assert answered["youths"]
        [left] = await schemas(conn) - before  # answered; the drop not begun yet
        assert await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", left
        ), "its pool's connections are named after it"
        await scratch.all_dropped()
        assert await schemas(conn) == before
        earlier = datetime.fromisoformat(INSTANTS[0])  # other events: projected again
        again = await replay_module.replay(infra.database_url, TENANT, earlier, now,
                                           archive_schema=db_schema)  # fmt: skip
        assert again["events_recorded_by_then"] < answered["events_recorded_by_then"]
        assert await schemas(conn) == before, "dropped before the answer, by default"


async def test_a_scratch_register_no_replay_holds_is_swept_and_no_other(
    infra: RunningInfra,
) -> None:
    orphan, held = scratch.scratch_name(), scratch.scratch_name()
    topics = f"{scratch.TOPICS_PREFIX}{uuid.uuid4().hex[:16]}"
    other = f"replay_{uuid.uuid4().hex[:15]}x"  # not a name a replay makes
    conn = await asyncpg.connect(infra.database_url)
    pool = await scratch.scratch_pool(infra.database_url, held)
    try:
        for name in (orphan, held, topics, other):
            await conn.execute(f'CREATE SCHEMA "{name}"')
            await conn.execute(f'CREATE TABLE "{name}".youths (n int)')
        assert await scratch.sweep(conn) >= 1  # earlier runs' orphans too, if any were left
        assert orphan not in await schemas(conn)
        assert {held, topics, other} <= await schemas(conn), "a replay still holds it"
        await scratch.dropped(pool, held)
        assert held not in await schemas(conn)
    finally:
        for name in (orphan, held, topics, other):
            await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        await pool.close()
        await conn.close()


@pytest.mark.parametrize(
    "name", ["other", "replay_topics_0123456789abcdef", 'replay_0123456789abcde"']
)
async def test_only_a_scratch_register_gets_a_scratch_pool(infra: RunningInfra, name: str) -> None:
    with pytest.raises(ValueError, match=r"^schema: not a scratch register's name$"):
        await scratch.scratch_pool(infra.database_url, name)
