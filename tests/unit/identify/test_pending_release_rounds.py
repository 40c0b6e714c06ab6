"""The release decides round after round until a round decides nobody: a round's limit counts a
person's rows (one per municipality), so a full round of movers decides fewer persons than it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Collection
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
        self.partitions: list[Collection[int] | None] = []
        self.moved: list[bool] = []  # what `watermarks_moved` answers, in turn (then False)

    def release_pending(
        self, today: date, now: Any, limit: int, partitions: Collection[int] | None = None
    ) -> int:
        self.calls.append(time.monotonic())
        self.partitions.append(partitions)
        return self.counts.pop(0) if self.counts else 0

    def watermarks_moved(self) -> bool:
        return self.moved.pop(0) if self.moved else False


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


async def test_a_watermark_another_replica_took_starts_this_replicas_release_of_its_own() -> None:
    """The replica that took the last watermark is not the only one with persons to decide:
    each decides those its partitions held, so each looks at the watermarks every second."""
    settings = offline_settings(batch_size=500, schedule_interval=60)
    rounds = Rounds([])
    rounds.moved = [False, True]  # another replica wrote the watermarks after a second
    today = lambda: date(2026, 3, 2)  # noqa: E731
    release = pending_release(settings, rounds, today, lambda: {1, 3})  # type: ignore[arg-type]
    loop = asyncio.ensure_future(release())
    try:
        for _ in range(1000):  # a loaded machine's thread pool may be slow
            if len(rounds.calls) >= 2:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.8)  # less than a second: the next look finds nothing new
    finally:
        loop.cancel()
    assert len(rounds.calls) == 2, "the start's round, then one (only) when the watermarks moved"
    assert 1.5 < rounds.calls[1] - rounds.calls[0] < 15, "not the schedule interval's minute"
    assert rounds.partitions == [{1, 3}, {1, 3}], "of the partitions this replica reads"


async def test_partitions_given_to_the_replica_start_its_release_at_once() -> None:
    """At its start the replica reads no partition yet, and at a rebalance it may be given
    another's: the persons those held are its to decide now, not at the schedule's minute."""
    settings = offline_settings(batch_size=500, schedule_interval=60)
    rounds = Rounds([])
    assigned: frozenset[int] = frozenset()
    today = lambda: date(2026, 3, 2)  # noqa: E731
    release = pending_release(settings, rounds, today, lambda: assigned)  # type: ignore[arg-type]
    loop = asyncio.ensure_future(release())
    try:
        for _ in range(500):
            if rounds.calls:
                break
            await asyncio.sleep(0.02)
        assigned = frozenset({0, 2, 4})  # the consumer joined its group
        for _ in range(500):
            if len(rounds.calls) >= 2:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.5)
    finally:
        loop.cancel()
    assert rounds.partitions == [frozenset(), frozenset({0, 2, 4})], "once for each"
    assert rounds.calls[1] - rounds.calls[0] < 8, "at once, not at the schedule's minute"
