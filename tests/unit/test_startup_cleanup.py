"""A start-up attempt the world fails closes what it opened before the next attempt; the teardown
of the attempt that succeeded closes each of its resources once (`shared.runtime.with_closing`).

The resources are real: a pool of connections to the launcher's PostgreSQL, counted in
`pg_stat_activity` by an application name of the test's own, and a producer on its Kafka. Topic
creation and the master key check are left out (not what is tested; the key check would write
this test's key into the shared database's keyring).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from shared import runtime
from shared.runtime import BackgroundLoops, with_closing
from shared.settings import ServiceSettings
from tests.conftest import RunningInfra

POOL_SIZE = 2


async def _nothing(*args: Any) -> None:
    return None


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "ensure_topics", _nothing)
    monkeypatch.setattr(runtime, "require_master_key", _nothing)


async def connections(infra: RunningInfra, name: str, expected: int | None = None) -> int:
    """The connections named `name` (once `expected`, waited for up to 5 s: a closed
    connection's server process ends a moment after the client closed it)."""
    conn = await asyncpg.connect(infra.database_url)
    try:
        deadline = time.monotonic() + 5.0
        while True:
            count: int = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", name
            )
            if expected is None or count == expected or time.monotonic() > deadline:
                return count
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


def counted(closes: Counter[str], what: str, close: Callable[[], Awaitable[Any]]) -> Any:
    async def closing() -> None:
        closes[what] += 1
        await close()

    return closing


class Opening:
    """A setup that opens a pool and a producer, then fails (the database went) until its
    `fails` attempts are used up; what it saw open when each attempt began is kept."""

    def __init__(self, infra: RunningInfra, fails: int, error: Exception) -> None:
        self.infra, self.fails, self.error = infra, fails, error
        self.name = f"kaa-startup-cleanup-{uuid.uuid4().hex[:8]}"
        self.open_at_start: list[int] = []
        self.producers: list[AIOKafkaProducer] = []
        self.closes: Counter[str] = Counter()

    async def __call__(self, app: FastAPI, loops: BackgroundLoops, closing: AsyncExitStack) -> None:
        self.open_at_start.append(await connections(self.infra, self.name, expected=0))
        pool = await asyncpg.create_pool(
            self.infra.database_url, min_size=POOL_SIZE, max_size=POOL_SIZE,
            server_settings={"application_name": self.name},
        )  # fmt: skip
        closing.push_async_callback(counted(self.closes, "pool", pool.close))
        producer = AIOKafkaProducer(bootstrap_servers=self.infra.bootstrap_servers)
        closing.push_async_callback(counted(self.closes, "producer", producer.stop))
        await producer.start()
        self.producers.append(producer)
        if len(self.producers) <= self.fails:
            raise self.error


def settings_of(infra: RunningInfra) -> ServiceSettings:
    return ServiceSettings(
        kafka_bootstrap_servers=infra.bootstrap_servers, database_url=infra.database_url
    )


async def test_a_transient_failure_closes_the_attempt_before_the_retry_and_teardown_closes_once(
    infra: RunningInfra, started: None
) -> None:
    setup = Opening(infra, fails=2, error=ConnectionRefusedError("the database went"))
    loops, teardown = await runtime._start(FastAPI(), settings_of(infra), with_closing(setup))

    assert setup.open_at_start == [0, 0, 0], "each retry began with nothing of the last open"
    assert setup.closes == Counter(pool=2, producer=2), "each failed attempt closed its own"
    assert [p._closed for p in setup.producers] == [True, True, False]
    assert await connections(infra, setup.name, expected=POOL_SIZE) == POOL_SIZE
    assert isinstance(loops, BackgroundLoops)

    await teardown()
    assert setup.closes == Counter(pool=3, producer=3)
    assert setup.producers[-1]._closed
    assert await connections(infra, setup.name, expected=0) == 0
    await teardown()  # a second teardown closes nothing twice
    assert setup.closes == Counter(pool=3, producer=3)


async def test_a_failure_of_another_kind_fails_the_start_up_with_nothing_left_open(
    infra: RunningInfra, started: None
) -> None:
    setup = Opening(infra, fails=1, error=KeyError("a bug"))
    with pytest.raises(KeyError):
        await runtime._start(FastAPI(), settings_of(infra), with_closing(setup))
    assert setup.closes == Counter(pool=1, producer=1)
    assert setup.producers[0]._closed
    assert await connections(infra, setup.name, expected=0) == 0


async def test_a_close_that_fails_after_a_failed_attempt_does_not_hide_why_it_failed(
    infra: RunningInfra,
) -> None:
    async def setup(app: FastAPI, loops: BackgroundLoops, closing: AsyncExitStack) -> None:
        async def broken_close() -> None:
            raise OSError("the socket is gone")

        closing.push_async_callback(broken_close)
        raise ConnectionRefusedError("the database went")

    with pytest.raises(ConnectionRefusedError):
        await with_closing(setup)(FastAPI(), BackgroundLoops())
