"""The consumer sink of an event-sourced service: batches go to its `eventsourcing` application."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from shared.eventstore import KafkaFedApplication
from shared.messaging.consumer import Parsed

T = TypeVar("T")

ApplyBatch = Callable[[list[T], str, int, int], None]


class EventStoreSink(Generic[T]):
    """Positions live in the application's tracking table; the library is called off the loop."""

    def __init__(self, app: KafkaFedApplication, apply_batch: ApplyBatch[T]) -> None:
        self.app = app
        self.apply_batch = apply_batch

    async def positions(self, topic: str, partitions: Sequence[int]) -> dict[int, int]:
        return await asyncio.to_thread(self.app.stored_positions, topic, partitions)

    async def apply(
        self, topic: str, partition: int, items: list[Parsed[T]], next_offset: int
    ) -> None:
        messages = [item.message for item in items]
        await asyncio.to_thread(self.apply_batch, messages, topic, partition, next_offset)
