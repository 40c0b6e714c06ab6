"""Benchmark: the connect service's SS 12000 connector, beside a file load of the same records.

`./run bench connectors [--persons 100000] [--samples 20]` measures, in one run on this machine:

1. First sync. PERSONS 17-year-olds of 0180, each with a GY enrolment at one of six school units,
   are split over three SS 12000 servers (`tests/support/ss12000`, real HTTP on loopback, OAuth2
   client credentials, every 20th answer validated against Skolverket's openapi.yml), configured
   as three organisers of 0180 with page_size 1000. Their population is loaded as a file first.
   The connect service is then started (its public address set, so each organiser gets a
   subscription) and timed from the first organiser's sync beginning (`last_complete_sync` of a
   first sync is the instant it began) to `GET /v1/connectors` showing all three complete (read
   every 0.1 s): records and watermarks on the feed topic. The times from /health and from the
   process's launch are reported beside it (the loops start while the process starts up).
   Then to "decided": identify decides a person once every source is complete up to the
   person's latest fact, so the run sends the population's next delivery with no changes (its
   watermark: otherwise everyone waits for the settle window, a day) and, once identify has
   read the sync, each organiser's next delta (a webhook each: otherwise the persons of an
   organiser whose sync began after another's wait for that other's next poll), and waits
   until the pipeline has drained with no person left undecided. The baseline, in a second fresh deployment in the same run: the
   same SS 12000 records as a JSON-lines file through the feed adapter (`Deployment.load
   ("ss12000", ...)`: sealed, published, its watermark), then the population's watermark, timed
   the same two ways.
2. Webhook to worklist. SAMPLES times, one after the other: a youth of organiser 1 has their
   enrolment ended on the server (`endDate` yesterday), the server posts its webhook
   (`notify()`, from a thread), and outreach's `GET /v1/worklists/first_contact` (caseworker) is
   read every 20 ms until the youth is on it: milliseconds from the webhook to the youth on the
   worklist (target p95 < 2,000 ms); beside it, from the webhook to the connector asking the
   organiser's /persons (its reaction to the callback).

Writes bench/results/connectors.json. The SS 12000 servers run inside this process (threads):
their CPU is the `bench` entry of `cpu_seconds`. Figures are noisy on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from aiokafka import AIOKafkaProducer

from bench.casework import percentile
from bench.pipeline import commit, cpu_seconds
from kaa.deployment import Deployment
from kaa.dev.launcher import InfraSettings, Infrastructure
from kaa.supervisor import SERVICES, consumer_lag
from shared import connectors
from shared.contracts.topics import POPULATION_FEED
from shared.feed_adapter import publish_watermarks
from shared.personnummer import generate
from tests.support.ss12000 import Ss12000Server

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "connectors.json"
TENANT = "0180"
ORGANISERS = 3
UNITS_PER_ORGANISER = 2
PAGE_SIZE = 1000
VALIDATE_EVERY = 20
POLL = 0.02  # seconds between reads of the worklist
SEEN_WITHIN = 30.0  # seconds a webhook may take to reach the worklist before it counts as missed
TARGET_P95_MS = 2000


@dataclass
class School:
    """One organiser: its server, its id in the connectors file and the persons it holds."""

    id: str
    server: Ss12000Server
    secret: str
    persons: list[dict[str, Any]]


def people(count: int, today: date, rng: random.Random) -> list[str]:
    """`count` distinct valid personnummer of 17-year-olds (17.1 to 17.9 years old today)."""
    numbers: set[str] = set()
    middle = today - timedelta(days=round(17.5 * 365.25))
    while len(numbers) < count:
        numbers.add(generate(middle + timedelta(days=rng.randrange(-140, 140)), rng))
    return sorted(numbers)


def population_lines(numbers: list[str], today: date) -> list[bytes]:
    observed = datetime.now(UTC).isoformat()
    return [
        json.dumps({
            "feed": "population", "schema_version": 1, "record_id": str(uuid.uuid4()),
            "tenant": TENANT, "observed_at": observed,
            "record": {
                "personnummer": n, "given_name": "B", "family_name": "C", "kommunkod": TENANT,
                "birth_date": f"{n[:4]}-{n[4:6]}-{n[6:8]}", "change_type": "baseline",
                "effective_date": today.isoformat(),
            },
        }).encode()
        for n in numbers
    ]  # fmt: skip


def schools(numbers: list[str], today: date, rng: random.Random) -> list[School]:
    """Three organisers' servers, started, each holding its share of the persons (as last
    modified a day ago: a school system's records at rest)."""
    units = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(3 * UNITS_PER_ORGANISER)]
    started = today - timedelta(days=100)
    out = []
    for index in range(ORGANISERS):
        secret = secrets.token_urlsafe(16)
        server = Ss12000Server(client_secret=secret, validate=VALIDATE_EVERY)
        mine = units[index * UNITS_PER_ORGANISER : (index + 1) * UNITS_PER_ORGANISER]
        persons = [
            Ss12000Server.person(
                n, given="A", family="B",
                enrolments=[Ss12000Server.enrolment(rng.choice(mine), "GY", start=started)],
            )
            for n in numbers[index::ORGANISERS]
        ]  # fmt: skip
        server.start()
        server.put_persons(persons, modified=server.now() - timedelta(days=1))
        out.append(School(f"school-{index + 1}", server, secret, persons))
    return out


def connectors_file(organisers: list[School], path: Path) -> dict[str, str]:
    """The organisers file for 0180; the environment naming it and holding their secrets."""
    document = {TENANT: {"organisers": [
        {"id": s.id, "name": f"Huvudman {n + 1}", "base_url": s.server.base_url,
         "token_url": s.server.token_url, "client_id": "kaa", "school_types": ["GY"],
         "page_size": PAGE_SIZE}
        for n, s in enumerate(organisers)
    ]}}  # fmt: skip
    path.write_text(json.dumps(document, indent=2))
    env = {"KAA_CONNECTORS_FILE": str(path)}
    for s in organisers:
        env["KAA_SS12000_SECRET_" + s.id.upper().replace("-", "_")] = s.secret
    return env


def school_file(organisers: list[School], path: Path) -> Path:
    """The same persons as an SS 12000 feed file (JSON lines), as a nightly export would be."""
    observed = datetime.now(UTC).isoformat()
    with path.open("wb") as out:
        for school in organisers:
            for person in school.persons:
                out.write(json.dumps({
                    "feed": "ss12000", "schema_version": 1, "record_id": str(uuid.uuid4()),
                    "tenant": TENANT, "observed_at": observed,
                    "person": {**person, "meta": {"created": observed, "modified": observed}},
                }).encode() + b"\n")  # fmt: skip
    return path


def deployment(infrastructure: Infrastructure, name: str, today: date) -> Deployment:
    return Deployment(
        name=name,
        bootstrap_servers=infrastructure.bootstrap_servers(),
        admin_database_url=infrastructure.database_url(),
        logs_dir=infrastructure.settings.logs_dir / "bench" / name,
        today=today,
        batch_size=int(os.environ.get("KAA_BENCH_BATCH", "500")),
    )


def pids_of(made: Deployment) -> dict[str, int]:
    assert made.platform is not None
    return {
        key: p.process.pid for key, p in made.platform.processes.items() if p.process is not None
    }


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: round(v - before.get(k, 0.0), 1) for k, v in after.items()}


def pending(made: Deployment) -> int:
    """How many persons identify holds undecided (waiting for a source's watermark)."""
    with psycopg.connect(made.database_url) as conn:
        row = conn.execute("SELECT count(*) FROM identify.scope_pending").fetchone()
    return int(row[0]) if row else -1


async def population_current(made: Deployment) -> None:
    """Navet's next delivery with no changes: the population source complete up to now.

    Identify decides a person once every source is complete up to the person's latest fact; the
    school records (the file's or the sync's) were observed after the population file was, so
    until the population's next delivery (or the settle window, a day) they wait. The run
    publishes that delivery's watermark as soon as the school records are in."""
    producer = AIOKafkaProducer(
        bootstrap_servers=made.bootstrap_servers, enable_idempotence=True, acks="all"
    )
    await producer.start()
    try:
        topic = f"{made.namespace}{POPULATION_FEED}"
        await publish_watermarks(producer, topic, "population", {TENANT: datetime.now(UTC)})
    finally:
        await producer.stop()


# -- the baseline: the same records loaded from a file -------------------------------------------


def file_load(infrastructure: Infrastructure, today: date, population: list[bytes],
              path: Path) -> dict[str, Any]:  # fmt: skip
    made = deployment(infrastructure, "bench-connectors-file", today)
    asyncio.run(made.reset())
    made.start(dict(os.environ))
    try:
        asyncio.run(made.publish_feed("population", population))
        asyncio.run(made.drained(max_wait=1800))
        cpu = cpu_seconds(pids_of(made))
        started = time.monotonic()
        records = asyncio.run(made.load("ss12000", path))
        loaded = time.monotonic()
        asyncio.run(population_current(made))
        drained = asyncio.run(made.drained(max_wait=1800))
        used = cpu_used(cpu, cpu_seconds(pids_of(made)))
        undecided = pending(made)
    finally:
        made.stop()
        asyncio.run(made.drop())
    return {
        "records": records,
        "load_seconds": round(loaded - started, 2),
        "to_decided_seconds": round(drained - started, 2),
        "undecided_after": undecided,
        "cpu_seconds": used,
    }


# -- the connector: first sync, then webhooks ----------------------------------------------------


def organiser_rows(connect: httpx.Client) -> list[dict[str, Any]]:
    answer = connect.get("/v1/connectors")
    answer.raise_for_status()
    return list(answer.json()["organisers"])


def wait_first_sync(connect: httpx.Client, count: int, max_wait: float) -> list[dict[str, Any]]:
    """Until every organiser has a complete sync; their rows. Raises when one stays failing."""
    deadline = time.monotonic() + max_wait
    while True:
        rows = organiser_rows(connect)
        if len(rows) == count and all(r["last_complete_sync"] for r in rows):
            return rows
        if time.monotonic() > deadline:
            problems = [r["error"]["message"] for r in rows if r["error"]]
            raise TimeoutError(f"first sync not complete within {max_wait:.0f} s: {problems}")
        time.sleep(0.1)


async def identify_read(made: Deployment, max_wait: float = 1800) -> None:
    """Until identify's consumer has read everything on its topics (no settle time)."""
    deadline = time.monotonic() + max_wait
    while await consumer_lag(made.bootstrap_servers, made.namespace, ["identify"]):
        if time.monotonic() > deadline:
            raise TimeoutError(f"identify did not catch up within {max_wait:.0f} s")
        await asyncio.sleep(0.1)


def next_deltas(
    connect: httpx.Client, organisers: list[School], rows: list[dict[str, Any]]
) -> None:
    """Every organiser's next delta at once (a webhook each), until all are complete.

    A person's first-sync record is observed when their organiser's sync began, and identify
    decides them once every source is complete up to that instant: the persons of an organiser
    whose sync began after another's wait for that other's next delta (the poll interval, 15
    minutes by default). Here the deltas come at once, as callbacks."""
    first = {r["organiser"]: r["last_complete_sync"] for r in rows}
    for school in organisers:
        school.server.notify()
    deadline = time.monotonic() + 120
    while any(r["last_complete_sync"] == first[r["organiser"]] for r in organiser_rows(connect)):
        if time.monotonic() > deadline:
            raise TimeoutError("the organisers' deltas did not complete within 120 s")
        time.sleep(0.05)


def first_sync(made: Deployment, organisers: list[School], persons: int) -> dict[str, Any]:
    """Start the connect service (its public address named, so it subscribes) and time the
    first sync of every organiser; then the population's next watermark, and the pipeline
    drained with every person decided.

    The sync's time runs from the first organiser's sync beginning (its `last_complete_sync`:
    the instant that sync began) to the moment `GET /v1/connectors` first shows all three
    complete (read every 0.1 s). The connect process starts its loops while it starts up, so
    at small sizes much of the sync is done before it answers /health: the time from /health
    and from launch are reported beside it."""
    platform = made.platform
    assert platform is not None
    public = f"http://127.0.0.1:{platform.ports['connect']}"
    platform.env = {**platform.env, "KAA_CONNECT_PUBLIC_URL": public}
    cpu = cpu_seconds(pids_of(made))
    launched = time.monotonic()
    platform.start(["connect"])
    healthy = time.monotonic()
    with made.client("connect", TENANT, "operator") as connect:
        rows = wait_first_sync(connect, len(organisers), max_wait=3600)
        synced, synced_at = time.monotonic(), datetime.now(UTC)
        asyncio.run(population_current(made))
        pids = pids_of(made)
        # The deltas once identify has read the first sync's watermarks: two watermarks of one
        # source on one partition in one of identify's batches make it apply that batch message
        # by message (the watermark upsert meets the same row twice), seconds per batch.
        asyncio.run(identify_read(made))
        next_deltas(connect, organisers, rows)
        drained = asyncio.run(made.drained(max_wait=1800))
        used = cpu_used(cpu, cpu_seconds(pids))
    began = min(datetime.fromisoformat(r["last_complete_sync"]) for r in rows)
    seconds = (synced_at - began).total_seconds()
    return {
        "first_sync_persons_per_s": round(persons / seconds, 1),
        "first_sync_seconds": round(seconds, 2),
        "first_sync_seconds_from_health": round(synced - healthy, 2),
        "first_sync_seconds_from_launch": round(synced - launched, 2),
        "connect_start_seconds": round(healthy - launched, 2),
        "to_decided_seconds": round(seconds + drained - synced, 2),
        "organisers": [organiser_view(r) for r in rows],
        "undecided_after": pending(made),
        "cpu_seconds": used,
    }


def organiser_view(row: dict[str, Any]) -> dict[str, Any]:
    """What the operator's view said of one organiser's last sync."""
    return {
        "organiser": row["organiser"],
        "state": row["state"],
        "persons": row["last_sync"]["persons"],
        "seconds": row["last_sync"]["seconds"],
        "subscribed": row["subscription"] is not None,
    }


def persons_asked(server: Ss12000Server, since: int) -> bool:
    """Whether the organiser's server was asked for /persons after its `since`-th request (the
    connector's delta, after the callback). Read every 20 ms with the worklist."""
    return any(path == "/persons" for _, path, _ in server.requests[since:])


def on_first_contact(outreach: httpx.Client) -> set[str]:
    page = outreach.get("/v1/worklists/first_contact", params={"limit": 500}).json()
    return {item["youth_id"] for item in page["items"]}


def webhooks(made: Deployment, school: School, samples: int, today: date) -> dict[str, Any]:
    """End `samples` enrolments at one organiser, one at a time: ms from its webhook to the
    youth on outreach's first-contact worklist."""
    chosen = school.persons[:samples]
    ended = today - timedelta(days=1)
    timings: list[float] = []
    fetched: list[float] = []  # ms from the webhook to the organiser's /persons being asked
    statuses: list[int] = []
    missed = 0
    with made.client("outreach", TENANT, "caseworker") as outreach:
        for person in chosen:
            # The youth's id is not known before they are in scope (the register holds youths
            # in scope): the one new on the list is theirs, as the samples go one at a time.
            before = on_first_contact(outreach)
            for enrolment in person["enrolments"]:
                enrolment["endDate"] = ended.isoformat()
            school.server.put_person(person)
            asked = len(school.server.requests)
            posted = time.perf_counter()
            notify = threading.Thread(target=lambda: statuses.extend(school.server.notify()))
            notify.start()
            heard = None
            while not on_first_contact(outreach) - before:
                if heard is None and persons_asked(school.server, asked):
                    heard = time.perf_counter()
                if time.perf_counter() - posted > SEEN_WITHIN:
                    missed += 1
                    break
                time.sleep(POLL)
            else:
                timings.append((time.perf_counter() - posted) * 1000)
                fetched.append(((heard or time.perf_counter()) - posted) * 1000)
            notify.join()
            time.sleep(0.5)
    return {
        "webhook_to_worklist_p50_ms": percentile(timings, 50) if timings else None,
        "webhook_to_worklist_p95_ms": percentile(timings, 95) if timings else None,
        "webhook_to_worklist_max_ms": round(max(timings), 1) if timings else None,
        # The first webhook after the start has taken about a second in every run (outreach's
        # side): with 20 samples the house p95 is the largest, so the rest's p95 is beside it.
        "webhook_to_worklist_p95_ms_without_first": (
            percentile(timings[1:], 95) if len(timings) > 1 else None
        ),
        "webhook_to_worklist_samples_ms": [round(t, 1) for t in timings],
        "webhook_to_fetch_p50_ms": percentile(fetched, 50) if fetched else None,
        "webhook_to_fetch_p95_ms": percentile(fetched, 95) if fetched else None,
        "webhook_missed": missed,
        "webhook_answers": sorted(set(statuses)),
    }


def connected(infrastructure: Infrastructure, today: date, population: list[bytes],
              organisers: list[School], workdir: Path, samples: int) -> dict[str, Any]:  # fmt: skip
    made = deployment(infrastructure, "bench-connectors", today)
    env = connectors_file(organisers, workdir / "connectors.json")
    asyncio.run(made.reset())
    made.start(dict(os.environ) | env, names=list(SERVICES))
    try:
        asyncio.run(made.publish_feed("population", population))
        asyncio.run(made.drained(max_wait=1800))
        # What identify waits for (KAA_FEED_SOURCES' default with `ss12000` standing for the
        # organisers), for `drained` to know when identify may decide; the services' environment
        # was made at start and keeps the default.
        named = connectors.load(workdir / "connectors.json").organisers(TENANT)
        made.feed_sources = connectors.sources(("population", "ss12000"), named)
        persons = sum(len(s.persons) for s in organisers)
        print(f"first sync: {persons} persons from {len(organisers)} organisers ...", flush=True)
        sync = first_sync(made, organisers, persons)
        print(json.dumps(sync, default=str), flush=True)
        print(f"webhook to worklist: {samples} samples ...", flush=True)
        hooks = webhooks(made, organisers[0], samples, today)
    finally:
        made.stop()
        asyncio.run(made.drop())
    return {**sync, **hooks}


def main() -> None:
    parser = argparse.ArgumentParser(prog="./run bench connectors")
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    if not 1 <= args.samples <= min(400, args.persons // ORGANISERS):
        parser.error("--samples: from 1 to 400, and at most a third of --persons")
    infrastructure = Infrastructure(InfraSettings())
    infrastructure.up()
    today = date.today()
    rng = random.Random(18)
    print(f"generating {args.persons} persons over {ORGANISERS} organisers ...", flush=True)
    numbers = people(args.persons, today, rng)
    population = population_lines(numbers, today)
    organisers = schools(numbers, today, rng)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            path = school_file(organisers, workdir / "ss12000.jsonl")
            print(f"baseline: the same {args.persons} records loaded from a file ...", flush=True)
            baseline = file_load(infrastructure, today, population, path)
            print(json.dumps(baseline), flush=True)
            sync = connected(infrastructure, today, population, organisers, workdir, args.samples)
    finally:
        for school in organisers:
            school.server.stop()
    invalid = [line for s in organisers for line in s.server.invalid]
    file_rate = args.persons / baseline["load_seconds"]
    result = {
        "benchmark": "connectors",
        "persons": args.persons,
        "organisers": ORGANISERS,
        "page_size": PAGE_SIZE,
        "server_validates_every": VALIDATE_EVERY,
        "first_sync_persons_per_s": sync.pop("first_sync_persons_per_s"),
        "file_load_persons_per_s": round(file_rate, 1),
        "first_sync_to_file_load_ratio": round(
            args.persons / sync["first_sync_seconds"] / file_rate, 3
        ),
        "first_sync_to_decided_persons_per_s": round(args.persons / sync["to_decided_seconds"], 1),
        "file_load_to_decided_persons_per_s": round(
            args.persons / baseline["to_decided_seconds"], 1
        ),
        "webhook_to_worklist_p95_ms": sync.pop("webhook_to_worklist_p95_ms"),
        "target_webhook_to_worklist_p95_ms": TARGET_P95_MS,
        "samples": args.samples,
        "first_sync": {k: v for k, v in sync.items() if not k.startswith("webhook")},
        "webhook": {k: v for k, v in sync.items() if k.startswith("webhook")},
        "file_load": baseline,
        "ss12000_responses_validated": sum(s.server.checked for s in organisers),
        "ss12000_responses_invalid": invalid,
        "cores": os.cpu_count(),
        "commit": commit(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps(result, indent=2, default=str))
    print(f"first sync {result['first_sync_persons_per_s']} persons/s "
          f"(file load {result['file_load_persons_per_s']}, ratio "
          f"{result['first_sync_to_file_load_ratio']}); webhook to worklist p95 "
          f"{result['webhook_to_worklist_p95_ms']} ms (target < {TARGET_P95_MS})")  # fmt: skip


if __name__ == "__main__":
    main()
