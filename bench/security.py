"""Benchmark: the cost of sealing personal data, and a retention run.

`./run bench security [YOUTHS]` brings the infrastructure up and, in one run:
(a) runs the end-to-end pipeline (`bench/pipeline.py`: feeds → identify → outreach, measures →
    register, four processes) for YOUTHS generated youths (default 20,000), alternately sealed —
    the platform as it runs: feed records sealed by the feed adapter (before the clock starts: it
    runs where the upstream files arrive, not on the platform's cores), opened by identify,
    personal details sealed per youth — and unsealed (plain keyed feed lines,
    `KAA_FEED_PLAINTEXT=accept`, `KAA_PERSONAL_DATA=unsealed-benchmark-only`, refused outside a
    benchmark namespace), three times each; reports records/s of each and the overhead
    (1 − sealed/unsealed), and the CPU seconds each component used per 1,000 records in each mode
    (services, PostgreSQL, Kafka, the feed adapter in this process) with the CPU overhead
    (1 − unsealed CPU/sealed CPU), which the machine's neighbours disturb less;
(b) builds a register of 100,000 youths (the platform's generator's identities), 10,000 of them
    past their retention, each with an intake key, plus 5,000 intake keys unused for longer than the
    feed topics keep records, and times `kaa retention run`'s code over it, then the register applying
    the purge events; counts the rows touched.
Writes bench/results/security.json. Figures are noisy on a shared machine: read the ratio.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import TypeAdapter

from bench.pipeline import end_to_end, write_result
from kaa.deployment import Deployment
from kaa.dev.launcher import InfraSettings, Infrastructure
from services.register.adapters.database import create_pool, create_tables
from services.register.adapters.projection.handlers import apply_events
from services.register.commands.retention import run_retention
from shared.contracts.events import AnyEvent, PersonalDataPurged
from shared.contracts.topics import RETENTION_EVENTS
from shared.crypto import KEYRING_DDL, TenantKeys, new_data_key
from shared.messaging import partitions_of, stop_consumer

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "security.json"
UNSEALED = {"KAA_PERSONAL_DATA": "unsealed-benchmark-only"}
ROUNDS = 3


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def pipeline(infrastructure: Infrastructure, youths: int) -> dict[str, Any]:
    runs: dict[str, list[float]] = {"sealed": [], "unsealed": []}
    cpu: dict[str, list[dict[str, float]]] = {"sealed": [], "unsealed": []}
    records = 0
    for round_ in range(ROUNDS):
        for mode in ("unsealed", "sealed"):
            with tempfile.TemporaryDirectory() as tmp:
                extra = UNSEALED if mode == "unsealed" else {}
                figures = end_to_end(
                    infrastructure, youths, Path(tmp), extra_env=extra,
                    name=f"bench-security-{mode}", seal_feeds=mode == "sealed",
                )  # fmt: skip
            runs[mode].append(figures["events_per_s"])
            cpu[mode].append(figures["cpu_seconds"])
            records = figures["records"]
            say(f"  round {round_ + 1} {mode}: {figures['events_per_s']:,.0f} records/s, "
                f"{sum(figures['cpu_seconds'].values()):.1f} CPU s {figures['cpu_seconds']} "
                f"({figures['register_in_scope']} youths in scope in the register)")  # fmt: skip
    sealed = sum(runs["sealed"]) / len(runs["sealed"])
    unsealed = sum(runs["unsealed"]) / len(runs["unsealed"])
    # CPU per 1,000 records, per component, averaged over the rounds: what sealing costs in work,
    # less at the mercy of the machine's neighbours than records/s.
    per_k = {
        mode: {
            part: round(
                sum(c.get(part, 0.0) for c in cpu[mode]) / len(cpu[mode]) * 1000 / records, 3
            )
            for part in sorted({p for c in cpu[mode] for p in c})
        }
        for mode in cpu
    }
    sealed_cpu, unsealed_cpu = sum(per_k["sealed"].values()), sum(per_k["unsealed"].values())
    return {
        "youths": youths,
        "records": records,
        "encrypted_events_per_s": round(sealed, 1),
        "plain_events_per_s": round(unsealed, 1),
        "overhead_ratio": round(1 - sealed / unsealed, 4),
        "runs": runs,
        "cpu_seconds_per_1000_records": per_k,
        "cpu_overhead_ratio": round(1 - unsealed_cpu / sealed_cpu, 4),
    }


async def retention_run(
    infrastructure: Infrastructure, youths: int = 100_000, due: int = 10_000, expired: int = 5_000
) -> dict[str, Any]:
    deployment = Deployment(
        name=f"bench-retention-{uuid.uuid4().hex[:6]}",
        bootstrap_servers=infrastructure.bootstrap_servers(),
        admin_database_url=infrastructure.database_url(),
        logs_dir=infrastructure.settings.logs_dir / "bench",
        tenants=("0180",),
    )
    await deployment.reset()
    today = date(2026, 7, 15)
    now = datetime.now(UTC)
    keys = TenantKeys(deployment.master_key)
    pool = await create_pool(deployment.database_url, min_size=1, max_size=2)
    try:
        await create_tables(pool)
        say(f"  a register of {youths} youths, {due} past their retention ...")
        youth_rows, episode_rows, identity_rows, key_rows = [], [], [], []
        intake_rows: list[tuple[str, str, bytes, datetime]] = []
        for n in range(youths):
            youth = uuid.uuid4()
            left = date(2023, 9, 1) if n < due else None
            entered = date(2022, 9, 1) if n < due else date(2025, 9, 1)
            youth_rows.append(("0180", youth, "out_of_scope" if left else "in_scope",
                               uuid.uuid4(), entered, date(2027, 1, 1), left,
                               "turned_20" if left else None, "2018-07-01"))  # fmt: skip
            episode_rows.append((youth_rows[-1][3], "0180", youth, entered, date(2027, 1, 1),
                                 "2018-07-01", left, youth_rows[-1][7]))  # fmt: skip
            identity_rows.append(("0180", youth, "kaa1." + "A" * 240, now))
            subject = uuid.uuid4().hex * 2  # the person's keyed hash, as identify stores it
            key_rows.append(("0180", youth, keys.wrap("0180", youth, new_data_key()), subject))
            intake_rows.append(("0180", subject, key_rows[-1][2], now))
        # Keys nothing was sealed with for longer than the feed topics keep records.
        stale = now - timedelta(days=40)
        intake_rows += [("0180", uuid.uuid4().hex * 2, key_rows[0][2], stale)
                        for _ in range(expired)]  # fmt: skip
        async with pool.acquire() as conn:
            await conn.copy_records_to_table(
                "youths", records=youth_rows,
                columns=["tenant", "youth_id", "status", "scope_episode_id", "entered_on",
                         "scope_ends_on", "left_on", "left_reason", "rule_version"],
            )  # fmt: skip
            await conn.copy_records_to_table(
                "scope_episodes", records=episode_rows,
                columns=["scope_episode_id", "tenant", "youth_id", "entered_on", "scope_ends_on",
                         "entered_rule_version", "left_on", "left_reason"],
            )  # fmt: skip
            await conn.copy_records_to_table(
                "identities", records=identity_rows,
                columns=["tenant", "youth_id", "personal_details", "recorded_at"],
            )  # fmt: skip
            await conn.execute(KEYRING_DDL)
            await conn.copy_records_to_table(
                "youth_keys", schema_name="keyring", records=key_rows,
                columns=["tenant", "youth_id", "wrapped", "subject"],
            )  # fmt: skip
            await conn.copy_records_to_table(
                "intake_keys", schema_name="keyring", records=intake_rows,
                columns=["tenant", "subject", "wrapped", "last_sealed_at"],
            )  # fmt: skip
            await conn.execute("ANALYZE")
        producer = AIOKafkaProducer(
            bootstrap_servers=deployment.bootstrap_servers, enable_idempotence=True, acks="all"
        )
        await producer.start()
        topic = f"{deployment.namespace}{RETENTION_EVENTS}"
        try:
            started = time.perf_counter()
            result = await run_retention(pool, producer, topic, ["0180"], today)
            run_seconds = time.perf_counter() - started
        finally:
            await producer.stop()
        say(f"  retention run: {result.due} due, {result.keys_destroyed} keys destroyed "
            f"in {run_seconds:.2f} s")  # fmt: skip
        started = time.perf_counter()
        applied = await _apply_purges(deployment, pool, topic)
        apply_seconds = time.perf_counter() - started
        async with pool.acquire() as conn:
            purged = await conn.fetchval("SELECT count(*) FROM youths WHERE purged_at IS NOT NULL")
            left_identities = await conn.fetchval("SELECT count(*) FROM identities")
            keys_left = await conn.fetchval("SELECT count(*) FROM keyring.youth_keys")
            intake_left = await conn.fetchval("SELECT count(*) FROM keyring.intake_keys")
        assert purged == due, purged
        assert intake_left == youths - due, intake_left
        assert left_identities == youths - due, left_identities
        assert keys_left == youths - due, keys_left
        return {
            "retention_youths": youths,
            "retention_youths_purged": result.due,
            "retention_seconds": round(run_seconds, 3),
            "retention_register_apply_seconds": round(apply_seconds, 3),
            "retention_rows_touched": {
                "keyring_keys_deleted": result.keys_destroyed,
                "intake_keys_deleted": result.intake_keys_destroyed,
                "expired_intake_keys_deleted": result.expired_intake_keys_destroyed,
                "keyring_destructions_noted": result.keys_destroyed,
                "events_published": result.events_published,
                "register_youths_marked": purged,
                "register_identities_deleted": youths - left_identities,
            },
            "retention_events_applied": applied,
        }
    finally:
        await pool.close()
        await deployment.drop()


async def _apply_purges(deployment: Deployment, pool: Any, topic: str) -> int:
    """The register's side: read the purge events and apply them as its projection does."""
    partitions = await partitions_of(deployment.bootstrap_servers, [topic])
    consumer = AIOKafkaConsumer(bootstrap_servers=deployment.bootstrap_servers)
    await consumer.start()
    adapter = TypeAdapter(AnyEvent)
    applied = 0
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        while any([await consumer.position(tp) < ends[tp] for tp in partitions]):
            for records in (await consumer.getmany(timeout_ms=1000, max_records=5000)).values():
                events = [adapter.validate_json(r.value) for r in records if r.value]
                assert all(isinstance(e, PersonalDataPurged) for e in events)
                async with pool.acquire() as conn, conn.transaction():
                    await apply_events(conn, events)
                applied += len(events)
    finally:
        await stop_consumer(consumer)
    return applied


def main() -> None:
    youths = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    infrastructure = Infrastructure(InfraSettings())
    infrastructure.up()
    say(f"pipeline of {youths} youths, unsealed and sealed, {ROUNDS} times each ...")
    figures = pipeline(infrastructure, youths)
    say("retention ...")
    figures |= asyncio.run(retention_run(infrastructure))
    write_result(RESULTS, "security", figures)


if __name__ == "__main__":
    main()
