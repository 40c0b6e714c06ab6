"""Benchmark: the identify service ingesting a large municipality's baseline.

`./run bench identify [PERSONS]` (default 100,000): population + SS 12000 records of one
municipality go through the running identify service: two processes in one consumer group by
default (one per core here; `KAA_BENCH_REPLICAS=N` runs N); measured in one run:
persons/s until the last YouthIdentified is on Kafka, the CPU seconds per 1,000 records of each
component (identify, PostgreSQL, Kafka, this process publishing; PostgreSQL also as the backends
serving the benchmark's database alone, `postgres_own_backends`), and the raw aiokafka
produce+consume rate of the same records as the baseline. Writes bench/results/identify.json.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import psycopg
from aiokafka import AIOKafkaConsumer

from bench.pipeline import cpu_seconds, per_thousand, raw_kafka, used, write_result
from kaa.deployment import Deployment, free_port
from kaa.dev.launcher import InfraSettings, Infrastructure
from kaa.dev.synthetic_feeds import generate
from kaa.supervisor import consumer_lag
from shared.contracts.topics import IDENTIFY_EVENTS, POPULATION_FEED, SS12000_FEED
from shared.feed_adapter import publish, read_lines
from shared.messaging import partitions_of, stop_consumer

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "identify.json"


async def last_event_time(bootstrap: str, topic: str) -> tuple[int, float]:
    """How many events the topic holds and the broker time (s) of the newest one."""
    partitions = await partitions_of(bootstrap, [topic])
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
        newest = 0.0
        consumer.assign(partitions)
        for tp in partitions:
            if ends[tp]:
                consumer.seek(tp, ends[tp] - 1)
        for records in (await consumer.getmany(timeout_ms=3000)).values():
            newest = max([newest, *(r.timestamp / 1000 for r in records)])
        return sum(ends.values()), newest
    finally:
        await stop_consumer(consumer)


def own_backends(admin_url: str, database: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving `database`, by process id: the
    launcher's server also serves other work, which its postmaster's total counts. A lower bound:
    a backend that ends between two readings is missed (identify's pools keep theirs), and so is
    the server's own writing of the WAL and checkpoints."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        pids = [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,))]  # fmt: skip
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        out[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return out


async def wait_for_identify(deployment: Deployment, settle: float = 2.0) -> None:
    """Until identify has consumed every feed record and its event topic stopped growing."""
    topic = f"{deployment.namespace}{IDENTIFY_EVENTS}"
    previous, calm_since = -1, time.monotonic()
    while True:
        lag = await consumer_lag(deployment.bootstrap_servers, deployment.namespace, ["identify"])
        count, _ = await last_event_time(deployment.bootstrap_servers, topic)
        if lag or count != previous:
            previous, calm_since = count, time.monotonic()
        elif time.monotonic() - calm_since >= settle:
            return
        await asyncio.sleep(0.5)


def main() -> None:
    persons = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    infrastructure = Infrastructure(InfraSettings())
    infrastructure.up()
    today = date.today()
    deployment = Deployment(
        name="bench-identify",
        bootstrap_servers=infrastructure.bootstrap_servers(),
        admin_database_url=infrastructure.database_url(),
        logs_dir=infrastructure.settings.logs_dir / "bench",
        today=today,
        batch_size=int(os.environ.get("KAA_BENCH_BATCH", "500")),
    )
    with tempfile.TemporaryDirectory() as tmp:
        print(f"generating {persons} persons ...", flush=True)
        feeds = generate(persons, "0180", seed=100_000, out=Path(tmp), today=today)
        lines = list(read_lines(feeds.ss12000)) + list(read_lines(feeds.population))
        # The feed adapter's side: records sealed (and keyed) before the clock starts.
        asyncio.run(deployment.reset())
        school = asyncio.run(deployment.feed_adapter.sealed(read_lines(feeds.ss12000)))
        population = asyncio.run(deployment.feed_adapter.sealed(read_lines(feeds.population)))
        platform = deployment.start(dict(os.environ), names=["identify"])
        replicas = int(os.environ.get("KAA_BENCH_REPLICAS", "2"))
        for _ in range(replicas - 1):
            platform.add_replica("identify", free_port())
        # Keyed by process (`identify`, `identify-2`): both replicas are named identify.
        pids = {k: p.process.pid for k, p in platform.processes.items() if p.process}
        try:
            print(f"identify ingesting {len(lines)} records ...", flush=True)
            cpu_before = cpu_seconds(pids)
            backends_before = own_backends(deployment.admin_database_url, deployment.database)
            started = time.time()
            asyncio.run(
                publish(
                    school,
                    f"{deployment.namespace}{SS12000_FEED}",
                    deployment.bootstrap_servers,
                    source="ss12000",
                )
            )
            asyncio.run(
                publish(
                    population,
                    f"{deployment.namespace}{POPULATION_FEED}",
                    deployment.bootstrap_servers,
                    source="population",
                )
            )
            published = time.time()
            asyncio.run(wait_for_identify(deployment))
            cpu_after = cpu_seconds(pids)
            backends_after = own_backends(deployment.admin_database_url, deployment.database)
            events, newest = asyncio.run(
                last_event_time(
                    deployment.bootstrap_servers, f"{deployment.namespace}{IDENTIFY_EVENTS}"
                )
            )
        finally:
            deployment.stop()
            asyncio.run(deployment.drop())
    seconds = newest - started
    print(f"raw Kafka: {len(lines)} records produced and consumed ...", flush=True)
    kafka = asyncio.run(raw_kafka(infrastructure.bootstrap_servers(), lines))
    result = {
        "persons": persons,
        "identify_processes": replicas,
        "records": len(lines),
        "persons_per_s": round(persons / seconds, 1),
        "records_per_s": round(len(lines) / seconds, 1),
        "seconds_to_last_event": round(seconds, 2),
        "publish_seconds": round(published - started, 2),
        "identify_events": events,
        "raw_kafka_events_per_s": round(kafka, 1),
        "ratio_records_to_raw_kafka": round(len(lines) / seconds / kafka, 4),
        "cpu_seconds_per_1000_records": {
            **per_thousand(used(cpu_before, cpu_after), len(lines)),
            # Only the backends serving the benchmark's database (others' work excluded).
            "postgres_own_backends": round(
                sum(s - backends_before.get(p, 0.0) for p, s in backends_after.items())
                / len(lines)
                * 1000,
                3,
            ),
        },
    }
    write_result(RESULTS, "identify", result)


if __name__ == "__main__":
    main()
