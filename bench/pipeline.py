"""Benchmark: end-to-end pipeline throughput against raw Kafka and raw PostgreSQL, in one run.

`./run bench pipeline [N]` brings the infrastructure up, then measures on the same machine:
(a) end to end: N generated youths' feed records published to the feed topics until the register's
    tables hold the result (four services as separate processes), records/s, and the CPU seconds
    per 1,000 records of each component; the records are sealed by the feed adapter before the
    clock starts (it runs where the upstream files arrive, not on the platform's cores);
(b) raw aiokafka: the same records produced (idempotent, acks=all) and consumed back, records/s;
(c) raw asyncpg: the same number of rows inserted in batches of 500 per transaction, rows/s.
Writes bench/results/pipeline.json. Figures are noisy on a shared machine: read the ratio.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from kaa.deployment import Deployment
from kaa.dev.launcher import InfraSettings, Infrastructure
from kaa.dev.synthetic_feeds import generate
from shared.contracts.topics import FEED_BY_NAME
from shared.feed_adapter import keyed_lines, publish, read_lines
from shared.infra.kafka_admin import TopicSpec, delete_topics, ensure_topics
from shared.infra.settings import kaa_home
from shared.messaging import stop_consumer

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "pipeline.json"


def write_result(path: Path, benchmark: str, figures: dict[str, Any]) -> None:
    """Write a benchmark's figures with when, where and from which commit they were measured."""
    result = {
        "benchmark": benchmark,
        "commit": commit(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpu_count": os.cpu_count(),
        **figures,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def commit() -> str:
    result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return result.stdout.strip() or "unknown"


async def raw_kafka(bootstrap: str, lines: list[bytes]) -> float:
    topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, [TopicSpec(topic, partitions=3)])
    try:
        started = time.perf_counter()
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=5
        )
        await producer.start()
        try:
            futures = [
                await producer.send(topic, value=line, key=str(n % 1000).encode())
                for n, line in enumerate(lines)
            ]
            for future in futures:
                await future
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=f"{topic}.g",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            max_poll_records=500,
        )
        await consumer.start()
        try:
            seen = 0
            while seen < len(lines):
                for records in (await consumer.getmany(timeout_ms=1000, max_records=500)).values():
                    seen += len(records)
        finally:
            await stop_consumer(consumer)
        return len(lines) / (time.perf_counter() - started)
    finally:
        await delete_topics(bootstrap, [topic])


async def raw_postgres(database_url: str, rows: int) -> float:
    conn = await asyncpg.connect(database_url)
    table = f"bench_raw_{uuid.uuid4().hex[:8]}"
    try:
        await conn.execute(
            f"CREATE TABLE {table} (id uuid PRIMARY KEY, tenant char(4), payload text)"
        )
        started = time.perf_counter()
        for start in range(0, rows, 500):
            async with conn.transaction():
                await conn.executemany(
                    f"INSERT INTO {table} (id, tenant, payload) VALUES ($1, $2, $3)",  # noqa: S608
                    [
                        (uuid.uuid4(), "0180", "x" * 200)
                        for _ in range(start, min(rows, start + 500))
                    ],
                )
        return rows / (time.perf_counter() - started)
    finally:
        await conn.execute(f"DROP TABLE IF EXISTS {table}")
        await conn.close()


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_of(pid: int, children: bool = False) -> tuple[str, float]:
    """(command name, CPU seconds) of a process, with its waited-for children's if asked."""
    with open(f"/proc/{pid}/stat") as handle:
        stat = handle.read()
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return name, ticks / CLOCK_TICKS


def _parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as handle:
        stat = handle.read()
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def _launched() -> set[int]:
    """The pids of the PostgreSQL and Kafka the launcher started (`$KAA_HOME/infra.json`): on a
    machine running other servers too (a CI run, a second checkout), only these are counted."""
    try:
        state = json.loads((kaa_home() / "infra.json").read_text())
    except (OSError, ValueError):
        return set()
    return {int(v) for v in state.get("pids", {}).values() if isinstance(v, int)}


def _ours(pid: int, roots: set[int]) -> bool:
    """Whether `pid` is one of `roots` or descends from one (every one counts when none known)."""
    if not roots:
        return True
    for _ in range(8):  # a backend's parent is the postmaster; nothing here nests deeper
        if pid in roots:
            return True
        if pid <= 1:
            return False
        pid = _parent_of(pid)
    return False


def cpu_seconds(services: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each service process, PostgreSQL (the postmaster with the
    backends it has reaped, and the live ones), Kafka (java) and this process (the feed adapter).
    Less noisy than wall time on a shared machine: a run's cost, not its luck."""
    out: dict[str, float] = {"bench": time.process_time()}
    for service, pid in services.items():
        out[service] = out.get(service, 0.0) + _cpu_of(pid)[1]
    roots = _launched()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            name, seconds = _cpu_of(int(entry), children=True)
            group = {"postgres": "postgres", "java": "kafka"}.get(name)
            if group is None or not _ours(int(entry), roots):
                continue
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        out[group] = out.get(group, 0.0) + seconds
    return out


def end_to_end(
    infrastructure: Infrastructure,
    youths: int,
    workdir: Path,
    extra_env: dict[str, str] | None = None,
    name: str = "bench-pipeline",
    seal_feeds: bool = True,
) -> dict[str, Any]:
    """Feeds published through the feed adapter (records sealed at intake, inside the clock), or
    with `seal_feeds=False` as plain keyed lines that identify is told to accept (a baseline)."""
    today = date.today()
    deployment = Deployment(
        name=name,
        bootstrap_servers=infrastructure.bootstrap_servers(),
        admin_database_url=infrastructure.database_url(),
        logs_dir=infrastructure.settings.logs_dir / "bench",
        batch_size=int(os.environ.get("KAA_BENCH_BATCH", "500")),
        today=today,
    )
    feeds = generate(youths, "0180", seed=20000, out=workdir, today=today)
    records = feeds.population_records + feeds.ss12000_records
    asyncio.run(deployment.reset())
    # The feed adapter runs where the upstream files arrive, not on the platform's cores: its
    # sealing (for the plain baseline, its keying) is done before the clock starts.
    prepared = {
        feed: asyncio.run(deployment.feed_adapter.sealed(read_lines(path)))
        if seal_feeds
        else keyed_lines(path, deployment.pseudonym_key)
        for feed, path in (("ss12000", feeds.ss12000), ("population", feeds.population))
    }
    plain = {} if seal_feeds else {"KAA_FEED_PLAINTEXT": "accept"}
    platform = deployment.start(dict(os.environ) | (extra_env or {}) | plain)
    pids = {p.name: p.process.pid for p in platform.processes.values() if p.process is not None}
    try:
        cpu_before = cpu_seconds(pids)
        started = time.monotonic()
        for feed, lines in prepared.items():
            topic = f"{deployment.namespace}{FEED_BY_NAME[feed]}"
            asyncio.run(publish(lines, topic, deployment.bootstrap_servers, source=feed))
        published = time.monotonic()
        drained_at = asyncio.run(deployment.drained(max_wait=1800))
        cpu_after = cpu_seconds(pids)
        with deployment.client("register", "0180", "caseworker") as register:
            summary = register.get("/v1/summary").json()
    finally:
        deployment.stop()
        asyncio.run(deployment.drop())
    seconds = drained_at - started
    return {
        "records": records,
        "seconds": seconds,
        "publish_seconds": published - started,
        "events_per_s": records / seconds,
        "register_youths": summary["known"],
        "register_in_scope": summary["in_scope"],
        "cpu_seconds": {k: round(v - cpu_before.get(k, 0.0), 2) for k, v in cpu_after.items()},
    }


def used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds used between two `cpu_seconds` readings per component, a service's replicas
    counted together (processes keyed `identify`, `identify-2`, … count as `identify`)."""
    out: dict[str, float] = {}
    for key, value in after.items():
        part = key.split("-")[0]
        out[part] = out.get(part, 0.0) + value - before.get(key, 0.0)
    return out


def per_thousand(cpu: dict[str, float], count: int) -> dict[str, float]:
    """CPU seconds per 1,000 records (or events, persons) per component: a run's cost, which a
    noisy machine changes less than its speed, so figures from different machines compare."""
    return {part: round(seconds * 1000 / count, 3) for part, seconds in sorted(cpu.items())}


def main() -> None:
    youths = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    infrastructure = Infrastructure(InfraSettings())
    infrastructure.up()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        print(f"end to end: {youths} youths through four services ...", flush=True)
        e2e = end_to_end(infrastructure, youths, workdir)
        lines = list(read_lines(workdir / "population.jsonl")) + list(
            read_lines(workdir / "ss12000.jsonl")
        )
    print(f"raw Kafka: {len(lines)} records produced and consumed ...", flush=True)
    kafka = asyncio.run(raw_kafka(infrastructure.bootstrap_servers(), lines))
    print(f"raw PostgreSQL: {len(lines)} rows inserted ...", flush=True)
    postgres = asyncio.run(raw_postgres(infrastructure.database_url(), len(lines)))
    result = {
        "youths": youths,
        "records": e2e["records"],
        "end_to_end_events_per_s": round(e2e["events_per_s"], 1),
        "raw_kafka_events_per_s": round(kafka, 1),
        "raw_postgres_rows_per_s": round(postgres, 1),
        "ratio": round(e2e["events_per_s"] / min(kafka, postgres), 4),
        "end_to_end_seconds": round(e2e["seconds"], 2),
        "register_youths": e2e["register_youths"],
        "register_in_scope": e2e["register_in_scope"],
        "cpu_seconds_per_1000_records": per_thousand(e2e["cpu_seconds"], e2e["records"]),
        "feeds_sealed_before_the_clock": True,
    }
    write_result(RESULTS, "pipeline", result)


if __name__ == "__main__":
    main()
