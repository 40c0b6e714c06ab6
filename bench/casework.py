"""Benchmark: caseworkers at work against the running outreach service.

`./run bench casework [YOUTHS] [CLIENTS] [SECONDS]` (defaults 10,000, 50, 30): a population of
YOUTHS youths, all in scope, goes through identify into outreach (two outreach processes, one
per core here, the clients spread over them as by a load balancer; `KAA_BENCH_REPLICAS=N` runs
N); then CLIENTS concurrent clients
each loop over: record a contact attempt on a random youth, read a worklist page, call the
service's health endpoint (the baseline: the same app and HTTP stack doing nothing). Reported:
p50/p95/p99 latency per kind and requests/s over the run, and the CPU seconds each component
used per 1,000 requests (of all three kinds) in the measured window: each outreach process,
PostgreSQL (the backends of the benchmark's own database), Kafka (the launcher's broker, which
other work on the machine may share) and this process (the clients). Writes
bench/results/casework.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx

from bench.pipeline import _cpu_of, commit, cpu_seconds
from kaa.deployment import Deployment, free_port
from kaa.dev.launcher import InfraSettings, Infrastructure
from shared.contracts.topics import POPULATION_FEED
from shared.feed_adapter import publish
from shared.personnummer import generate

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "casework.json"
TODAY = date(2026, 3, 2)
WORKLISTS = ("first_contact", "recontact", "stale_occupation", "turning_20")


def population(youths: int, rng: random.Random) -> list[bytes]:
    """Youths of 16 to 19 living in 0180 and enrolled nowhere: all in scope on TODAY."""
    numbers: set[str] = set()
    while len(numbers) < youths:
        born = date(2006, 6, 1) + timedelta(days=rng.randrange(0, 3 * 365))
        numbers.add(generate(born, rng))
    return [
        json.dumps(
            {
                "feed": "population", "schema_version": 1, "record_id": str(uuid.uuid4()),
                "tenant": "0180", "observed_at": "2026-01-15T08:00:00Z",
                "record": {
                    "personnummer": number, "given_name": "B", "family_name": "C",
                    "kommunkod": "0180", "birth_date": f"{number[:4]}-{number[4:6]}-{number[6:8]}",
                    "change_type": "baseline", "effective_date": "2026-01-15",
                },
            }
        ).encode()
        for number in sorted(numbers)
    ]  # fmt: skip


@dataclass
class Timings:
    samples: dict[str, list[float]] = field(
        default_factory=lambda: {"command": [], "worklist": [], "health": []}
    )
    errors: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, seconds: float, status: int, expected: int) -> None:
        self.samples[kind].append(seconds * 1000)
        if status != expected:
            key = f"{kind}:{status}"
            self.errors[key] = self.errors.get(key, 0) + 1


class Connection:
    """A minimal keep-alive HTTP/1.1 client: the load generator shares the machine's two cores
    with the service, PostgreSQL and Kafka, and a general-purpose client library took more CPU
    than the service under test (measured), which would measure the client, not the service."""

    def __init__(self, url: str, token: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.headers = f"Host: {self.host}\r\nAuthorization: Bearer {token}\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes | None = None) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = f"{method} {path} HTTP/1.1\r\n{self.headers}"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(f"{head}\r\n".encode() + (body or b""))
        status = int((await self.reader.readline()).split()[1])
        length, chunked = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            elif name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            while size := int((await self.reader.readline()).strip(), 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readline()
        else:
            await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 2)


async def youth_ids(client: httpx.AsyncClient) -> list[str]:
    ids: list[str] = []
    while True:
        page = (
            await client.get(
                "/v1/worklists/first_contact", params={"limit": 500, "offset": len(ids)}
            )
        ).json()
        ids += [item["youth_id"] for item in page["items"]]
        if len(ids) >= page["total"] or not page["items"]:
            return ids


async def caseworker(
    connection: Connection, ids: list[str], until: float, timings: Timings, seed: int
) -> None:
    rng = random.Random(seed)
    while time.monotonic() < until:
        youth = rng.choice(ids)
        day = TODAY - timedelta(days=rng.randrange(0, 40))
        body = json.dumps(
            {
                "channel": rng.choice(["phone", "sms", "letter", "email"]),
                "outcome": rng.choice(["reached", "not_reached", "declined_contact"]),
                "attempted_at": f"{day.isoformat()}T10:00:00+01:00",
            }
        ).encode()
        started = time.perf_counter()
        status = await connection.request("POST", f"/v1/youths/{youth}/contact-attempts", body)
        timings.add("command", time.perf_counter() - started, status, 201)

        path = f"/v1/worklists/{rng.choice(WORKLISTS)}?limit=50&offset={rng.randrange(0, 200)}"
        started = time.perf_counter()
        status = await connection.request("GET", path)
        timings.add("worklist", time.perf_counter() - started, status, 200)

        started = time.perf_counter()
        status = await connection.request("GET", "/health")
        timings.add("health", time.perf_counter() - started, status, 200)


def component_cpu(services: dict[str, int], database: str, kafka_home: Path) -> dict[str, float]:
    """CPU seconds used so far by each service process and this one (`cpu_seconds`), PostgreSQL
    narrowed to the backends of this benchmark's database (other work on the machine has its
    own databases, even its own server) and Kafka to the launcher's broker."""
    out = {k: v for k, v in cpu_seconds(services).items() if k not in ("postgres", "kafka")}
    out["postgres"] = out["kafka"] = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            name, seconds = _cpu_of(int(entry))
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        if name == "postgres" and f" {database} " in command:
            out["postgres"] += seconds
        elif name == "java" and str(kafka_home) in command:
            out["kafka"] += seconds
    return out


_ACTIVITY = (
    "SELECT xact_commit + xact_rollback AS transactions, tup_returned AS rows_read, "
    "tup_fetched AS rows_fetched, tup_inserted + tup_updated + tup_deleted AS rows_written, "
    "blks_hit + blks_read AS blocks FROM pg_stat_database WHERE datname = $1"
)

_TABLES = (
    "SELECT schemaname || '.' || relname AS name, seq_tup_read, idx_tup_fetch "
    "FROM pg_stat_user_tables"
)


def database_activity(url: str, database: str) -> Callable[[], Awaitable[dict[str, float]]]:
    """What PostgreSQL did in the benchmark's database so far (`pg_stat_database`: its
    transactions, each statement outside one being one; rows read by scans and fetched; rows
    written; buffer blocks touched): beside its CPU, whether a change moved work into it."""

    async def read() -> dict[str, float]:
        await asyncio.sleep(1.1)  # a backend reports its counts at most once a second
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("SELECT pg_stat_clear_snapshot()")
            row = await conn.fetchrow(_ACTIVITY, database)
            tables = await conn.fetch(_TABLES)
        finally:
            await conn.close()
        counts = {k: float(v) for k, v in dict(row or {}).items()}
        for table in tables:
            for k in ("seq_tup_read", "idx_tup_fetch"):
                counts[f"{table['name']}.{k}"] = float(table[k] or 0)
        return counts

    return read


async def analyzed(url: str) -> None:
    """Statistics for the tables just filled, as a running register has them: without them the
    planner took a worklist page for a scan of every case (about 3,000 index fetches a worklist
    request, ~1M per 1,000 requests against ~30k, and three times PostgreSQL's CPU) until
    autovacuum, once a minute at most, happened to analyse the cases during the run."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def per_thousand(
    before: dict[str, float], after: dict[str, float], requests: int
) -> dict[str, float]:
    """CPU seconds per 1,000 requests of each component between two `component_cpu` readings."""
    used = {k: (after[k] - before.get(k, 0.0)) * 1000 / max(requests, 1) for k in after}
    return {**{k: round(v, 3) for k, v in used.items()}, "total": round(sum(used.values()), 3)}


async def load(
    base_urls: list[str],
    token: str,
    clients: int,
    seconds: float,
    cpu: Callable[[], dict[str, float]] = dict,
    activity: Callable[[], Awaitable[dict[str, float]]] | None = None,
) -> tuple[Timings, float, dict[str, float], dict[str, float], dict[str, float]]:
    """Each simulated caseworker has a connection of its own; with several outreach processes
    the caseworkers are spread over them, as a load balancer would. Returns the timings, the
    seconds measured, the `cpu()` readings at the start and the end of the measured run and
    what `activity()` counted in between (read just before and just after it)."""
    async with httpx.AsyncClient(
        base_url=base_urls[0], headers={"Authorization": f"Bearer {token}"}, timeout=30.0
    ) as first:
        ids = await youth_ids(first)
    print(f"{len(ids)} youths on the first-contact list; {clients} clients for {seconds:.0f} s")
    workers = [Connection(base_urls[n % len(base_urls)], token) for n in range(clients)]
    try:
        # Warm-up: connections opened, caches filled; not measured.
        warm_until = time.monotonic() + 2
        await asyncio.gather(
            *(caseworker(c, ids, warm_until, Timings(), n) for n, c in enumerate(workers))
        )
        timings = Timings()
        counted_before = await activity() if activity is not None else {}
        cpu_before = cpu()
        started = time.monotonic()
        await asyncio.gather(
            *(
                caseworker(c, ids, started + seconds, timings, 1000 + n)
                for n, c in enumerate(workers)
            )
        )
        elapsed = time.monotonic() - started
        cpu_after = cpu()
        counted = await activity() if activity is not None else {}
        done = {k: v - counted_before.get(k, 0.0) for k, v in counted.items()}
        return timings, elapsed, cpu_before, cpu_after, done
    finally:
        await asyncio.gather(*(c.close() for c in workers))


def main() -> None:
    youths = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 30.0
    infrastructure = Infrastructure(InfraSettings())
    infrastructure.up()
    deployment = Deployment(
        name="bench-casework",
        bootstrap_servers=infrastructure.bootstrap_servers(),
        admin_database_url=infrastructure.database_url(),
        logs_dir=infrastructure.settings.logs_dir / "bench",
        today=TODAY,
        feed_sources=("population",),  # its youths come from the population feed alone
    )
    lines = population(youths, random.Random(2026))
    asyncio.run(deployment.reset())
    records = asyncio.run(deployment.feed_adapter.sealed(lines))
    platform = deployment.start(dict(os.environ), names=["identify", "outreach"])
    replicas = int(os.environ.get("KAA_BENCH_REPLICAS", "2"))
    urls = [platform.url("outreach")]
    for _ in range(replicas - 1):
        urls.append(platform.url(platform.add_replica("outreach", free_port())))
    try:
        print(f"identifying {youths} youths ...", flush=True)
        asyncio.run(
            publish(
                records,
                f"{deployment.namespace}{POPULATION_FEED}",
                deployment.bootstrap_servers,
                source="population",
            )
        )
        asyncio.run(deployment.drained(max_wait=300))
        asyncio.run(analyzed(deployment.database_url))
        pids = {k: p.process.pid for k, p in platform.processes.items() if p.process is not None}
        home = infrastructure.settings.home
        timings, elapsed, cpu_before, cpu_after, database = asyncio.run(
            load(urls, deployment.token("0180", "caseworker"), clients, seconds,
                 lambda: component_cpu(pids, deployment.database, home),
                 database_activity(deployment.database_url, deployment.database))
        )  # fmt: skip
    finally:
        deployment.stop()
        asyncio.run(deployment.drop())
    total = sum(len(v) for v in timings.samples.values())
    result = {
        "benchmark": "casework",
        "youths_in_scope": youths,
        "clients": clients,
        "outreach_processes": replicas,
        "seconds": round(elapsed, 1),
        **{
            f"{kind}_p{p}_ms": percentile(timings.samples[kind], p)
            for kind in ("command", "worklist", "health")
            for p in (50, 95, 99)
        },
        "requests_per_s": round(total / elapsed, 1),
        "commands_per_s": round(len(timings.samples["command"]) / elapsed, 1),
        "worklist_reads_per_s": round(len(timings.samples["worklist"]) / elapsed, 1),
        "health_per_s": round(len(timings.samples["health"]) / elapsed, 1),
        "command_mean_ms": round(statistics.fmean(timings.samples["command"]), 2),
        "errors": timings.errors,
        # Per 1,000 requests of all three kinds (a caseworker's loop is three requests).
        "cpu_seconds_per_1000_requests": per_thousand(cpu_before, cpu_after, total),
        # What PostgreSQL did per 1,000 requests in the benchmark's database (`database_activity`).
        "postgres_per_1000_requests": {
            k: round(v * 1000 / max(total, 1), 1) for k, v in database.items() if v
        },
        "cores": os.cpu_count(),
        "commit": commit(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    # The configuration writes casework.json; others get a file of their own.
    default = (youths, clients, replicas) == (10_000, 50, 2)
    out = (
        RESULTS if default else RESULTS.with_name(f"casework-{youths}y-{clients}c-{replicas}p.json")
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
