"""Identify's integration events read again from the beginning of their topic, up to its end as it
stood when reading began: for the backfill of the youths' sealed details (`commands.backfill`).

Read with partitions assigned, not as a consumer group: nothing is committed and the service's own
consumer (whose positions are kept in its event store) is not touched; a read that stops half-way
simply starts again at the next start. Records the service's consumer refuses (another
municipality's, malformed) are passed over here: that consumer dead-lettered them already.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer

from shared.contracts.topics import IDENTIFY_EVENTS
from shared.messaging import partitions_of, stop_consumer
from shared.messaging.consumer import Delivery, Rejected
from shared.messaging.parsing import event_parser


@dataclass(frozen=True)
class Progress:
    """How far the read is: records read of the records there were when it began."""

    read: int
    total: int


@dataclass(frozen=True)
class IdentifyTopic:
    """Where identify's events are: the cluster, the deployment's namespace and municipalities."""

    bootstrap_servers: str
    namespace: str
    tenants: Collection[str]

    async def read_through(
        self, max_records: int = 2000
    ) -> AsyncIterator[tuple[list[Any], Progress]]:
        """Batches of identify's events, each with how far the read is, from the beginning of
        every partition to its end as it stood when reading began."""
        topic = f"{self.namespace}{IDENTIFY_EVENTS}"
        parse = event_parser([IDENTIFY_EVENTS], self.namespace, self.tenants)
        partitions = await partitions_of(self.bootstrap_servers, [topic])
        if not partitions:
            return
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            enable_auto_commit=False,
            isolation_level="read_committed",
        )
        await consumer.start()
        try:
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            starts = await consumer.beginning_offsets(partitions)
            total = sum(ends[tp] - starts[tp] for tp in partitions)
            read = 0
            while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
                batches = await consumer.getmany(timeout_ms=1000, max_records=max_records)
                for tp, records in batches.items():
                    records = [r for r in records if r.offset < ends[tp]]
                    read += len(records)
                    parsed = [
                        parse(Delivery(tp.topic, tp.partition, r.offset, r.key, r.value))
                        for r in records
                    ]
                    events = [p for p in parsed if not isinstance(p, Rejected)]
                    yield events, Progress(min(read, total), total)
        finally:
            await stop_consumer(consumer)
