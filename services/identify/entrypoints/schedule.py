"""identify's inputs from the clock: the scope schedule (time alone opens and closes scope) and the
release of the persons who waited for their feeds' watermarks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection
from datetime import date

import structlog
from eventsourcing.persistence import IntegrityError

from services.identify.adapters.metrics import SCOPE_SCHEDULE_BACKLOG
from services.identify.commands import IdentifyCommands
from shared.settings import ServiceSettings

log = structlog.get_logger(__name__)


def scope_schedule(
    settings: ServiceSettings, commands: IdentifyCommands, today: Callable[[], date]
) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        """Time-based transitions (compulsory school ends, 20th birthday) with no input."""
        while True:
            due = await asyncio.to_thread(commands.run_schedule, today())
            # What is left due (those waiting for a feed's watermark too): `GET /metrics`.
            left = await asyncio.to_thread(commands.store.schedule.backlog, today())
            SCOPE_SCHEDULE_BACKLOG.set(left)
            if due:
                log.info("scope schedule evaluated persons", persons=due)
                continue  # more may be due
            await asyncio.sleep(settings.schedule_interval)

    return run


def pending_release(
    settings: ServiceSettings,
    commands: IdentifyCommands,
    today: Callable[[], date],
    partitions: Callable[[], Collection[int] | None] = lambda: None,
) -> Callable[[], Awaitable[None]]:
    # Persons decided per release round (one transaction): they are in memory already, so a
    # round takes more than a feed batch.
    release_round = 4 * settings.batch_size

    async def run() -> None:
        """Decide the persons who waited for their feeds' watermarks (or the settle window), those
        held from the feed `partitions` this replica reads (and the settled): at once when a
        watermark was taken, by this replica or another (looked at every second), or when the
        replica's partitions changed (its start, a rebalance: another replica's persons may be
        its own now), else every `schedule_interval` at the latest."""
        # A loop started again (its guard, after a failure) may have missed what was due.
        commands.release_wanted.set()
        waited, moved, released_for = 0.0, False, partitions()
        while True:
            if (
                moved
                or commands.release_wanted.is_set()
                or partitions() != released_for
                or waited >= min(settings.schedule_interval, max(settings.feed_settle, 1.0))
            ):
                commands.release_wanted.clear()
                waited, moved, released_for = 0.0, False, partitions()
                while True:  # in rounds of a batch, each its own transaction
                    try:
                        decided = await asyncio.to_thread(
                            commands.release_pending, today(), None, release_round, released_for
                        )
                    except IntegrityError:  # replicas deciding the same persons: later
                        log.info("pending release met concurrent writes; tries again")
                        commands.release_wanted.set()
                        break
                    if decided:
                        log.info("pending persons decided", persons=decided)
                    # Until a round decides nobody: its limit counts a person's rows (one per
                    # municipality), so a full round may decide fewer persons than the limit.
                    if not decided:
                        break
            await asyncio.sleep(0.1)
            waited += 0.1
            if round(waited * 10) % 10 == 0:
                moved = await asyncio.to_thread(commands.watermarks_moved)

    return run
