"""Benchmark: what a municipality's youths cost in memory, PostgreSQL and Kafka — the sizing guide's figures.

`./run bench sizing [N ...]` (default 5000 20000) brings the infrastructure up and, for each N, loads
N generated persons of one municipality through the real services (feeds sealed at intake, as
`./run bench pipeline` does), waits until the register is consistent, and then measures:
- each service process's peak resident memory (`VmHWM` in /proc) and its memory now (`VmRSS`);
- the deployment's PostgreSQL database (`pg_database_size`) and each schema's tables and indexes;
- the bytes the deployment's topics take on the broker's disk (one replica; the partition folders
  of its namespace).
From two sizes it derives the cost per 1,000 persons (the slope between them, so fixed costs are
not counted per person) and extrapolates to consortia of 5, 20 and 290 municipalities. Writes
bench/results/sizing.json. What is measured and what is extrapolated is named in the file.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg

from bench.pipeline import cpu_seconds, write_result
from kaa.deployment import Deployment
from kaa.dev.launcher import InfraSettings, Infrastructure
from kaa.dev.synthetic_feeds import generate

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "sizing.json"

# Persons aged 16–19 in Sweden: about 125,000 a birth year (SCB's population statistics), so about
# 500,000 in all — the national figure; an average municipality has 1,700 of them.
PERSONS_IN_COUNTRY = 500_000
MUNICIPALITIES_IN_COUNTRY = 290
CONSORTIA = {
    "5 municipalities": 5,
    "20 municipalities": 20,
    "290 municipalities (the country)": 290,
}


def _status_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def memory_mb(pids: dict[str, int]) -> dict[str, dict[str, float]]:
    """Peak and current resident memory of each service process, in MiB."""
    return {
        name: {
            "peak_rss_mb": round(_status_kb(pid, "VmHWM") / 1024, 1),
            "rss_mb": round(_status_kb(pid, "VmRSS") / 1024, 1),
        }
        for name, pid in pids.items()
    }


async def database_mb(database_url: str) -> dict[str, Any]:
    """The database's size and each schema's share (tables, their indexes and TOAST), in MiB."""
    conn = await asyncpg.connect(database_url)
    try:
        total = await conn.fetchval("SELECT pg_database_size(current_database())")
        rows = await conn.fetch(
            """SELECT n.nspname AS schema, sum(pg_total_relation_size(c.oid)) AS bytes
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r', 'm', 'p') AND n.nspname NOT LIKE 'pg\\_%'
                  AND n.nspname <> 'information_schema'
                GROUP BY n.nspname ORDER BY 2 DESC"""
        )
    finally:
        await conn.close()
    return {
        "database_mb": round(total / 2**20, 1),
        "schemas_mb": {row["schema"]: round(float(row["bytes"]) / 2**20, 2) for row in rows},
    }


def kafka_mb(data_dir: Path, namespace: str) -> float:
    """Bytes of the namespace's partition folders on the broker's disk, in MiB (one replica):
    blocks in use, since the broker preallocates its index files sparsely (10 MiB each)."""
    total = 0
    for folder in data_dir.glob(f"{namespace}*"):
        total += sum(f.stat().st_blocks * 512 for f in folder.iterdir() if f.is_file())
    return round(total / 2**20, 2)


def measure(infrastructure: Infrastructure, persons: int, workdir: Path) -> dict[str, Any]:
    today = date.today()
    deployment = Deployment(
        name=f"bench-sizing-{persons}",
        bootstrap_servers=infrastructure.bootstrap_servers(),
        admin_database_url=infrastructure.database_url(),
        logs_dir=infrastructure.settings.logs_dir / "bench",
        today=today,
    )
    feeds = generate(persons, "0180", seed=20000, out=workdir, today=today)
    asyncio.run(deployment.reset())
    platform = deployment.start(dict(os.environ))
    pids = {p.name: p.process.pid for p in platform.processes.values() if p.process is not None}
    try:
        cpu_before = cpu_seconds(pids)
        started = time.monotonic()
        for feed, path in (("ss12000", feeds.ss12000), ("population", feeds.population)):
            asyncio.run(deployment.load(feed, path))
        drained_at = asyncio.run(deployment.drained(max_wait=1800))
        cpu_after = cpu_seconds(pids)
        with deployment.client("register", "0180", "caseworker") as register:
            summary = register.get("/v1/summary").json()
        figures: dict[str, Any] = {
            "persons": persons,
            "records": feeds.population_records + feeds.ss12000_records,
            "register_youths": summary["known"],
            "seconds_to_consistent_register": round(drained_at - started, 2),
            "memory": memory_mb(pids),
            **asyncio.run(database_mb(deployment.database_url)),
            "kafka_mb": kafka_mb(
                infrastructure.settings.home / "kafka" / "data", deployment.namespace
            ),
            "cpu_seconds": {k: round(v - cpu_before.get(k, 0.0), 2) for k, v in cpu_after.items()},
        }
    finally:
        deployment.stop()
        asyncio.run(deployment.drop())
    return figures


def per_thousand(small: dict[str, Any], large: dict[str, Any], pick: Any) -> float:
    """The slope between two sizes per 1,000 persons: what each further person costs."""
    persons = int(large["persons"]) - int(small["persons"])
    slope: float = (float(pick(large)) - float(pick(small))) / (persons / 1000)
    return round(slope, 3)


def extrapolate(small: dict[str, Any], large: dict[str, Any]) -> dict[str, Any]:
    postgres = per_thousand(small, large, lambda f: f["database_mb"])
    kafka = per_thousand(small, large, lambda f: f["kafka_mb"])
    per_municipality = PERSONS_IN_COUNTRY / MUNICIPALITIES_IN_COUNTRY
    out: dict[str, Any] = {
        "postgres_mb_per_1000_persons": postgres,
        "kafka_mb_per_1000_persons_one_replica": kafka,
        "consortia": {},
    }
    for label, members in CONSORTIA.items():
        persons = round(members * per_municipality)
        growth = (persons - large["persons"]) / 1000
        out["consortia"][label] = {
            "persons_16_19": persons,
            "postgres_gb": round(max(large["database_mb"] + growth * postgres, 0) / 1024, 2),
            "kafka_gb_three_replicas": round(
                3 * max(large["kafka_mb"] + growth * kafka, 0) / 1024, 2
            ),
        }
    return out


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [5000, 20000]
    infrastructure = Infrastructure(InfraSettings())
    infrastructure.up()
    runs = []
    for persons in sorted(sizes):
        print(f"sizing: {persons} persons through the services ...", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(measure(infrastructure, persons, Path(tmp)))
    figures: dict[str, Any] = {
        "runs": runs,
        "measured": "each run's memory, database, topics and CPU seconds, on this machine",
        "extrapolated": "the consortia's PostgreSQL and Kafka sizes, linearly from the slope "
        "between the two smallest runs (persons per municipality: the country's 500,000 / 290)",
    }
    if len(runs) >= 2:
        figures["extrapolation"] = extrapolate(runs[0], runs[1])
    write_result(RESULTS, "sizing", figures)


if __name__ == "__main__":
    main()
