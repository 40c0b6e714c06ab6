"""A register projected afresh from the event topics (what `kaa register rebuild` and an audit
replay from the topics read).

The register is a projection: everything in it follows from the events on the topics (kept
forever). `project_topics` reads every event topic from the beginning up to where it ends when it
starts, and applies it with the live projection's own code into a fresh schema beside the live
register (the live one is not touched).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Collection, Coroutine
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.register.adapters.collector import young_collections_less_often
from services.register.adapters.database import SCHEMA, SCRATCH, create_pool, create_tables
from services.register.adapters.projection.parking import known_youths, release_known
from services.register.adapters.projection.sink import RegisterProjection
from shared.contracts.events import AnyEvent
from shared.contracts.topics import EVENT_TOPICS, IDENTIFY_EVENTS
from shared.messaging import partitions_of, stop_consumer
from shared.messaging.consumer import Delivery, Parsed, Rejected
from shared.messaging.failures import is_transient
from shared.messaging.parking import apply_isolated
from shared.messaging.parsing import event_parser

REBUILD_SCHEMA = "register_rebuild"
WRITERS = 3  # batches written at the same time
BATCH = 30000  # records read at a time (of all partitions)
PARTITION_FETCH = 4 * 1024 * 1024
"""Bytes fetched from one partition at a time: about 6,000 events, a batch applied in one
transaction (the consumer's default, 1 MiB, made batches of about 1,300: each batch's dozen or so
statements then cost as much as a quarter of the rows' own work)."""

PROCESSES = max(1, min(len(os.sched_getaffinity(0)), 4))
"""Processes a large rebuild reads and applies in, each its share of the partitions: parsing and
encoding the events is most of a rebuild's work, and one process has one core (the events of
different partitions concern different youths, as the writers below already rely on). The cores
this process may run on, at most 4: each process writes through `WRITERS` connections."""
PARALLEL_FROM = 100_000
"""Events from which a rebuild starts more than one process (the first rebuild of a process starts
a fork server, which imports the code for a second or so, and each reading process writes from
its own connections)."""

BUILT_AFTER = ("contacts_youth", "contact_log_youth", "occupations_youth")
"""Indexes a rebuild builds after its last event (one sort each) rather than entry by entry: no
statement of the projection reads by them (the read model does), and each youth's entries land
all over them. Measured on 215,000 contact attempts: 1.7 s
inserted with the index, 0.9 s inserted without it and the index built after."""


@dataclass(frozen=True)
class RebuildResult:
    schema: str
    events: int
    applied: int
    rejected: int
    processes: int = 1  # the processes it read in


async def project_topics(
    bootstrap_servers: str,
    database_url: str,
    namespace: str,
    tenants: Collection[str],
    schema: str = REBUILD_SCHEMA,
    progress: Callable[[int, int], None] | None = None,
    recorded_by: datetime | None = None,
    processes: int | None = None,
) -> RebuildResult:
    """Drop `schema` if it exists and project every event into it afresh; with `recorded_by`,
    only the events the platform had recorded by then (the register as it stood at that
    instant). In `processes` processes (None: `PROCESSES` when the topics hold at least
    `PARALLEL_FROM` events, else this one)."""
    if schema == SCHEMA:
        raise ValueError("schema: the live register is rebuilt beside itself, not in place")
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()
    with young_collections_less_often():
        return await _project(
            Part(bootstrap_servers, database_url, namespace, tuple(tenants), schema, recorded_by),
            progress,
            processes,
        )


@dataclass(frozen=True)
class Part:
    """What a process that reads some of the partitions needs to know (pickled to it)."""

    bootstrap_servers: str
    database_url: str
    namespace: str
    tenants: tuple[str, ...]
    schema: str
    recorded_by: datetime | None


async def _project(
    part: Part, progress: Callable[[int, int], None] | None, processes: int | None
) -> RebuildResult:
    pool = await create_pool(part.database_url, part.schema, SCRATCH, min_size=1, max_size=1)
    try:
        await create_tables(pool, part.schema)
        async with pool.acquire() as conn:  # made again, whole, once every event is applied
            await conn.execute(f"DROP INDEX {', '.join(BUILT_AFTER)}")
        topics = [f"{part.namespace}{t}" for t in EVENT_TOPICS]
        partitions = await partitions_of(part.bootstrap_servers, topics)
        ends = await _ends(part.bootstrap_servers, partitions)
        total = sum(ends.values())
        if processes is None:
            processes = PROCESSES if total >= PARALLEL_FROM else 1
        # The identifications first, then the casework: read together, much of the casework came
        # before its youth and was parked and released one event at a time (the same register
        # either way: the projection does not depend on the order between topics).
        first = f"{part.namespace}{IDENTIFY_EVENTS}"
        phases = ({tp: end for tp, end in ends.items() if tp.topic == first},
                  {tp: end for tp, end in ends.items() if tp.topic != first})  # fmt: skip
        if processes > 1:
            from services.register.adapters.rebuild_processes import in_processes

            counts = await in_processes(part, phases, processes, total, progress)
        else:
            counts = await _in_this_process(part, phases, total, progress)
        # Casework read before its youth's identification was released when the youth was
        # identified (as live); any still waiting for a youth known now is applied here.
        async with pool.acquire() as writer, writer.transaction():
            await release_known(writer)
        await create_tables(pool, part.schema)  # the indexes left out (`BUILT_AFTER`), built now
        await analysed(pool, part.schema)
        # The events: where the partitions ended (what the progress counts to), as before.
        return RebuildResult(part.schema, total, counts[1], counts[2], processes)
    finally:
        await pool.close()


async def analysed(pool: asyncpg.Pool, schema: str) -> None:
    """A rebuilt register's tables analysed before it is used: written in bulk and never
    analysed, the planner would guess their sizes until autovacuum came by (an audit replay right
    after a rebuild read the archive in 0.4-2.0 s, as a checkpoint or the autovacuum fell)."""
    async with pool.acquire() as conn:
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)
        for table in tables:
            name = str(table["tablename"]).replace('"', '""')
            await conn.execute(f'ANALYZE "{schema}"."{name}"')


async def _ends(
    bootstrap_servers: str, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    """Where each partition ends now: what a rebuild reads up to."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False,
                                isolation_level="read_committed")  # fmt: skip
    try:
        await consumer.start()
        return dict(await consumer.end_offsets(partitions))
    finally:
        await stop_consumer(consumer)


async def _in_this_process(
    part: Part,
    phases: tuple[dict[TopicPartition, int], ...],
    total: int,
    progress: Callable[[int, int], None] | None,
) -> tuple[int, int, int]:
    counts = (0, 0, 0)
    for known, phase in enumerate(phases):
        before = counts[0]

        def read_so_far(done: int, _total: int, before: int = before) -> None:
            if progress is not None:
                progress(before + done, total)

        found = await read_partitions(part, phase, bool(known), read_so_far)
        counts = (counts[0] + found[0], counts[1] + found[1], counts[2] + found[2])
    return counts


async def read_partitions(
    part: Part,
    ends: dict[TopicPartition, int],
    after_identifications: bool,
    progress: Callable[[int, int], None],
) -> tuple[int, int, int]:
    """Read these partitions from their beginnings to `ends` and apply them: events read, applied
    and not applicable. After the identifications, the youths identified are known from the start:
    the casework of each needs no look-up (nor its lock) to tell whether it must wait."""
    pool = await create_pool(part.database_url, part.schema, SCRATCH, min_size=1, max_size=WRITERS)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=part.bootstrap_servers,
        enable_auto_commit=False,
        isolation_level="read_committed",
        max_partition_fetch_bytes=PARTITION_FETCH,
    )
    try:
        projection = RegisterProjection(pool)
        if after_identifications:
            async with pool.acquire() as conn:
                projection.known = await known_youths(conn)
        parse = event_parser(EVENT_TOPICS, part.namespace, part.tenants)
        reading = _Reading(projection, parse, part.recorded_by, sum(ends.values()), progress)
        if ends:
            await consumer.start()
            consumer.assign(list(ends))
            await consumer.seek_to_beginning(*ends)
            await reading.read(consumer, ends)
        return reading.done, reading.applied, reading.rejected
    finally:
        await stop_consumer(consumer)
        await pool.close()


class _Reading:
    """Partitions read to their ends and applied, with counts across the phases of a rebuild."""

    def __init__(
        self,
        projection: RegisterProjection,
        parse: Callable[[Delivery], AnyEvent | Rejected],
        recorded_by: datetime | None,
        total: int,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        self.projection, self.parse, self.recorded_by = projection, parse, recorded_by
        self.total, self.progress = total, progress
        self.done = self.applied = self.rejected = 0

    async def read(self, consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> None:
        """Read the assigned partitions up to `ends` and apply what they hold."""
        writers = _Writers()
        while await _unread(consumer, ends):
            batches = await consumer.getmany(timeout_ms=1000, max_records=BATCH)
            for tp, records in batches.items():
                records = [r for r in records if r.offset < ends[tp]]
                if not records:
                    continue
                items = self._parsed(tp, records)
                end = records[-1].offset + 1
                await writers.write(tp, partial(_apply_or_park, self.projection, tp, items, end))
                self.done += len(records)
                self.applied += len(items)
                if self.progress is not None:
                    self.progress(self.done, self.total)
        await writers.finish()

    def _parsed(self, tp: TopicPartition, records: list[Any]) -> list[Parsed[AnyEvent]]:
        items: list[Parsed[AnyEvent]] = []
        for r in records:
            delivery = Delivery(tp.topic, tp.partition, r.offset, r.key, r.value)
            outcome = self.parse(delivery)
            if isinstance(outcome, Rejected):
                self.rejected += 1  # the live consumer dead-lettered it too
            elif self.recorded_by is None or outcome.recorded_at <= self.recorded_by:
                items.append(Parsed(delivery, outcome))
        return items


async def _unread(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    """Whether any assigned partition is not read up to its end yet."""
    return any([await consumer.position(tp) < end for tp, end in ends.items()])


class _Writers:
    """The batches being written: at most `WRITERS` at once, one partition's one after the other,
    in order. Batches of different partitions concern different youths, so they are written
    concurrently, and parsing the next batch overlaps the database's work on the last."""

    def __init__(self) -> None:
        self.last: dict[TopicPartition, asyncio.Task[None]] = {}

    async def write(
        self, tp: TopicPartition, batch: Callable[[], Coroutine[Any, Any, None]]
    ) -> None:
        """Start writing a partition's batch once its last one is written; return when fewer
        than `WRITERS` are being written. A failed write fails the rebuild."""
        previous = self.last.get(tp)
        if previous is not None:
            await previous
        self.last[tp] = asyncio.create_task(batch())
        while len(running := [t for t in self.last.values() if not t.done()]) >= WRITERS:
            await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        for task in self.last.values():
            if task.done():
                task.result()

    async def finish(self) -> None:
        await asyncio.gather(*self.last.values())


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
