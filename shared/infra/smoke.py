"""The demo's smoke check: one message round-trips through Kafka and one row through PostgreSQL."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.infra.errors import InfraError
from shared.infra.kafka_admin import TopicSpec, ensure_topics

SMOKE_TOPIC = "kaa.infra.smoke.v1"
SMOKE_SCHEMA = "kaa_infra_smoke"


@dataclass(frozen=True)
class SmokeReport:
    kafka_ms: float
    kafka_topic: str
    kafka_partition: int
    kafka_offset: int
    postgres_ms: float
    postgres_version: str
    rows: int

    def lines(self) -> list[str]:
        return [
            f"Kafka       message round-trip {self.kafka_ms:.0f} ms "
            f"(idempotent producer -> {self.kafka_topic}[{self.kafka_partition}] "
            f"offset {self.kafka_offset} -> consumer)",
            f"PostgreSQL  row round-trip {self.postgres_ms:.0f} ms "
            f"(PostgreSQL {self.postgres_version}, {self.rows} smoke rows so far)",
        ]


async def kafka_round_trip(
    bootstrap_servers: str, topic: str = SMOKE_TOPIC
) -> tuple[float, int, int]:
    """Send one message and read it back; return (milliseconds, partition, offset)."""
    await ensure_topics(bootstrap_servers, [TopicSpec(topic, partitions=1)])
    token = uuid.uuid4().hex.encode()
    started = time.perf_counter()
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers, enable_idempotence=True, acks="all"
    )
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, value=token, key=b"smoke")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, sent.partition)
        consumer.assign([tp])
        consumer.seek(tp, sent.offset)
        message = await consumer.getone()
    finally:
        await consumer.stop()
    if message.value != token:
        raise InfraError(f"Kafka returned another message than the one sent to {topic}")
    return (time.perf_counter() - started) * 1000, sent.partition, sent.offset


async def postgres_round_trip(database_url: str) -> tuple[float, str, int]:
    """Write one row and read it back; return (milliseconds, server version, rows in the table)."""
    # The schema name is a constant of this module, never input: formatting it in is safe.
    token = uuid.uuid4()
    started = time.perf_counter()
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SMOKE_SCHEMA}")
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {SMOKE_SCHEMA}.round_trip "
                "(token uuid PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT now())"
            )
            await conn.execute(f"INSERT INTO {SMOKE_SCHEMA}.round_trip (token) VALUES ($1)", token)  # noqa: S608
        read = await conn.fetchval(
            f"SELECT token FROM {SMOKE_SCHEMA}.round_trip WHERE token = $1",  # noqa: S608
            token,
        )
        rows = await conn.fetchval(f"SELECT count(*) FROM {SMOKE_SCHEMA}.round_trip")  # noqa: S608
        version = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    if read != token:
        raise InfraError("PostgreSQL did not return the row just written")
    return (time.perf_counter() - started) * 1000, str(version).split()[0], int(rows)


async def run_smoke_check(bootstrap_servers: str, database_url: str) -> SmokeReport:
    kafka_ms, partition, offset = await kafka_round_trip(bootstrap_servers)
    postgres_ms, version, rows = await postgres_round_trip(database_url)
    return SmokeReport(kafka_ms, SMOKE_TOPIC, partition, offset, postgres_ms, version, rows)
