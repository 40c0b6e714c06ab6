"""The youths' sealed names and addresses for a store from before outreach kept them.

Outreach keeps each youth's sealed personal details from identify's events as they arrive
(`adapters/identities.py`). A store that took those events in before it kept them has youths in
scope without details, and their letters could not be written. At start-up the service looks
once: if youths in scope lack details, it reads identify's events again from the beginning of
their topic up to its end as it stood (`adapters/identify_topic.py`) and keeps the details those
youths' events carried — the newest wins, so a redelivery or the live consumer writing at the same
time changes nothing (idempotent). When it has read through, it records that it ran, with how
many it filled, and never runs again on that store: every event after that end the service's own
consumer reads with details kept. Stopped half-way, it starts again at the next start.

Progress is logged by counts only (records read of the total, youths filled, still without), no
youth id and no personal data. A youth left without details (identify never had a name and an
address for them) gets no letter: it is refused naming why (`commands.letters`).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Protocol

import structlog

from services.outreach.adapters import identities
from services.outreach.adapters.identify_topic import Progress

log = structlog.get_logger(__name__)
LOG_EVERY = 10.0  # seconds between progress lines


class Topic(Protocol):
    """Identify's events from the beginning (`adapters.identify_topic.IdentifyTopic`)."""

    def read_through(self) -> AsyncIterator[tuple[list[Any], Progress]]: ...


class Kept(Protocol):
    """The details outreach keeps (`adapters.identities.BackfillStore`); blocking."""

    def done(self) -> bool: ...
    def without_details(self) -> set[tuple[str, uuid.UUID]]: ...
    def fill(self, found: list[tuple[str, uuid.UUID, str, datetime]]) -> None: ...
    def mark_done(self, youths_without: int, filled: int) -> None: ...


async def backfill_identities(
    store: Kept, topic: Topic, log_every: float = LOG_EVERY
) -> int | None:
    """Fill the sealed details of the youths in scope that lack them, once per store; how many
    youths it filled, or None when it had run already."""
    if await asyncio.to_thread(store.done):
        return None
    without = await asyncio.to_thread(store.without_details)
    if not without:
        await asyncio.to_thread(store.mark_done, 0, 0)
        return 0
    log.info("letters: filling the names and addresses of youths in scope from identify's "
             "events", youths_without=len(without))  # fmt: skip
    filled: set[tuple[str, uuid.UUID]] = set()
    last = time.monotonic()
    async for events, progress in topic.read_through():
        found = [row for row in identities.carried(events) if (row[0], row[1]) in without]
        if found:
            await asyncio.to_thread(store.fill, found)
            filled.update((tenant, youth_id) for tenant, youth_id, _, _ in found)
        if time.monotonic() - last >= log_every:
            last = time.monotonic()
            log.info("letters: filling names and addresses", read=progress.read,
                     of=progress.total, filled=len(filled))  # fmt: skip
    await asyncio.to_thread(store.mark_done, len(without), len(filled))
    log.info("letters: names and addresses filled", filled=len(filled),
             still_without=len(without) - len(filled))  # fmt: skip
    return len(filled)
