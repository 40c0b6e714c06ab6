"""A batch of measure steps folded in one go (`projection/steps.py`) leaves the register exactly as
`statements.MEASURE_STEP` run once per step in their order does: the status of each measure, the
steps kept with their numbers, and the steps of a measure with no row kept dead. Random histories
of several measures, in batches that split them anywhere, on the database.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.register.adapters.database import create_pool, create_tables
from services.register.adapters.projection import statements as sql
from services.register.adapters.projection.steps import apply_steps
from tests.conftest import RunningInfra

STATES = ("offered", "accepted", "declined", "started", "ended")
TABLES = {
    "measure_status": "tenant, youth_id, measure_id",
    "measure_steps": "event_id",
    "dead_events": "event_id",
}


@pytest.fixture
async def registers(infra: RunningInfra, db_schema: str) -> AsyncIterator[list[asyncpg.Pool]]:
    pools = []
    for schema in (db_schema, f"{db_schema}_folded"):
        pool = await create_pool(infra.database_url, schema, min_size=1, max_size=1)
        await create_tables(pool, schema)
        pools.append(pool)
    yield pools
    for pool in pools:
        await pool.close()
    conn = await asyncpg.connect(infra.database_url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{db_schema}_folded" CASCADE')
    finally:
        await conn.close()


def history(rng: random.Random, steps: int) -> list[tuple[Any, ...]]:
    """`MEASURE_STEP`'s arguments for random steps of a few measures of two youths (some before
    their offer, some offered again), in the order they apply."""
    measures = [("0180", uuid.UUID(int=youth), uuid.UUID(int=100 + n))
                for youth in (1, 2) for n in range(3)]  # fmt: skip
    day, out = date(2026, 1, 1), []
    for n in range(steps):
        tenant, youth, measure = rng.choice(measures)
        state = rng.choice(STATES)
        day += timedelta(days=rng.randint(0, 3))
        ended = state == "ended"
        out.append((
            tenant, youth, measure, rng.choice(("internship", "komvux")) if state == "offered"
            else None, state, day, "started_work" if ended else None, "work" if ended else None,
            uuid.uuid4(), f"Measure{state.capitalize()}",
            datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n),
        ))  # fmt: skip
    return out


async def content(pool: asyncpg.Pool) -> dict[str, list[dict[str, Any]]]:
    return {
        table: [dict(row) for row in await pool.fetch(
            f"SELECT * FROM {table} ORDER BY {key}"  # noqa: S608
        )]
        for table, key in TABLES.items()
    }  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_steps_folded_in_batches_equal_the_statement_run_once_per_step(
    registers: list[asyncpg.Pool], seed: int
) -> None:
    rng = random.Random(seed)
    steps = history(rng, 120)
    one_by_one, folded = registers
    start = 0
    while start < len(steps):
        batch = steps[start : start + rng.randint(1, 30)]
        async with one_by_one.acquire() as conn, conn.transaction():
            await conn.executemany(sql.MEASURE_STEP, batch)
        async with folded.acquire() as conn, conn.transaction():
            await apply_steps(conn, batch)
        start += len(batch)
    expected, found = await content(one_by_one), await content(folded)
    for rows in (*expected.values(), *found.values()):
        for row in rows:
            row.pop("dead_at", None)  # when it was written
            row.pop("parked_seq", None)
    assert found == expected
    assert expected["measure_status"]
    assert expected["dead_events"]  # some steps came before their measure's offer
    assert max(row["offers"] for row in expected["measure_status"]) > 1
