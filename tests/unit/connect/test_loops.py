"""An organiser's loop (fakes for the sync and the state: the real ones are in the integration and
e2e tests): a refused subscription leaves polling, a failure backs off and tries again, a callback
syncs at once, a failure never ends the loop."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from services.connect.adapters.ss12000 import Ss12000Error
from services.connect.entrypoints.loops import OrganiserLoop
from shared.connectors import Organiser


class FakeState:
    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []

    async def update(self, tenant: str, organiser: str, **values: Any) -> None:
        self.updates.append(values)


class FakeSync:
    def __init__(self, outcomes: list[Exception | None], subscription: Exception | None) -> None:
        self.tenant = "0180"
        self.organiser = Organiser(id="city", name="Staden", base_url="http://127.0.0.1:9",
                                   poll_interval=3600)  # fmt: skip
        self.state = FakeState()
        self.outcomes = outcomes
        self.subscription = subscription
        self.syncs = 0
        self.failures: list[tuple[str, float]] = []

    async def keep_subscription(self, public_url: str | None) -> datetime | None:
        if self.subscription is not None:
            raise self.subscription
        return datetime.now(UTC) + timedelta(hours=1)

    async def sync(self) -> None:
        self.syncs += 1
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome

    async def subscription_refused(self, problem: str) -> None:
        await self.state.update(self.tenant, self.organiser.id, subscription_error=problem)

    async def failed(self, error: Exception, retry_in: float) -> None:
        self.failures.append((str(error), retry_in))


async def run_until(loop: OrganiserLoop, done: Any, within: float = 5.0) -> None:
    task = asyncio.create_task(loop.run())
    try:
        for _ in range(int(within * 100)):
            if done():
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"not within {within} s")
    finally:
        task.cancel()


async def test_a_refused_subscription_leaves_polling_and_the_sync_runs() -> None:
    sync = FakeSync([], subscription=Ss12000Error("Staden: unexpected answer (HTTP 501)", 501))
    loop = OrganiserLoop(sync, "https://kaa.example.se")  # type: ignore[arg-type]
    await run_until(loop, lambda: sync.syncs == 1)
    assert sync.state.updates[0] == {"subscription_error": "Staden: unexpected answer (HTTP 501)"}


async def test_a_failure_backs_off_and_tries_again_and_a_callback_syncs_at_once() -> None:
    sync = FakeSync([Ss12000Error("Staden: failed (HTTP 503)", 503)], subscription=None)
    loop = OrganiserLoop(sync, None)  # type: ignore[arg-type]
    await run_until(loop, lambda: sync.syncs == 2)
    [(said, retry_in)] = sync.failures
    assert said == "Staden: failed (HTTP 503)"
    assert 0.5 <= retry_in <= 1.0, "the first retry within a second (jittered)"
    task = asyncio.create_task(loop.run())
    await asyncio.sleep(0.2)
    synced = sync.syncs
    loop.callback()
    await asyncio.sleep(0.2)
    task.cancel()
    assert sync.syncs == synced + 1, "a callback fetches at once, not after the poll interval"


async def test_refused_credentials_wait_minutes_and_a_bug_never_ends_the_loop() -> None:
    sync = FakeSync([Ss12000Error("Staden: refused (HTTP 401)", 401)], subscription=None)
    loop = OrganiserLoop(sync, None)  # type: ignore[arg-type]
    await run_until(loop, lambda: sync.failures)
    assert sync.failures[0][1] == 300.0
    bug = FakeSync([KeyError("x"), None], subscription=None)
    loop = OrganiserLoop(bug, None)  # type: ignore[arg-type]
    await run_until(loop, lambda: bug.syncs == 2)
    assert bug.failures[0][0] == "'x'"
