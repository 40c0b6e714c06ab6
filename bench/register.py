"""Benchmark: rebuild the register from 1,000,000 events, and replay one municipality as of instants.

`./run bench register [EVENTS]` brings the infrastructure up and, on the same machine in one run:
(a) generates EVENTS integration events (default 1,000,000) with the platform's generator
    (`kaa/dev/synthetic.py`) over 40 municipalities, the first with 5,000 youths, and publishes them
    to a fresh namespace's event topics (keys go to the keyring);
(b) reads the same events raw from Kafka (aiokafka, no parsing, no database): events/s;
(c) rebuilds the register from the topics (`kaa register rebuild`'s code, in as many processes as
    it takes: `services/register/adapters/topics.py` `PROCESSES`): events/s, and the CPU seconds
    per 1,000 events of this process with those, PostgreSQL's backends and the Kafka broker;
(d) replays the 5,000-youth municipality as of several instants from the rebuilt register's archive
    (`kaa audit replay`'s code): seconds for each, the slowest reported; to the answer, as the
    service gives it to an inspector, the scratch register dropped after (before 2026-12-02 the
    figures included the drop, about 40 ms).
Writes bench/results/register.json. Figures are noisy on a shared machine: read the ratio.
"""

from __future__ import annotations

import asyncio
import os
import resource
import sys
import time
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.pipeline import _cpu_of, _parent_of, write_result
from kaa.deployment import Deployment
from kaa.dev.launcher import InfraSettings, Infrastructure
from kaa.dev.launcher.kafka import KafkaPaths
from kaa.dev.synthetic import KOMMUNKODER, generate
from services.register.adapters.database import create_pool, create_tables
from services.register.adapters.scratch import all_dropped
from services.register.commands.rebuild import rebuild
from services.register.commands.replay import replay
from shared.contracts.topics import EVENT_TOPICS
from shared.messaging import partitions_of, stop_consumer

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "register.json"
SCHEMA = "register"  # the rebuilt register the replays read (this deployment has no live one)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def kafka_pid(settings: InfraSettings) -> int | None:
    """The launcher's Kafka broker (the java process started with its config), if running."""
    config = str(KafkaPaths.of(settings).config).encode()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if config in handle.read():
                        return int(entry)
            except OSError:
                continue
    return None


def _own_cpu() -> float:
    """CPU seconds of this process, of the processes it started and waited for, and of those it
    started that still run, with the ones they waited for: a rebuild's reading processes
    (`topics.PROCESSES`) are forked from a fork server this process started, which lives on and
    waits for each of them as it ends (`rebuild_processes.reading_context`)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    total = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    me, session = os.getpid(), os.getsid(0)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                # Not the PostgreSQL and Kafka the launcher may have started from here: they run
                # in sessions of their own and are counted as themselves.
                if _parent_of(int(entry)) == me and os.getsid(int(entry)) == session:
                    total += _cpu_of(int(entry), children=True)[1]
            except (OSError, ValueError, IndexError):
                continue  # ended meanwhile
    return total


class CpuMeter:
    """CPU seconds a step costs each component: this process and the ones it starts (the rebuild
    runs in them), the PostgreSQL backends serving the deployment's database (sampled while the
    step runs, so a backend that ends is counted up to its last sample, at most `every` seconds
    short), and the
    Kafka broker (all its clients: other users of the machine's broker count too). Less noisy than
    wall time on a shared machine."""

    def __init__(self, database_url: str, kafka: int | None, every: float = 0.2) -> None:
        self.database_url, self.kafka, self.every = database_url, kafka, every
        self.backends: dict[int, tuple[float, float]] = {}  # pid: (first seen, last seen)

    async def _sample(self, conn: asyncpg.Connection) -> None:
        pids = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        for row in pids:
            try:
                seconds = _cpu_of(row["pid"])[1]
            except (OSError, ValueError, IndexError):
                continue
            first = self.backends.get(row["pid"], (seconds, seconds))[0]
            self.backends[row["pid"]] = (first, seconds)

    async def measure(self, step: Awaitable[Any]) -> tuple[Any, dict[str, float]]:
        """Run `step`; returns its result and the CPU seconds of each component."""
        conn = await asyncpg.connect(self.database_url)
        try:
            await self._sample(conn)
            self.backends = {pid: (last, last) for pid, (_, last) in self.backends.items()}
            bench, kafka = _own_cpu(), self._kafka()
            task = asyncio.ensure_future(step)
            while not task.done():
                await asyncio.wait([task], timeout=self.every)
                await self._sample(conn)
            result = task.result()
            used = {
                "bench": _own_cpu() - bench,
                "postgresql": sum(last - first for first, last in self.backends.values()),
                "kafka": self._kafka() - kafka,
            }
            return result, used
        finally:
            await conn.close()

    def _kafka(self) -> float:
        return _cpu_of(self.kafka)[1] if self.kafka is not None else float("nan")


async def publish(deployment: Deployment, events: list[Any]) -> float:
    producer = AIOKafkaProducer(
        bootstrap_servers=deployment.bootstrap_servers,
        enable_idempotence=True,
        acks="all",
        linger_ms=20,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    started = time.perf_counter()
    try:
        pending = []
        for n, event in enumerate(events):
            topic = f"{deployment.namespace}{event.topic}"
            pending.append(await producer.send(topic, value=event.to_bytes(), key=event.key()))
            if len(pending) >= 20000:
                await asyncio.gather(*pending)
                pending = []
                say(f"  published {n + 1}/{len(events)}")
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def store_keys(database_url: str, rows: list[tuple[str, uuid.UUID, bytes]]) -> None:
    pool = await create_pool(database_url, SCHEMA, min_size=1, max_size=1)
    try:
        await create_tables(pool, SCHEMA)  # creates the keyring too
        async with pool.acquire() as conn:
            await conn.copy_records_to_table(
                "youth_keys", schema_name="keyring", records=rows,
                columns=["tenant", "youth_id", "wrapped"],
            )  # fmt: skip
    finally:
        await pool.close()


async def raw_read(deployment: Deployment) -> tuple[int, float]:
    partitions = await partitions_of(
        deployment.bootstrap_servers, [f"{deployment.namespace}{t}" for t in EVENT_TOPICS]
    )
    consumer = AIOKafkaConsumer(
        bootstrap_servers=deployment.bootstrap_servers,
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        total = sum(ends.values())
        started = time.perf_counter()
        seen = 0
        while seen < total:
            for records in (await consumer.getmany(timeout_ms=1000, max_records=2000)).values():
                seen += len(records)
        return seen, time.perf_counter() - started
    finally:
        await stop_consumer(consumer)


async def run(deployment: Deployment, target: int, kafka: int | None = None) -> dict[str, Any]:
    say(f"generating {target} events over {len(KOMMUNKODER)} municipalities ...")
    started = time.perf_counter()
    generated = generate(target, deployment.master_key)
    say(f"  {len(generated.events)} events for {sum(generated.youths.values())} youths "
        f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
    await store_keys(deployment.database_url, generated.wrapped_keys)
    published_s = await publish(deployment, generated.events)
    say(f"  published in {published_s:.1f} s")
    events = len(generated.events)
    first_tenant = KOMMUNKODER[0]
    del generated

    say("raw Kafka read of the same events ...")
    seen, raw_s = await raw_read(deployment)
    assert seen == events, (seen, events)
    raw_rate = events / raw_s
    say(f"  {raw_rate:,.0f} events/s")

    say("rebuilding the register from the topics ...")
    shown = [-1]

    def progress(done: int, total: int) -> None:
        if done * 10 // total != shown[0]:
            shown[0] = done * 10 // total
            say(f"  {done}/{total}")

    started = time.perf_counter()
    result, cpu = await CpuMeter(deployment.database_url, kafka).measure(
        rebuild(
            deployment.bootstrap_servers, deployment.database_url, deployment.namespace,
            KOMMUNKODER, "register_rebuild", progress,
        )
    )  # fmt: skip
    rebuild_s = time.perf_counter() - started
    rebuild_rate = result.events / rebuild_s
    say(f"  {result.applied} applied in {rebuild_s:.1f} s: {rebuild_rate:,.0f} events/s")
    per_1000 = {part: round(seconds * 1000 / result.events, 4) for part, seconds in cpu.items()}
    say(f"  CPU seconds per 1,000 events: {per_1000}")
    conn = await asyncpg.connect(deployment.database_url)
    try:  # the rebuilt register becomes this deployment's register, whose archive replays read
        await conn.execute("ALTER SCHEMA register_rebuild RENAME TO register_built")
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        await conn.execute(f"ALTER SCHEMA register_built RENAME TO {SCHEMA}")
        youths = await conn.fetchval(
            f"SELECT count(*) FROM {SCHEMA}.youths WHERE tenant = $1",  # noqa: S608
            first_tenant,
        )
        tenant_events = await conn.fetchval(
            f"SELECT count(*) FROM {SCHEMA}.applied_events WHERE tenant = $1",  # noqa: S608
            first_tenant,
        )
    finally:
        await conn.close()

    say(f"replaying {first_tenant} ({youths} youths, {tenant_events} events) as of instants ...")
    replays = {}
    now = datetime.now(UTC)
    for instant in ("2025-06-30T23:59:59+02:00", "2025-12-31T23:59:59+01:00",
                    "2026-06-30T23:59:59+02:00", now.isoformat()):  # fmt: skip
        as_of = datetime.fromisoformat(instant)
        started = time.perf_counter()
        # As the service answers an inspector: the scratch register dropped after the answer.
        answer = await replay(deployment.database_url, first_tenant, as_of, now, answer_first=True)
        seconds = time.perf_counter() - started
        await all_dropped()
        replays[instant] = {
            "seconds": round(seconds, 3),
            "events": answer["events_recorded_by_then"],
            "youths": len(answer["youths"]),
        }
        say(f"  as of {instant}: {seconds:.2f} s ({answer['events_recorded_by_then']} events)")
    return {
        "events": events,
        "municipalities": len(KOMMUNKODER),
        "rebuild_events_per_s": round(rebuild_rate),
        "rebuild_processes": result.processes,
        "rebuild_seconds": round(rebuild_s, 1),
        "raw_kafka_events_per_s": round(raw_rate),
        "rebuild_to_raw_ratio": round(rebuild_rate / raw_rate, 3),
        "cpu_seconds_per_1000_events": per_1000,
        "replay_tenant": first_tenant,
        "replay_tenant_youths": youths,
        "replay_tenant_events": tenant_events,
        "replay_as_of_seconds": max(r["seconds"] for r in replays.values()),
        "replays": replays,
    }


def main() -> None:
    target = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    infrastructure = Infrastructure(InfraSettings())
    infrastructure.up()
    deployment = Deployment(
        name=f"bench-register-{uuid.uuid4().hex[:6]}",
        bootstrap_servers=infrastructure.bootstrap_servers(),
        admin_database_url=infrastructure.database_url(),
        logs_dir=infrastructure.settings.logs_dir / "bench",
        tenants=KOMMUNKODER,
    )
    asyncio.run(deployment.reset())
    try:
        figures = asyncio.run(run(deployment, target, kafka_pid(infrastructure.settings)))
    finally:
        asyncio.run(deployment.drop())
    write_result(RESULTS, "register", figures)


if __name__ == "__main__":
    main()
