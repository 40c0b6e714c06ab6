"""Benchmark: the least a feed record costs here, beside what identify spends on it.

`./run bench floor [PERSONS]` (default 50,000 persons, two records each: a school record and a
population record, as `./run bench identify` sends them) measures in one run:

(a) identify's intake code on a record before any domain step, in this process, with identify's
    collector threshold: opening the sealed record (`FeedOpener.open`, its intake keys already
    held) and parsing and validating it (identify's own feed parser), µs a record; and parsing
    the same records as plain lines, as they were before the feed adapter sealed them;
(b) PostgreSQL's own CPU for the least rows a record must write there and keep the guarantees:
    a facts event per record (900 bytes, as identify's are), a data key for every person (each
    population record names one), a scope decision event for one person in six (about the
    share identify decides in scope in the generated population), one tracking row per batch
    of 500, each batch one transaction, rows by COPY into tables shaped as the event store's
    and the keyring's (their indexes); then the same with the pending-scope upsert per record
    identify keeps today. CPU seconds per 1,000 records, read from /proc for the backend that
    did the work.

Beside them the same run's raw Kafka produce + consume rate of the records, the baseline every
other benchmark reads against. Writes bench/results/floor.json. Read it beside a `bench identify`
run of the same hour: the CPU seconds per 1,000 records it gives identify and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
from pydantic import TypeAdapter

from bench.pipeline import raw_kafka, write_result
from kaa.deployment import Deployment
from kaa.dev.launcher import InfraSettings, Infrastructure
from kaa.dev.synthetic_feeds import generate
from services.identify.entrypoints.consumers import feed_parser
from shared.contracts.feeds import PopulationFeedMessage, Ss12000FeedMessage
from shared.contracts.topics import POPULATION_FEED, SS12000_FEED
from shared.crypto import DataKeyCache, TenantKeys
from shared.feed_adapter import read_lines
from shared.gc_tuning import tune_garbage_collector
from shared.intake import FeedOpener, stored_keys
from shared.messaging.consumer import Delivery, Rejected

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "floor.json"
BATCH = 500
TICK = os.sysconf("SC_CLK_TCK")
SCHEMA = "bench_floor"
TABLES = f"""
DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;
CREATE SCHEMA {SCHEMA};
CREATE TABLE {SCHEMA}.events (
    originator_id uuid NOT NULL, originator_version bigint NOT NULL, topic text NOT NULL,
    state bytea, notification_id bigserial, PRIMARY KEY (originator_id, originator_version));
CREATE UNIQUE INDEX ON {SCHEMA}.events (notification_id);
CREATE TABLE {SCHEMA}.youth_keys (
    tenant char(4) NOT NULL, youth_id uuid NOT NULL, wrapped bytea NOT NULL, subject text,
    created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (tenant, youth_id));
CREATE INDEX ON {SCHEMA}.youth_keys (tenant, subject);
CREATE TABLE {SCHEMA}.pending (
    tenant char(4) NOT NULL, person uuid NOT NULL, due date NOT NULL,
    PRIMARY KEY (tenant, person));
CREATE TABLE {SCHEMA}.tracking (name text PRIMARY KEY, position bigint NOT NULL);
"""
UPSERT_PENDING = (
    "INSERT INTO bench_floor.pending SELECT '0180', unnest($1::uuid[]), current_date "
    "ON CONFLICT (tenant, person) DO UPDATE SET due = excluded.due"
)
TRACK = (
    "INSERT INTO bench_floor.tracking VALUES ('feed', $1) "
    "ON CONFLICT (name) DO UPDATE SET position = excluded.position"
)
EVENT_COLUMNS = ["originator_id", "originator_version", "topic", "state"]


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


async def write_floor(database_url: str, persons: int, pending: bool) -> float:
    """PostgreSQL's CPU seconds per 1,000 records for the least write set (module docstring)."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(TABLES)
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        ids = [uuid.uuid4() for _ in range(persons)]
        facts, decision, wrapped = os.urandom(900), os.urandom(900), os.urandom(60)
        before = backend_cpu(pid)
        for version in (0, 1):  # the school pass, then the population pass
            for start in range(0, persons, BATCH):
                chunk = ids[start : start + BATCH]
                async with conn.transaction():
                    events = [(p, version, "identify:PersonFacts", facts) for p in chunk]
                    if version == 1:
                        events += [(p, 2, "identify:YouthIdentified", decision) for p in chunk[::6]]
                        await conn.copy_records_to_table(
                            "youth_keys", schema_name=SCHEMA,
                            columns=["tenant", "youth_id", "wrapped", "subject"],
                            records=[("0180", p, wrapped, p.hex * 2) for p in chunk],
                        )  # fmt: skip
                    await conn.copy_records_to_table(
                        "events", schema_name=SCHEMA, columns=EVENT_COLUMNS, records=events
                    )
                    if pending:
                        await conn.execute(UPSERT_PENDING, chunk)
                    await conn.execute(TRACK, start + version * persons)
        return (backend_cpu(pid) - before) / (2 * persons) * 1000
    finally:
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        await conn.close()


async def intake_floor(deployment: Deployment, feeds: Any) -> dict[str, float]:
    """µs a record in this process: opening (keys held) and parsing, on identify's own code."""
    deliveries: list[Delivery] = []  # sealed, as identify reads them
    lines: list[Delivery] = []  # the same records as plain lines
    for topic, path in ((SS12000_FEED, feeds.ss12000), (POPULATION_FEED, feeds.population)):
        sealed = await deployment.feed_adapter.sealed(read_lines(path))
        deliveries += [
            Delivery(topic, 0, offset, key, value, ()) for offset, (key, value) in enumerate(sealed)
        ]
        lines += [Delivery(topic, 0, n, None, line, ()) for n, line in enumerate(read_lines(path))]
    conn = await asyncpg.connect(deployment.database_url)
    try:

        async def fetch(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
            return await stored_keys(conn, pairs)

        held = DataKeyCache(capacity=len(deliveries))  # every key held, whatever the size
        opener = FeedOpener(TenantKeys(deployment.master_key), fetch, held)
        batches = [deliveries[i : i + BATCH] for i in range(0, len(deliveries), BATCH)]
        for batch in batches:  # keys taken in once, as a running identify holds them
            await opener.open(batch)
        parsers = {
            SS12000_FEED: feed_parser(TypeAdapter(Ss12000FeedMessage), ["0180"]),
            POPULATION_FEED: feed_parser(TypeAdapter(PopulationFeedMessage), ["0180"]),
        }
        # A batch at a time, as identify takes them, with its collector threshold; what the run
        # holds (every record, sealed and plain) is kept out of the collector's walks, which
        # identify does not pay for.
        threshold = gc.get_threshold()
        tune_garbage_collector()
        gc.collect()
        gc.freeze()
        try:
            opening = parsing = plain = 0.0
            refused = 0
            for batch in batches:
                started = time.process_time()
                opened = await opener.open(batch)
                between = time.process_time()
                parsed = [parsers[d.topic](d) if isinstance(d, Delivery) else d for d in opened]
                parsing += time.process_time() - between
                opening += between - started
                refused += sum(isinstance(p, Rejected) for p in parsed)
            for batch in [lines[i : i + BATCH] for i in range(0, len(lines), BATCH)]:
                started = time.process_time()
                parsed = [parsers[d.topic](d) for d in batch]
                plain += time.process_time() - started
                refused += sum(isinstance(p, Rejected) for p in parsed)
        finally:
            gc.unfreeze()
            gc.set_threshold(*threshold)
    finally:
        await conn.close()
    if refused:
        raise SystemExit(f"bench floor: {refused} records refused; the floor would be wrong")
    return {
        "records": len(deliveries),
        "open_us_per_record": round(opening / len(deliveries) * 1e6, 2),
        "parse_us_per_record": round(parsing / len(deliveries) * 1e6, 2),
        "parse_plain_us_per_record": round(plain / len(lines) * 1e6, 2),
    }


def main() -> None:
    persons = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    infrastructure = Infrastructure(InfraSettings())
    infrastructure.up()
    deployment = Deployment(
        name="bench-floor",
        bootstrap_servers=infrastructure.bootstrap_servers(),
        admin_database_url=infrastructure.database_url(),
        logs_dir=infrastructure.settings.logs_dir / "bench",
        today=date.today(),
    )
    with tempfile.TemporaryDirectory() as tmp:
        print(f"generating {persons} persons ...", flush=True)
        feeds = generate(persons, "0180", seed=100_000, out=Path(tmp), today=date.today())
        lines = list(read_lines(feeds.ss12000)) + list(read_lines(feeds.population))
        asyncio.run(deployment.reset())
        try:
            print("opening and parsing ...", flush=True)
            intake = asyncio.run(intake_floor(deployment, feeds))
            print("PostgreSQL's least write set ...", flush=True)
            plain = asyncio.run(write_floor(deployment.database_url, persons, pending=False))
            upsert = asyncio.run(write_floor(deployment.database_url, persons, pending=True))
        finally:
            asyncio.run(deployment.drop())
    print(f"raw Kafka: {len(lines)} records produced and consumed ...", flush=True)
    kafka = asyncio.run(raw_kafka(infrastructure.bootstrap_servers(), lines))
    write_result(
        RESULTS,
        "floor",
        {
            "persons": persons,
            **intake,
            "postgres_cpu_seconds_per_1000_records": {
                "least_write_set": round(plain, 4),
                "with_pending_upsert": round(upsert, 4),
            },
            "raw_kafka_events_per_s": round(kafka, 1),
        },
    )


if __name__ == "__main__":
    main()
