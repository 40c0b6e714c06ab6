"""The domain's own figures in `GET /metrics`, on the real PostgreSQL (and Kafka for retention):
identify's scope-schedule backlog and the register's retention runs, as the loops that own them
count them. Labels hold kommunkoder only."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY

from services.identify.entrypoints.schedule import scope_schedule
from services.register.entrypoints.metrics import retention_ran
from services.register.entrypoints.schedules import retention_loop
from shared.contracts.topics import RETENTION_EVENTS
from shared.crypto import INSERT_KEYS, KEYRING_DDL, json_rows
from shared.settings import ServiceSettings
from tests.conftest import RunningInfra, Topics
from tests.integration.test_identify_store import application, baseline


def sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


async def until(check: Callable[[], bool], loop: Callable[[], Awaitable[None]]) -> None:
    """Run `loop` until `check()` holds (10 s at most), then stop it."""
    task = asyncio.ensure_future(loop())
    try:
        for _ in range(200):
            if check():
                return
            assert not task.done(), "the loop ended"
            await asyncio.sleep(0.05)
        raise AssertionError("the figure never came")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_the_scope_schedule_counts_what_is_left_due(
    infra: RunningInfra, db_schema: str
) -> None:
    app = application(infra, db_schema)
    # Two persons whose compulsory school ends on 30 June 2026 and 30 June 2027: due the day after.
    app.take_in_feed_batch(
        [baseline(), baseline("201105011231")], "feed", 0, 2, today=date(2026, 6, 20)
    )
    schedule = app.store.schedule
    assert schedule.backlog(date(2026, 6, 30)) == 0
    assert schedule.backlog(date(2026, 7, 1)) == 1
    assert schedule.backlog(date(2027, 7, 1)) == 2

    settings = ServiceSettings.model_construct(schedule_interval=0.05)
    from services.identify.adapters.metrics import SCOPE_SCHEDULE_BACKLOG

    SCOPE_SCHEDULE_BACKLOG.set(-1)  # not counted yet
    await until(
        lambda: sample("kaa_scope_schedule_backlog") == 0,
        scope_schedule(settings, app, lambda: date(2026, 7, 1)),
    )
    assert schedule.backlog(date(2026, 7, 1)) == 0, "evaluated: next due at the 20th birthday"
    assert schedule.backlog(date(2027, 7, 1)) == 1


@pytest.fixture
async def register_database(infra: RunningInfra) -> AsyncIterator[str]:
    """A database with the keyring and the register's youths table, as far as retention reads it:
    two youths of 0180 and one of 1480 out of scope long enough, one of 0180 still in scope."""
    name = f"retention_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(infra.database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(infra.database_url)._replace(path=f"/{name}"))
    try:
        conn = await asyncpg.connect(url)
        await conn.execute(KEYRING_DDL)
        await conn.execute(
            "CREATE TABLE youths (tenant char(4), youth_id uuid, status text, purged_at "
            "timestamptz, left_on date)"
        )
        for tenant, status in [("0180", "out_of_scope"), ("0180", "out_of_scope"),
                               ("1480", "out_of_scope"), ("0180", "in_scope")]:  # fmt: skip
            youth = uuid.uuid4()
            await conn.execute(
                "INSERT INTO youths VALUES ($1, $2, $3, NULL, '2024-01-10')", tenant, youth, status
            )
            keys = [{"tenant": tenant, "youth_id": youth, "wrapped": b"w", "subject": None}]
            await conn.execute(INSERT_KEYS.replace("%s", "$1"), json_rows(keys))
        await conn.close()
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_a_retention_run_is_counted_per_municipality(
    register_database: str, infra: RunningInfra, topics: Topics
) -> None:
    pool = await asyncpg.create_pool(register_database, min_size=1, max_size=2)
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap_servers)
    await producer.start()
    try:
        await topics.create(RETENTION_EVENTS)  # the namespace below names it
        tenants = ["0180", "1480", "2480"]
        settings = ServiceSettings.model_construct(
            tenants=tenants, retention_days={}, retention_interval=3600.0,
            namespace=f"{topics.prefix}.",
        )  # fmt: skip
        runs = {t: sample("kaa_retention_runs_total", kommun=t) or 0.0 for t in tenants}
        purged = {t: sample("kaa_retention_purged_total", kommun=t) or 0.0 for t in tenants}
        started = time.time()

        # The daily loop's first run: two youths of 0180 and one of 1480 are due.
        loop = retention_loop(settings, pool, producer, lambda: date(2026, 7, 1))
        await until(lambda: sample("kaa_retention_runs_total", kommun="2480") == runs["2480"] + 1,
                    loop)  # fmt: skip
        for tenant, added in {"0180": 2, "1480": 1, "2480": 0}.items():
            assert sample("kaa_retention_runs_total", kommun=tenant) == runs[tenant] + 1
            assert sample("kaa_retention_purged_total", kommun=tenant) == purged[tenant] + added
        last = sample("kaa_retention_last_run_timestamp_seconds")
        assert last is not None
        assert last >= started
    finally:
        await producer.stop()
        await pool.close()


def test_purged_youths_are_added_to_their_municipality() -> None:
    before = sample("kaa_retention_purged_total", kommun="0999") or 0.0
    retention_ran(["0999", "0998"], {"0999": 3})
    assert sample("kaa_retention_purged_total", kommun="0999") == before + 3
    assert sample("kaa_retention_purged_total", kommun="0998") is not None
