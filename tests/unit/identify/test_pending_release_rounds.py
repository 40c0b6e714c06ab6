"""The release decides round after round until a round decides nobody: a round's limit counts a
person's rows (one per municipality), so a full round of movers decides fewer persons than it."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import date
from typing import Any

from services.identify.entrypoints.schedule import pending_release
from tests.unit.apps import offline_settings


class Rounds:
    """`release_pending` as the store answers it: these counts, then nobody."""

    def __init__(self, counts: list[int]) -> None:
        self.counts = counts
        self.calls: list[float] = []
        self.release_wanted = threading.Event()
        self.release_wanted.set()

    def release_pending(self, today: date, now: Any, limit: int) -> int:
        self.calls.append(time.monotonic())
        return self.counts.pop(0) if self.counts else 0


async def test_a_round_short_of_its_limit_is_followed_at_once_by_the_next() -> None:
    settings = offline_settings(batch_size=500, schedule_interval=60)
    rounds = Rounds([1991, 1987, 40])  # limit 2,000 rows; movers have two
    loop = asyncio.ensure_future(pending_release(settings, rounds, lambda: date(2026, 3, 2))())  # type: ignore[arg-type]
    try:
        for _ in range(100):
            if len(rounds.calls) >= 4:
                break
            await asyncio.sleep(0.02)
    finally:
        loop.cancel()
    assert len(rounds.calls) == 4, "three rounds that decided someone, then one that did not"
    assert rounds.calls[-1] - rounds.calls[0] < 1.0, "no wait for the schedule interval between"
