"""The register projection's sink: integration events → register tables, exactly once, in order.

Every batch of one topic partition is applied in one transaction together with the partition's
next offset (`consumer_positions`): first the events that must wait are parked (behind a youth's
parked event, or until the youth is identified: `parking.py`), then the rest are applied once
each (`applied.py`) by their handlers (`handlers.py`), then the casework that waited for a youth
identified now follows.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from services.register.adapters.projection.applied import apply_items, is_applied_twice
from services.register.adapters.projection.parking import (
    PARKED,
    hold_behind_parked,
    park_early,
    parked_row,
    release_waiting,
)
from shared.contracts.events import AnyEvent
from shared.messaging.consumer import Parsed

POSITION = """
INSERT INTO consumer_positions (topic, partition, next_offset) VALUES ($1, $2, $3)
ON CONFLICT (topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset
"""


class RegisterProjection:
    """The consumer sink of the register service (`shared.messaging.consumer.BatchSink`)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        # Youths read from this register before (a rebuild's, once its identifications are in):
        # their casework needs no look-up (a youth's row is never deleted).
        self.known: set[tuple[str, uuid.UUID]] = set()

    async def positions(self, topic: str, partitions: Sequence[int]) -> dict[int, int]:
        rows = await self.pool.fetch(
            "SELECT partition, next_offset FROM consumer_positions "
            "WHERE topic = $1 AND partition = ANY($2::int[])",
            topic,
            list(partitions),
        )
        return {row["partition"]: row["next_offset"] for row in rows}

    async def apply(
        self, topic: str, partition: int, items: list[Parsed[AnyEvent]], next_offset: int
    ) -> None:
        try:
            await self._apply(topic, partition, items, next_offset, checked=False)
        except Exception as exc:
            if not is_applied_twice(exc):
                raise
            # A redelivery or a re-published event: applied again, each event checked.
            await self._apply(topic, partition, items, next_offset, checked=True)

    async def _apply(
        self,
        topic: str,
        partition: int,
        items: list[Parsed[AnyEvent]],
        next_offset: int,
        checked: bool,
    ) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            items = await hold_behind_parked(conn, topic, partition, items)
            items = await park_early(conn, topic, partition, items, self.known)
            await apply_items(conn, items, checked)
            await release_waiting(conn, items)
            await conn.execute(POSITION, topic, partition, next_offset)

    async def park(
        self, topic: str, partition: int, item: Parsed[AnyEvent], reason: str, next_offset: int
    ) -> None:
        """Keep an event the projection could not apply (the consumer parked it), with its bytes,
        for `GET /v1/dead-events` and `kaa register reapply`; and move past it."""
        async with self.pool.acquire() as conn, conn.transaction():
            # Kept even when a copy was applied before: this delivery failed, and says why.
            await conn.execute(PARKED, *parked_row(topic, partition, item, reason, False))
            await conn.execute(POSITION, topic, partition, next_offset)
