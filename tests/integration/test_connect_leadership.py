"""One connect process runs the organisers: the holder of a PostgreSQL advisory lock. A second
stands by, takes over within seconds of the first losing its connection, and a callback NOTIFY'd
from any process wakes the holder's loop only (real PostgreSQL)."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import asyncpg

from services.connect.adapters.leadership import Leadership, key
from tests.conftest import RunningInfra


async def test_one_holds_the_other_takes_over_and_callbacks_reach_the_holder(
    infra: RunningInfra,
) -> None:
    lock, channel = random.randrange(1, 2**62), f"test_{uuid.uuid4().hex[:12]}"
    first, second = (Leadership(infra.database_url, lock=lock, channel=channel, recheck=0.2)
                     for _ in range(2))  # fmt: skip
    woken: list[str] = []
    first.callbacks[key("0180", "city")] = lambda: woken.append("first")
    second.callbacks[key("0180", "city")] = lambda: woken.append("second")
    pool = await asyncpg.create_pool(infra.database_url, min_size=1, max_size=1)
    working: dict[str, bool] = {}

    def work(name: str) -> Any:
        async def run() -> None:
            working[name] = True
            try:
                await asyncio.Event().wait()
            finally:
                working[name] = False

        return run

    tasks = [asyncio.create_task(first.run()), asyncio.ensure_future(first.leading(work("first"))()),
             asyncio.ensure_future(second.leading(work("second"))())]  # fmt: skip
    try:
        await asyncio.wait_for(first.held.wait(), 5)
        tasks.append(asyncio.create_task(second.run()))
        await asyncio.sleep(1.0)
        assert not second.held.is_set(), "the lock is held: the second stands by"
        assert working == {"first": True}, "only the holder works"

        await second.notify(pool, "0180", "city")  # a callback that reached the standby
        for _ in range(100):
            if woken:
                break
            await asyncio.sleep(0.02)
        assert woken == ["first"], "the holder's loop is woken, the standby's not"

        tasks[0].cancel()
        await first.close()  # the first process lost its connection, and the lock with it
        await asyncio.wait_for(second.held.wait(), 5)
        await asyncio.sleep(0.2)
        assert working == {"first": False, "second": True}, "the work moved with the lock"
        await first.notify(pool, "0180", "city")
        for _ in range(100):
            if len(woken) == 2:
                break
            await asyncio.sleep(0.02)
        assert woken == ["first", "second"]
    finally:
        for task in tasks:
            task.cancel()
        await first.close()
        await second.close()
        await pool.close()
