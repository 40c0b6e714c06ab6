"""The scratch register of an audit replay: its tables made in one message to the server (a replay's
event loop, busy parsing the archive, is not waited for between statements), every one unlogged,
and nothing left behind when a statement of the script fails."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from services.register.adapters import database
from tests.conftest import RunningInfra

TABLES = "SELECT count(*) FROM pg_tables WHERE schemaname = $1"
UNLOGGED = (
    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relpersistence = 'u'"
)


async def test_the_scratch_tables_are_made_unlogged_in_one_message(
    infra: RunningInfra, monkeypatch: Any
) -> None:
    schema = f"replay_{uuid.uuid4().hex[:16]}"
    pool = await database.create_pool(infra.database_url, schema, min_size=1, max_size=1)
    sent: list[str] = []
    execute = asyncpg.Connection.execute

    async def counted(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> str:
        sent.append(query)
        return await execute(self, query, *args, **kwargs)

    try:
        monkeypatch.setattr(asyncpg.Connection, "execute", counted)
        await database.create_tables(pool, schema, unlogged=True)
        monkeypatch.undo()
        ddl = [query for query in sent if "RESET ALL" not in query]  # not the pool's reset
        assert len(ddl) == 1, ddl
        made = await pool.fetchval(TABLES, schema)
        assert made == len(database.CONTENT_TABLES) + 4  # and positions, archive, versions, dead
        assert await pool.fetchval(UNLOGGED, schema) == made
        await database.create_tables(pool, schema, unlogged=True)  # again: changes nothing
        assert await pool.fetchval(TABLES, schema) == made
    finally:
        monkeypatch.undo()
        await pool.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await pool.close()


async def test_a_failing_statement_leaves_no_schema_and_the_connection_usable(
    infra: RunningInfra, monkeypatch: Any
) -> None:
    schema = f"replay_{uuid.uuid4().hex[:16]}"
    pool = await database.create_pool(infra.database_url, schema, min_size=1, max_size=1)
    made = database.unlogged_statements()
    try:
        monkeypatch.setattr(database, "unlogged_statements", lambda: (*made, "SELECT 1/0"))
        with pytest.raises(asyncpg.DivisionByZeroError):
            await database.create_tables(pool, schema, unlogged=True)
        async with pool.acquire() as conn:
            assert not conn.is_in_transaction()
            assert (
                await conn.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema)
                == 0
            )
    finally:
        await pool.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await pool.close()
