"""A replay's scratch register: answered first and dropped after when a service asks
(`answer_first`), and swept when a replay left it behind (its process killed) but never while a
replay holds it (`adapters/scratch.py`). On the real PostgreSQL."""

from __future__ import annotations

import asyncio
import time
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
    infra: RunningInfra, register: asyncpg.Pool, db_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await applied(register, histories())
    as_of, now = datetime.fromisoformat(INSTANTS[1]), datetime(2026, 12, 1, tzinfo=UTC)
    answered_first, drop = asyncio.Event(), scratch.dropped

    async def held_back(pool: asyncpg.Pool, schema: str) -> None:
        await answered_first.wait()  # the drop goes on once the answer is looked at
        await drop(pool, schema)

    monkeypatch.setattr(scratch, "dropped", held_back)
    async with register.acquire() as conn:
        await scratch.sweep(conn, older_than=0)  # what earlier runs left, if anything
        before = await schemas(conn)
        answered = await replay_module.replay(infra.database_url, TENANT, as_of, now,
                                              archive_schema=db_schema, answer_first=True)  # fmt: skip
        assert answered["youths"]
        [left] = await schemas(conn) - before  # answered; not dropped yet
        assert await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", left
        ), "its pool's connections are named after it"
        await scratch.sweep(conn, older_than=0)
        assert left in await schemas(conn), "a replay holds it: not swept, however old"
        answered_first.set()
        await scratch.all_dropped()
        assert await schemas(conn) == before
        monkeypatch.undo()
        earlier = datetime.fromisoformat(INSTANTS[0])  # other events: projected again
        again = await replay_module.replay(infra.database_url, TENANT, earlier, now,
                                           archive_schema=db_schema)  # fmt: skip
        assert again["events_recorded_by_then"] < answered["events_recorded_by_then"]
        assert await schemas(conn) == before, "dropped before the answer, by default"


async def test_a_scratch_register_no_replay_holds_is_swept_once_old_and_no_other(
    infra: RunningInfra,
) -> None:
    old, young, held, unnoted = (scratch.scratch_name() for _ in range(4))
    topics = scratch.topics_name()
    other = f"replay_{uuid.uuid4().hex[:15]}x"  # not a name a replay makes
    conn = await asyncpg.connect(infra.database_url)
    pool = await scratch.scratch_pool(infra.database_url, held)
    made = int(time.time())
    try:
        for name, at in ((old, made - 7200), (young, made - 60), (held, made - 7200),
                         (unnoted, None), (topics, made - 7200), (other, made - 7200)):  # fmt: skip
            await conn.execute(f'CREATE SCHEMA "{name}"')
            await conn.execute(f'CREATE TABLE "{name}".youths (n int)')
            if at is not None:
                await conn.execute(
                    f"COMMENT ON SCHEMA \"{name}\" IS 'kaa scratch register, made {at}'"
                )
        assert await scratch.sweep(conn) >= 1  # earlier runs' orphans too, if any were left
        assert old not in await schemas(conn)
        assert {young, held, unnoted, topics, other} <= await schemas(conn)
        await scratch.dropped(pool, held)
        assert held not in await schemas(conn)
    finally:
        for name in (old, young, held, unnoted, topics, other):
            await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        await pool.close()
        await conn.close()


async def test_a_replays_scratch_register_carries_its_time_of_making(
    infra: RunningInfra,
) -> None:
    name = scratch.scratch_name()
    pool = await scratch.scratch_pool(infra.database_url, name)
    try:
        await scratch.scratch_tables(pool, name)
        note = await pool.fetchval(
            "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = $1", name
        )
        assert abs(int(note.removeprefix("kaa scratch register, made ")) - time.time()) < 60
    finally:
        await scratch.dropped(pool, name)


@pytest.mark.parametrize(
    "name", ["other", "replay_topics_0123456789abcdef", 'replay_0123456789abcde"']
)
async def test_only_a_scratch_register_gets_a_scratch_pool(infra: RunningInfra, name: str) -> None:
    with pytest.raises(ValueError, match=r"^schema: not a scratch register's name$"):
        await scratch.scratch_pool(infra.database_url, name)
