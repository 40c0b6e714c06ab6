"""The launched Kafka broker behaves like the event log the platform relies on."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from unittest.mock import patch

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, UnknownTopicOrPartitionError
from aiokafka.structs import OffsetAndMetadata

from shared.health import KafkaProbe
from tests.conftest import RunningInfra, Topics


async def _consume(
    consumer: AIOKafkaConsumer, count: int, timeout_ms: int = 20000
) -> list[tuple[bytes, bytes]]:
    received: list[tuple[bytes, bytes]] = []
    while len(received) < count:
        batch = await consumer.getmany(timeout_ms=timeout_ms)
        if not batch:
            break
        for records in batch.values():
            received.extend((r.key, r.value) for r in records)
    return received


async def test_idempotent_producer_round_trip_keeps_order_per_key(
    infra: RunningInfra, topics: Topics
) -> None:
    topic = await topics.create("roundtrip", partitions=3)
    youths = [str(uuid.uuid4()).encode() for _ in range(5)]
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.bootstrap_servers, enable_idempotence=True, acks="all"
    )
    await producer.start()
    try:
        for seq in range(20):
            for youth in youths:
                await producer.send(topic, key=youth, value=f"{seq}".encode())
        await producer.flush()
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=infra.bootstrap_servers,
        group_id=f"{topic}.reader",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        received = await _consume(consumer, 100)
    finally:
        await consumer.stop()

    per_youth: dict[bytes, list[int]] = defaultdict(list)
    for key, value in received:
        per_youth[key].append(int(value))
    assert len(received) == 100, "every message arrives exactly once"
    assert set(per_youth) == set(youths)
    for sequence in per_youth.values():
        assert sequence == list(range(20)), "one youth's events stay in order"


async def test_topics_are_not_created_on_first_use(infra: RunningInfra) -> None:
    """auto.create.topics.enable=false: the platform creates its topics explicitly."""
    name = f"test.{uuid.uuid4().hex[:10]}.never-created"
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap_servers, request_timeout_ms=2000)
    await producer.start()
    try:
        with pytest.raises(UnknownTopicOrPartitionError):
            await producer.send_and_wait(name, b"lost?")
    finally:
        await producer.stop()
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap_servers)
    await admin.start()
    try:
        assert name not in await admin.list_topics()
    finally:
        await admin.close()


async def test_event_topics_keep_data_forever(infra: RunningInfra, topics: Topics) -> None:
    topic = await topics.create("retention", partitions=1)
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap_servers)
    await admin.start()
    try:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    configs = {entry[0]: entry[1] for resource in response.resources for entry in resource[4]}
    assert configs["retention.ms"] == "-1"
    assert configs["retention.bytes"] == "-1"


async def test_consumer_group_resumes_from_committed_offsets_after_broker_restart(
    launched_infra: RunningInfra, topics: Topics
) -> None:
    infra = launched_infra
    topic = await topics.create("resume", partitions=1)
    group = f"{topic}.group"

    async def produce(values: range) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=infra.bootstrap_servers, enable_idempotence=True, acks="all"
        )
        await producer.start()
        try:
            for n in values:
                await producer.send_and_wait(topic, key=b"youth", value=str(n).encode())
        finally:
            await producer.stop()

    def consumer() -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            topic,
            bootstrap_servers=infra.bootstrap_servers,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            max_poll_records=5,
        )

    await produce(range(10))
    first = consumer()
    await first.start()
    try:
        batch = await _consume(first, 5)
        assert [int(v) for _, v in batch[:5]] == [0, 1, 2, 3, 4]
        # Commit exactly after the fifth message: the next reader must start at the sixth.
        await first.commit({TopicPartition(topic, 0): OffsetAndMetadata(5, "")})
    finally:
        await first.stop()

    old_pid = infra.infrastructure.status().kafka.pid
    restarted = await asyncio.to_thread(infra.infrastructure.restart, "kafka", crash=True)
    assert restarted.pid != old_pid, "the broker process really was replaced"

    await produce(range(10, 15))
    second = consumer()
    await second.start()
    try:
        resumed = await _consume(second, 10)
    finally:
        await second.stop()
    assert [int(v) for _, v in resumed] == list(range(5, 15))


async def test_the_health_probe_finds_the_broker_with_a_request_for_no_topic(
    infra: RunningInfra,
) -> None:
    probe = KafkaProbe(infra.bootstrap_servers)
    try:
        await probe()  # connects
        await probe()  # asks (`brokers_answer`: tests/unit/test_kafka_probe.py)
        assert probe.client is not None
        assert probe.client.cluster.brokers()
        assert probe.client.cluster.topics() == set()  # the broker answered without any topic
        with (
            patch("shared.health.brokers_answer", side_effect=KafkaError("no answer")),
            pytest.raises(KafkaError),
        ):
            await probe()
        assert probe.client is None  # dropped: the next probe connects afresh
        await probe()
        await probe()
        assert probe.client is not None
    finally:
        await probe.close()
    refused = KafkaProbe("127.0.0.1:9")  # nothing listens there
    with pytest.raises(KafkaError):
        await refused()
    await refused.close()
