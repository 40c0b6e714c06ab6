"""An audit replay's scratch register: the live register's tables, unlogged (`create_tables`)."""

from __future__ import annotations

import asyncpg

from services.register.adapters.database import create_pool, create_tables
from tests.conftest import RunningInfra

_TABLES = """
SELECT c.relname, c.relpersistence::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind = 'r'
"""


async def test_a_scratch_register_has_every_table_of_the_live_one_unlogged(
    infra: RunningInfra, register: asyncpg.Pool, db_schema: str
) -> None:
    live = {
        row["relname"]: row["relpersistence"] for row in await register.fetch(_TABLES, db_schema)
    }
    assert "applied_events" in live
    assert set(live.values()) == {"p"}, "the live register's tables are logged"
    scratch = f"{db_schema}_scratch"
    pool = await create_pool(infra.database_url, scratch, min_size=1, max_size=1)
    try:
        await create_tables(pool, scratch, unlogged=True)
        made = {row["relname"]: row["relpersistence"] for row in await pool.fetch(_TABLES, scratch)}
        assert made == dict.fromkeys(live, "u"), "the same tables, each unlogged"
    finally:
        await pool.execute(f'DROP SCHEMA IF EXISTS "{scratch}" CASCADE')
        await pool.close()
