"""Intake keys in PostgreSQL: adapters sealing the same person at once agree on one key, and the
keyring's statements (identify's key select and insert, retention's deletions) do what they say."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import date
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from services.register.commands.retention import run_retention
from shared.crypto import INSERT_KEYS, KEYRING_DDL, TenantKeys, ensure_keyring, json_rows
from shared.intake import FeedOpener, FeedSealer, stored_keys
from shared.messaging.consumer import Delivery
from tests.conftest import RunningInfra, Topics
from tests.unit.test_intake import MASTER, NUMBER, OTHER, PSEUDONYM, population


@pytest.fixture
async def database(infra: RunningInfra) -> AsyncIterator[str]:
    name = f"intake_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(infra.database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(infra.database_url)._replace(path=f"/{name}"))
    try:
        conn = await asyncpg.connect(url)
        await conn.execute(KEYRING_DDL)
        await conn.close()
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


SEALER = FeedSealer(TenantKeys(MASTER), PSEUDONYM)
LAST_SEALED = "SELECT last_sealed_at FROM keyring.intake_keys WHERE subject = $1"


async def seal_both(conn: asyncpg.Connection) -> list[str]:
    """A record of each of the two people sealed; their intake subjects, in that order."""
    batch = await SEALER.seal(conn, [population(NUMBER), population(OTHER)])
    return [json.loads(value)["intake_subject"] for _, value in batch]


async def test_concurrent_adapters_agree_on_one_key_per_person(database: str) -> None:
    conns = [await asyncpg.connect(database) for _ in range(4)]
    try:
        # Four adapters seal records of the same two people at the same time.
        batches = await asyncio.gather(*(
            SEALER.seal(c, [population(NUMBER), population(OTHER)])
            for c in conns
        ))  # fmt: skip
        assert await conns[0].fetchval("SELECT count(*) FROM keyring.intake_keys") == 2

        async def fetch(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
            return await stored_keys(conns[0], pairs)

        opener = FeedOpener(TenantKeys(MASTER), fetch)
        deliveries = [
            Delivery("t", 0, n, k, v)
            for n, (k, v) in enumerate(r for batch in batches for r in batch)
        ]
        opened = await opener.open(deliveries)
        assert all(isinstance(o, Delivery) and o.opened for o in opened), opened
    finally:
        for conn in conns:
            await conn.close()


async def test_a_key_is_renewed_when_it_seals_after_half_a_day_and_not_before(
    database: str,
) -> None:
    """A key last used more than half a day ago is renewed when it seals again; a fresh one is
    left alone (no write per record)."""
    conn, other = await asyncpg.connect(database), await asyncpg.connect(database)
    try:
        stale, fresh = await seal_both(conn)
        await conn.execute(
            "UPDATE keyring.intake_keys SET last_sealed_at = now() - interval '20 hours' "
            "WHERE subject = $1", stale
        )  # fmt: skip
        before = await conn.fetchval(LAST_SEALED, fresh)
        await seal_both(other)
        rows = await conn.fetch(
            "SELECT subject, extract(epoch FROM now() - last_sealed_at) AS age "
            "FROM keyring.intake_keys"
        )
        ages = {r["subject"]: float(r["age"]) for r in rows}
        assert ages[stale] < 60
        assert await conn.fetchval(LAST_SEALED, fresh) == before
    finally:
        await conn.close()
        await other.close()


async def test_retention_destroys_a_purged_youths_intake_key_and_an_unclaimed_expired_one(
    database: str, infra: RunningInfra, topics: Topics
) -> None:
    """Identify stores the first person's keyed hash with their youth's data key (the second never
    became a youth); retention destroys the first's intake key with the data key, and the second's
    once nothing was sealed with it for longer than the topics keep it."""
    conn = await asyncpg.connect(database)
    try:
        claimed, unclaimed = await seal_both(conn)
        youth = uuid.uuid4()
        await conn.execute(
            INSERT_KEYS.replace("%s", "$1"),  # identify's statement, over asyncpg
            json_rows([{"tenant": "0180", "youth_id": youth, "wrapped": b"w", "subject": claimed}]),
        )
        await conn.execute(
            "UPDATE keyring.intake_keys SET last_sealed_at = now() - interval '40 days' "
            "WHERE subject = $1", unclaimed
        )  # fmt: skip
    finally:
        await conn.close()

    pool = await asyncpg.create_pool(database, min_size=1, max_size=2)
    try:
        await pool.execute(
            "CREATE TABLE youths (tenant char(4), youth_id uuid, status text, purged_at "
            "timestamptz, left_on date)"
        )  # the register's table, as far as retention reads it
        await pool.execute(
            "INSERT INTO youths VALUES ('0180', $1, 'out_of_scope', NULL, '2024-01-10')", youth
        )
        producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap_servers)
        await producer.start()
        try:
            topic = await topics.create("retention")
            result = await run_retention(pool, producer, topic, ["0180"], date(2026, 7, 1))
        finally:
            await producer.stop()
        assert (result.due, result.intake_keys_destroyed) == (1, 1)
        assert result.expired_intake_keys_destroyed == 1
        assert result.keys_destroyed == 1
        assert await pool.fetchval("SELECT count(*) FROM keyring.intake_keys") == 0
        assert await pool.fetchval("SELECT count(*) FROM keyring.youth_keys") == 0
    finally:
        await pool.close()


async def test_a_routine_run_does_not_queue_for_the_keyring_tables(database: str) -> None:
    """A feed load or retention run while a long transaction reads the keyring: the keyring is
    current, so no DDL (whose table lock would wait behind the reader) is run."""
    reader, worker = await asyncpg.connect(database), await asyncpg.connect(database)
    try:
        await worker.execute("SET statement_timeout = '2s'")
        async with reader.transaction():
            await reader.fetch("SELECT * FROM keyring.youth_keys")
            await ensure_keyring(worker)  # would time out on the ALTER TABLE's lock
            with pytest.raises(asyncpg.QueryCanceledError):
                await worker.execute(KEYRING_DDL)  # what it avoided
        await worker.execute("DROP SCHEMA keyring CASCADE")
        await ensure_keyring(worker)  # a database without a keyring gets one
        assert await worker.fetchval("SELECT to_regclass('keyring.intake_keys') IS NOT NULL")
    finally:
        await reader.close()
        await worker.close()
