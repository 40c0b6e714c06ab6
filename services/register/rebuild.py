"""Rebuild the register from the event topics, and verify a register against another.

The register is a projection: everything in it follows from the events on the topics (kept
forever). `rebuild` reads every event topic from the beginning up to where it ends when the rebuild
starts, and applies it with the live projection's own code into a fresh schema beside the live
register (the live one is not touched). `content_hashes` fingerprints a register's tables (every
row, in a fixed order), so `verify` can tell whether two registers hold the same content.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.register.projection import RegisterProjection, create_pool, create_tables
from shared.contracts.events import AnyEvent
from shared.contracts.topics import EVENT_TOPICS
from shared.messaging import partitions_of, stop_consumer
from shared.messaging.consumer import Delivery, Parsed, Rejected, apply_isolated
from shared.messaging.failures import is_transient
from shared.messaging.parsing import event_parser

CONTENT_TABLES = (
    "youths", "scope_episodes", "identities", "contact_details", "contacts", "contact_log", "occupations", "measures",
    "measure_status", "plan_revisions", "assignments", "objections",
)  # fmt: skip
REBUILD_SCHEMA = "register_rebuild"
WRITERS = 3  # batches written at the same time


@dataclass(frozen=True)
class RebuildResult:
    schema: str
    events: int
    applied: int
    rejected: int


async def rebuild(
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
    if schema == "register":
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


async def content_hashes(database_url: str, schema: str) -> dict[str, tuple[int, str]]:
    """Per content table: its row count and an MD5 of all its rows in a fixed order."""
    conn = await asyncpg.connect(database_url)
    try:
        hashes = {}
        for table in CONTENT_TABLES:
            row = await conn.fetchrow(
                f"SELECT count(*) AS n, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text),"  # noqa: S608
                f" '')) AS h FROM \"{schema}\".{table} t"
            )
            assert row is not None
            hashes[table] = (int(row["n"]), str(row["h"]))
        return hashes
    finally:
        await conn.close()


async def verify(
    database_url: str, live: str, other: str
) -> dict[str, tuple[tuple[int, str], ...]]:
    """The tables whose content differs between two registers (empty: identical)."""
    left = await content_hashes(database_url, live)
    right = await content_hashes(database_url, other)
    return {t: (left[t], right[t]) for t in CONTENT_TABLES if left[t] != right[t]}


async def dead_event_count(database_url: str, schema: str = "register") -> tuple[int, int]:
    """How many events a register could not apply (kept in its `dead_events` with the reason,
    not re-applied since), and how much casework waits for its youth's identification; (0, 0) for
    a register made before that table existed (it kept none)."""
    conn = await asyncpg.connect(database_url)
    try:
        if await conn.fetchval("SELECT to_regclass($1)", f'"{schema}".dead_events') is None:
            return 0, 0
        counts = (
            "count(*) FILTER (WHERE reapplied_at IS NULL AND NOT waits_for_youth) AS dead,"
            " count(*) FILTER (WHERE reapplied_at IS NULL AND waits_for_youth) AS waiting"
        )
        row = await conn.fetchrow(f'SELECT {counts} FROM "{schema}".dead_events')  # noqa: S608
        assert row is not None
        return int(row["dead"]), int(row["waiting"])
    finally:
        await conn.close()


_ORPHANS = """
SELECT count(*) FROM (
    SELECT tenant, youth_id FROM contacts UNION SELECT tenant, youth_id FROM contact_log
    UNION SELECT tenant, youth_id FROM occupations UNION SELECT tenant, youth_id FROM measure_status
    UNION SELECT tenant, youth_id FROM plan_revisions UNION SELECT tenant, youth_id FROM assignments
    UNION SELECT tenant, youth_id FROM objections
) r
WHERE NOT EXISTS (SELECT 1 FROM youths y WHERE y.tenant = r.tenant AND y.youth_id = r.youth_id)
"""


async def orphan_youths(database_url: str, schema: str = "register") -> int:
    """Youths with casework in the register but no scope episode: events about a youth the
    register was never told had entered scope (from another service's topic, so they are kept,
    and counted here until their identification arrives)."""
    conn = await asyncpg.connect(database_url, server_settings={"search_path": schema})
    try:
        return int(await conn.fetchval(_ORPHANS))
    finally:
        await conn.close()
