"""Benchmark: the whole country, loaded from empty through the real services.

`./run bench national [PERSONS ...]` (default 50,000 150,000 500,000): for each size a synthetic
country (`kaa.dev.country`: the 290 municipalities, persons of 15–20 years, SS 12000 for all, a
month of daily changes and school notifications) goes into a fresh deployment of the four
services, and the run reports:

- the seconds to a consistent register: from the first feed record published until every
  service's consumer group has drained and the register holds, in every municipality, exactly the
  youths in scope that the input implies (the generator counts them; the register is counted,
  not trusted to have caught up): the feeds first, then the school notifications over HTTP;
- the peak resident memory (VmHWM) of each service process, PostgreSQL's database size and the
  size of Kafka's logs of the deployment's topics;
- the feed records identify dead-lettered (none is right: each is a fact a person never got);
  when the register stays inconsistent, a file in the run's private directory (kept, its path
  on the console) names the persons who differ by pseudonymous ids and explains a few
  (`kaa.dev.country_check`);
- the cost curve: seconds per 10,000 persons at each size, and CPU seconds per 1,000 persons of
  each component (each service, PostgreSQL, Kafka, this process: the notifications' client);
- then, at one size (`KAA_BENCH_REPLICAS_SIZE`, default the first), the same run with two
  identify and two register processes in their consumer groups: the speed-up over one
  (`KAA_BENCH_REPLICAS=0` skips it).

The feed adapter's sealing is done before the clock starts, into a file (never the whole
country in a list). Writes bench/results/national.json, with the sizes that failed and why (a
register that stays inconsistent, a service process past `KAA_BENCH_RSS_LIMIT_MB`, default 8 GiB,
stopped before the shared machine runs out of memory). Tiny sizes work (`./run bench national
2000`). PostgreSQL and Kafka are shared with the rest of the machine: their CPU seconds count
what else ran meanwhile.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from aiokafka import AIOKafkaProducer

from bench.pipeline import cpu_seconds, per_thousand, used, write_result
from kaa.deployment import Deployment, free_port
from kaa.dev import country_check
from kaa.dev.country import KOMMUNKODER, Country, generate_country
from kaa.dev.launcher import InfraSettings, Infrastructure
from kaa.dev.launcher.kafka import KafkaPaths
from kaa.supervisor import SERVICES, lag_by_partition
from shared.contracts.topics import FEED_BY_NAME
from shared.feed_adapter import publish, publish_watermarks

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "national.json"
SIZES = (50_000, 150_000, 500_000)
SEAL_CHUNK = 20_000  # lines sealed per call of the feed adapter
PUBLISH_CHUNK = 100_000  # records per producer run (a progress line after each)
NOTIFYING = 8  # school notifications in flight at once
# The environment the figures depend on, written with them (the services read KAA_*).
SETTINGS = ("KAA_BENCH_BATCH", "KAA_SCHEDULE_INTERVAL", "KAA_BENCH_REPLICAS")
# A service process past this is stopped, the run reported failed: the target is 1 GiB, and the
# machine (shared with the infrastructure and others) must not run out of memory.
RSS_LIMIT_MB = int(os.environ.get("KAA_BENCH_RSS_LIMIT_MB", "8192"))
STUCK = 120.0  # seconds drained with the register's counts unchanged and wrong: a failure


class Inconsistent(RuntimeError):
    """Drained, and the register's counts stay other than the country implies."""

    def __init__(self, text: str, tenants: list[str]) -> None:
        super().__init__(text)
        self.tenants = tenants


def say(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {text}", flush=True)


# -- the feed adapter's side, before the clock -------------------------------------------------


def _lines(files: list[Path]) -> Iterator[bytes]:
    for path in files:
        with path.open("rb") as handle:
            for line in handle:
                if line.strip():
                    yield line.rstrip(b"\r\n")


async def seal_to_file(
    deployment: Deployment, files: list[Path], out: Path
) -> tuple[int, dict[str, datetime]]:
    """Seal every line of `files` (in order) with the feed adapter into `out`, one
    `key<TAB>value` a line; returns how many and each municipality's latest `observed_at`."""
    latest: dict[str, datetime] = {}
    count = 0
    lines = _lines(files)
    with out.open("wb") as sealed:
        while chunk := list(itertools.islice(lines, SEAL_CHUNK)):
            for line in chunk:
                data = orjson.loads(line)
                at = datetime.fromisoformat(data["observed_at"])
                if data["tenant"] not in latest or at > latest[data["tenant"]]:
                    latest[data["tenant"]] = at
            for key, value in await deployment.feed_adapter.sealed(chunk):
                sealed.write((key or b"") + b"\t" + value + b"\n")
            count += len(chunk)
            if count % (SEAL_CHUNK * 10) == 0:
                say(f"  sealed {count} records of {out.stem}")
    return count, latest


def _sealed_records(path: Path) -> Iterator[tuple[bytes | None, bytes]]:
    with path.open("rb") as handle:
        for line in handle:
            key, _, value = line.rstrip(b"\n").partition(b"\t")
            yield key or None, value


async def publish_sealed(
    deployment: Deployment, feed: str, path: Path, latest: dict[str, datetime], total: int
) -> None:
    """The sealed records in order, then the source's watermarks: the delivery is complete for
    every municipality up to its latest record (one whose youths had no record in it too, or
    its persons would wait a day for this source)."""
    topic = f"{deployment.namespace}{FEED_BY_NAME[feed]}"
    records, sent = _sealed_records(path), 0
    while chunk := list(itertools.islice(records, PUBLISH_CHUNK)):
        sent += await publish(chunk, topic, deployment.bootstrap_servers)
        say(f"  published {sent}/{total} {feed} records")
    producer = AIOKafkaProducer(
        bootstrap_servers=deployment.bootstrap_servers, enable_idempotence=True, acks="all"
    )
    await producer.start()
    try:
        newest = max(latest.values())
        await publish_watermarks(producer, topic, feed, dict.fromkeys(KOMMUNKODER, newest))
    finally:
        await producer.stop()


# -- waiting, counting, measuring -------------------------------------------------------------


async def in_scope_counts(database_url: str) -> dict[str, int]:
    """The register's youths in scope per municipality (none registered in error here)."""
    conn = await asyncpg.connect(database_url)
    try:
        if not await conn.fetchval("SELECT to_regclass('register.youths') IS NOT NULL"):
            return {}
        rows = await conn.fetch(
            "SELECT tenant, count(*) AS n FROM register.youths"
            " WHERE status = 'in_scope' GROUP BY tenant"
        )
        return {row["tenant"]: int(row["n"]) for row in rows}
    finally:
        await conn.close()


def _differences(expected: dict[str, int], counted: dict[str, int]) -> dict[str, list[int]]:
    return {
        tenant: [n, counted.get(tenant, 0)]
        for tenant, n in expected.items()
        if counted.get(tenant, 0) != n
    } | {tenant: [0, n] for tenant, n in counted.items() if tenant not in expected}


async def consistent(
    deployment: Deployment, expected: dict[str, int], started: float, max_wait: float
) -> float:
    """Until every consumer group has drained (identify has nothing it could decide) and the
    register holds the expected youths in scope in every municipality; returns when (monotonic).
    A progress line every 10 s; on timeout, what differs."""
    want = sum(expected.values())
    services = sorted({p.name for p in deployment.platform.processes.values()} & set(SERVICES))  # type: ignore[union-attr]

    pids = {k: p.process.pid for k, p in deployment.platform.processes.items() if p.process}  # type: ignore[union-attr]
    main = asyncio.current_task()
    too_big: list[str] = []

    async def progress() -> None:
        while True:
            await asyncio.sleep(10)
            rss = {key: resident_mb(pid) for key, pid in pids.items()}
            too_big.extend(f"{k} {mb:.0f} MB" for k, mb in rss.items() if mb > RSS_LIMIT_MB)
            if too_big and main is not None:
                main.cancel()  # before the machine runs out of memory (others use it too)
                return
            lag = await lag_by_partition(
                deployment.bootstrap_servers, deployment.namespace, services
            )
            by_service: dict[str, int] = {}
            for where, behind in lag.items():
                by_service[where.split()[0]] = by_service.get(where.split()[0], 0) + behind
            counted = sum((await in_scope_counts(deployment.database_url)).values())
            say(f"  draining ({time.monotonic() - started:.0f} s): lag {by_service or 0}, "
                f"identify waiting about {await waiting(deployment, exact=False)}, "
                f"register in scope {counted}/{want}, largest process "
                f"{max(rss, key=rss.__getitem__)} {max(rss.values()):.0f} MB")  # fmt: skip

    reporter = asyncio.create_task(progress())
    deadline = time.monotonic() + max_wait
    last, same_since = None, time.monotonic()
    try:
        while True:
            calm = await deployment.drained(max_wait=max(1.0, deadline - time.monotonic()))
            counted = await in_scope_counts(deployment.database_url)
            differences = _differences(expected, counted)
            if not differences and not await waiting(deployment):
                return calm
            if counted != last:
                last, same_since = counted, time.monotonic()
            # Drained and nothing changes: no more is coming (a person waiting for a source).
            if time.monotonic() > min(deadline, same_since + STUCK):
                raise Inconsistent(
                    f"the register is not consistent: drained, identify waiting for "
                    f"{await waiting(deployment)} persons; (expected, counted) in scope per "
                    f"municipality where they differ: {differences}",
                    sorted(differences),
                )
            await asyncio.sleep(1.0)
    except asyncio.CancelledError:
        if not too_big:
            raise
        raise RuntimeError(
            f"stopped: a service process grew past {RSS_LIMIT_MB} MB resident "
            f"(KAA_BENCH_RSS_LIMIT_MB): {', '.join(too_big)}"
        ) from None
    finally:
        reporter.cancel()


async def waiting(deployment: Deployment, *, exact: bool = True) -> int:
    """Pending rows identify holds until their sources are complete (or the settle window ends).
    `exact=False`: about as many, from PostgreSQL's statistics, for the progress line: counting
    them every 10 s read the whole table each time, 17.8 s of PostgreSQL's time in a
    500,000-person run (`pg_stat_statements`), charged to the platform's CPU per person."""
    conn = await asyncpg.connect(deployment.database_url)
    try:
        if not exact:
            found = await conn.fetchval(
                "SELECT n_live_tup FROM pg_stat_user_tables "
                "WHERE schemaname = 'identify' AND relname = 'scope_pending'"
            )
            return int(found or 0)
        if not await conn.fetchval("SELECT to_regclass('identify.scope_pending') IS NOT NULL"):
            return 0
        return int(await conn.fetchval("SELECT count(*) FROM identify.scope_pending"))
    finally:
        await conn.close()


async def notify(deployment: Deployment, country: Country) -> int:
    """Post every school notification to identify, NOTIFYING at a time; returns how many."""
    assert deployment.platform is not None
    url = f"{deployment.platform.url('identify')}/v1/school-notifications"
    tokens = {t: deployment.token(t, "school-reporter") for t in KOMMUNKODER}
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    with country.notifications_file.open("rb") as handle:
        for line in handle:
            queue.put_nowait(orjson.loads(line))

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            item = queue.get_nowait()
            token = tokens[item["tenant"]]
            response = await client.post(
                url, json=item["body"], headers={"Authorization": f"Bearer {token}"}
            )
            if response.status_code != 202:
                raise RuntimeError(f"a school notification was refused: {response.status_code}")

    async with httpx.AsyncClient(timeout=60.0) as client:
        await asyncio.gather(*(worker(client) for _ in range(NOTIFYING)))
    return country.notifications


def peak_rss_mb(pid: int, field: str = "VmHWM") -> float:
    """VmHWM: the most resident memory the process ever had (VmRSS: what it has now)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass  # gone
    return 0.0


def resident_mb(pid: int) -> float:
    return peak_rss_mb(pid, "VmRSS")


def kafka_mb(settings: InfraSettings, namespace: str) -> float:
    """Bytes of the log segments of the deployment's topics, on the brokers' disks."""
    total = 0
    for node in range(1, settings.kafka_brokers + 1):
        data = KafkaPaths.of(settings, node).data
        for directory in data.glob(f"{namespace}*"):
            total += sum(f.stat().st_size for f in directory.glob("*.log"))
    return round(total / 2**20, 1)


async def postgres_mb(deployment: Deployment) -> float:
    conn = await asyncpg.connect(deployment.admin_database_url)
    try:
        size = await conn.fetchval("SELECT pg_database_size($1)", deployment.database)
        return round(int(size) / 2**20, 1)
    finally:
        await conn.close()


def explain(
    deployment: Deployment, country: Country, phase: str, tenants: list[str], workdir: Path
) -> str:
    """Name the persons behind differing counts in a file in the run's private directory
    (`kaa.dev.country_check`); returns the numbers and the file's path (for the console)."""
    say(f"  finding the persons who differ in {len(tenants)} municipalities ...")
    where = _where(deployment, country)
    try:
        found = country_check.find(where, country, phase, tenants)
        path = country_check.write_report(where, country, phase, found, workdir)
    except (Exception, asyncio.CancelledError) as failure:  # the run's failure is reported
        return f"the persons could not be named ({type(failure).__name__}: {failure})"
    say(f"  {found.summary()}")
    say(f"  the persons (pseudonymous ids) and explanations: {path}")
    return f"{found.summary()}; the persons: {path}"


def _where(deployment: Deployment, country: Country) -> country_check.Where:
    return country_check.Where(
        database_url=deployment.database_url, bootstrap_servers=deployment.bootstrap_servers,
        namespace=deployment.namespace, pseudonym_key=deployment.pseudonym_key,
        master_key=deployment.master_key, today=country.today,
    )  # fmt: skip


def dead_lettered(deployment: Deployment, country: Country) -> int:
    """How many feed records identify dead-lettered (each a fact a person never got, even when
    the counts happen to agree); the reasons on the console."""
    reasons = Counter(
        r for r, _ in asyncio.run(country_check.dead_letters(_where(deployment, country)))
    )
    if reasons:
        say(f"  identify dead-lettered feed records: {dict(reasons)}")
    return sum(reasons.values())


# -- one run ----------------------------------------------------------------------------------


def run(
    infrastructure: Infrastructure, persons: int, workdir: Path, replicas: int = 1
) -> dict[str, Any]:
    """One country of `persons` from empty to a consistent register; `replicas` identify and
    register processes (the other services one each)."""
    today = date.today()
    say(f"generating {persons} persons in {len(KOMMUNKODER)} municipalities ...")
    country = generate_country(
        persons, seed=21, out=workdir / f"country-{persons}", today=today,
        progress=lambda n: say(f"  generated {n}/{persons} persons"),
    )  # fmt: skip
    say(f"  {country.population_records} population and {country.ss12000_records} SS 12000 "
        f"records, {country.notifications} school notifications; in scope: "
        f"{sum(country.expected_after_feeds.values())} after the feeds, "
        f"{sum(country.expected_in_scope.values())} after the notifications")  # fmt: skip
    deployment = Deployment(
        name="bench-national", bootstrap_servers=infrastructure.bootstrap_servers(),
        admin_database_url=infrastructure.database_url(),
        logs_dir=infrastructure.settings.logs_dir / "bench-national", tenants=KOMMUNKODER, today=today,
        batch_size=int(os.environ.get("KAA_BENCH_BATCH", "500")),
    )  # fmt: skip
    asyncio.run(deployment.reset())
    sealed: dict[str, tuple[Path, int, dict[str, datetime]]] = {}
    for feed in ("ss12000", "population"):  # identify's benchmark order: the schools first
        say(f"sealing the {feed} feed (the feed adapter, before the clock) ...")
        path = workdir / f"{feed}-{persons}.sealed"
        count, latest = asyncio.run(seal_to_file(deployment, country.files(feed), path))
        sealed[feed] = (path, count, latest)
    say(f"starting the services ({replicas} identify and register processes) ...")
    platform = deployment.start(dict(os.environ))
    for _ in range(replicas - 1):
        platform.add_replica("identify", free_port())
        platform.add_replica("register", free_port())
    pids = {k: p.process.pid for k, p in platform.processes.items() if p.process is not None}
    max_wait = 900 + persons / 50
    try:
        cpu_before = cpu_seconds(pids)
        started = time.monotonic()
        for feed, (path, count, latest) in sealed.items():
            asyncio.run(publish_sealed(deployment, feed, path, latest, count))
        published = time.monotonic()
        say("draining the feeds ...")

        def checked(phase: str, expected: dict[str, int]) -> float:
            try:
                return asyncio.run(consistent(deployment, expected, started, max_wait))
            except Inconsistent as failure:
                raise Inconsistent(
                    f"{failure}; {explain(deployment, country, phase, failure.tenants, workdir)}",
                    failure.tenants,
                ) from None

        feeds_done = checked("after_feeds", country.expected_after_feeds)
        say(f"  consistent after the feeds: {feeds_done - started:.1f} s; "
            f"posting {country.notifications} school notifications ...")  # fmt: skip
        asyncio.run(notify(deployment, country))
        notified = time.monotonic()
        done = checked("in_scope", country.expected_in_scope)
        cpu_after = cpu_seconds(pids)
        letters = dead_lettered(deployment, country)
        rss = {key: peak_rss_mb(pid) for key, pid in pids.items()}
        database_mb = asyncio.run(postgres_mb(deployment))
        logs_mb = kafka_mb(infrastructure.settings, deployment.namespace)
    finally:
        deployment.stop()
        asyncio.run(deployment.drop())
        for path, _, _ in sealed.values():
            path.unlink(missing_ok=True)
    seconds = done - started
    say(f"  consistent register after {seconds:.1f} s "
        f"({seconds / persons * 10_000:.2f} s per 10,000 persons)")  # fmt: skip
    cpu = used(cpu_before, cpu_after)
    return {
        "persons": persons,
        "records": sum(count for _, count, _ in sealed.values()),
        "notifications": country.notifications,
        "in_scope": sum(country.expected_in_scope.values()),
        "seconds": seconds,
        "publish_seconds": published - started,
        "feeds_seconds": feeds_done - started,
        "notifications_seconds": done - notified,
        "peak_rss_mb": rss,
        "postgres_mb": database_mb,
        "kafka_mb": logs_mb,
        "cpu_seconds": {part: round(s, 2) for part, s in sorted(cpu.items())},
        "dead_lettered": letters,
    }


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or list(SIZES)
    replicas_size = int(os.environ.get("KAA_BENCH_REPLICAS_SIZE", str(sizes[0])))
    replicas = int(os.environ.get("KAA_BENCH_REPLICAS", "2"))
    infrastructure = Infrastructure(InfraSettings())
    infrastructure.up()
    began = time.monotonic()
    runs: dict[int, dict[str, Any]] = {}
    replicated: dict[str, Any] | None = None
    failures: dict[str, str] = {}
    # Private (0700); kept when a size failed, for the file naming the persons who differ.
    tmp = tempfile.mkdtemp(prefix="kaa-national-")
    try:
        for persons in sizes:
            say(f"== {persons} persons, one process per service")
            try:
                runs[persons] = run(infrastructure, persons, Path(tmp))
            except (RuntimeError, TimeoutError) as failure:  # the sizes before it are written
                say(f"  FAILED at {persons} persons: {failure}")
                failures[str(persons)] = str(failure)
            shutil.rmtree(Path(tmp) / f"country-{persons}", ignore_errors=True)
        if replicas > 1 and replicas_size in runs:
            say(f"== {replicas_size} persons, {replicas} identify and register processes each")
            try:
                replicated = run(infrastructure, replicas_size, Path(tmp), replicas)
            except (RuntimeError, TimeoutError) as failure:
                say(f"  FAILED with replicas: {failure}")
                failures[f"{replicas_size} replicated"] = str(failure)
    finally:
        for made in Path(tmp).glob("country-*"):  # the feeds and expectations: personnummer
            shutil.rmtree(made, ignore_errors=True)
        if failures:
            say(f"the run's directory is kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    single = runs.get(replicas_size, {"seconds": 0.0})
    result = {
        "persons": sizes,
        "municipalities": len(KOMMUNKODER),
        "records": {str(n): r["records"] for n, r in runs.items()},
        "school_notifications": {str(n): r["notifications"] for n, r in runs.items()},
        "youths_in_scope": {str(n): r["in_scope"] for n, r in runs.items()},
        "seconds_to_consistent_register": {str(n): round(r["seconds"], 1) for n, r in runs.items()},
        "seconds_feeds_to_register": {
            str(n): round(r["feeds_seconds"], 1) for n, r in runs.items()
        },
        "seconds_notifications": {
            str(n): round(r["notifications_seconds"], 1) for n, r in runs.items()
        },
        "seconds_per_10k_persons": {
            str(n): round(r["seconds"] / n * 10_000, 2) for n, r in runs.items()
        },
        "peak_rss_mb": {str(n): r["peak_rss_mb"] for n, r in runs.items()},
        "postgres_mb": {str(n): r["postgres_mb"] for n, r in runs.items()},
        "kafka_mb": {str(n): r["kafka_mb"] for n, r in runs.items()},
        "cpu_seconds_per_1000_persons": {
            str(n): per_thousand(r["cpu_seconds"], n) for n, r in runs.items()
        },
        "replicas_speedup": None
        if replicated is None
        else {
            "persons": replicas_size,
            "processes": {"identify": replicas, "register": replicas},
            "seconds_one": round(single["seconds"], 1),
            "seconds_replicated": round(replicated["seconds"], 1),
            "speedup": round(single["seconds"] / replicated["seconds"], 2),
            "peak_rss_mb": replicated["peak_rss_mb"],
        },
        "feed_records_dead_lettered": {str(n): r["dead_lettered"] for n, r in runs.items()},
        "failures": failures,
        "benchmark_seconds": round(time.monotonic() - began),
        "settings": {name: os.environ[name] for name in SETTINGS if name in os.environ},
    }
    write_result(RESULTS, "national", result)


if __name__ == "__main__":
    main()
