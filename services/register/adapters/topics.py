"""A register projected afresh from the event topics (what `kaa register rebuild` and an audit
replay from the topics read).

The register is a projection: everything in it follows from the events on the topics (kept
forever). `project_topics` reads every event topic from the beginning up to where it ends when it
starts, and applies it with the live projection's own code into a fresh schema beside the live
register (the live one is not touched).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.register.adapters.database import SCHEMA, create_pool, create_tables
from services.register.adapters.projection.parking import release_known
from services.register.adapters.projection.sink import RegisterProjection
from shared.contracts.events import AnyEvent
from shared.contracts.topics import EVENT_TOPICS
from shared.messaging import partitions_of, stop_consumer
from shared.messaging.consumer import Delivery, Parsed, Rejected
from shared.messaging.failures import is_transient
from shared.messaging.parking import apply_isolated
from shared.messaging.parsing import event_parser

REBUILD_SCHEMA = "register_rebuild"
WRITERS = 3  # batches written at the same time


@dataclass(frozen=True)
class RebuildResult:
    schema: str
    events: int
    applied: int
    rejected: int


async def project_topics(
    bootstrap_servers: str,
    database_url: str,
    namespace: str,
    tenants: Collection[str],
    schema: str = REBUILD_SCHEMA,
    progress: Callable[[int, int], None] | None = None,
    recorded_by: datetime | None = None,
) -> RebuildResult:
    """Drop `schema` if it exists and project every event into it afresh; with `recorded_by`,
    only the events the platform had recorded by then (the register as it stood at that
    instant)."""
    if schema == SCHEMA:
        raise ValueError("schema: the live register is rebuilt beside itself, not in place")
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()
    pool = await create_pool(database_url, schema, min_size=1, max_size=WRITERS)
    parse = event_parser(EVENT_TOPICS, namespace, tenants)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    try:
        await create_tables(pool, schema)
        projection = RegisterProjection(pool)
        partitions = await partitions_of(
            bootstrap_servers, [f"{namespace}{t}" for t in EVENT_TOPICS]
        )
        await consumer.start()
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        total, done, applied, rejected = sum(ends.values()), 0, 0, 0
        # Batches of different partitions are written concurrently (they concern different
        # youths), so parsing the next batch overlaps the database's work on the last; one
        # partition's batches are written one after the other, in order.
        writing: dict[TopicPartition, asyncio.Task[None]] = {}
        while any([await consumer.position(tp) < ends[tp] for tp in partitions]):
            batches = await consumer.getmany(timeout_ms=1000, max_records=2000)
            for tp, records in batches.items():
                records = [r for r in records if r.offset < ends[tp]]
                if not records:
                    continue
                items: list[Parsed[AnyEvent]] = []
                for r in records:
                    delivery = Delivery(tp.topic, tp.partition, r.offset, r.key, r.value)
                    outcome = parse(delivery)
                    if isinstance(outcome, Rejected):
                        rejected += 1  # the live consumer dead-lettered it too
                    elif recorded_by is None or outcome.recorded_at <= recorded_by:
                        items.append(Parsed(delivery, outcome))
                previous = writing.get(tp)
                if previous is not None:
                    await previous
                writing[tp] = asyncio.create_task(
                    _apply_or_park(projection, tp, items, records[-1].offset + 1)
                )
                while sum(not task.done() for task in writing.values()) >= WRITERS:
                    await asyncio.wait(
                        [t for t in writing.values() if not t.done()],
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                for task in writing.values():
                    if task.done():
                        task.result()  # a failed write fails the rebuild
                done += len(records)
                applied += len(items)
                if progress is not None:
                    progress(done, total)
        await asyncio.gather(*writing.values())
        # Casework read before its youth's identification was released when the youth was
        # identified (as live); any still waiting for a youth known now is applied here.
        async with pool.acquire() as writer, writer.transaction():
            await release_known(writer)
        return RebuildResult(schema, total, applied, rejected)
    finally:
        await stop_consumer(consumer)
        await pool.close()


async def _apply_or_park(
    projection: RegisterProjection, tp: TopicPartition, items: list[Parsed[AnyEvent]], end: int
) -> None:
    """A batch the projection cannot apply is applied event by event; an event that fails on its
    own is kept in the rebuilt register's dead events, as the live consumer parked it."""
    try:
        await projection.apply(tp.topic, tp.partition, items, end)
    except Exception as exc:
        if is_transient(exc):
            raise

        async def park(item: Parsed[AnyEvent], reason: str) -> None:
            await projection.park(tp.topic, tp.partition, item, reason, item.delivery.offset + 1)

        await apply_isolated(projection, tp.topic, tp.partition, items, end, park)
