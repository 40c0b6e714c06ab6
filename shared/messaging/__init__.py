"""Kafka plumbing every service uses: the exactly-once-effect consumer, the outbox relay, dead letters."""

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord


async def stop_consumer(consumer: AIOKafkaConsumer) -> None:
    """Stop a consumer; aiokafka 0.14 can raise a stray CancelledError from its own closing
    coordinator task, which must not be mistaken for a cancellation of ours."""
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise


async def partitions_of(bootstrap_servers: str, topics: list[str]) -> list[TopicPartition]:
    """Every partition of the given topics that exist (missing topics have none)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    result = []
    for topic in described:
        if topic.get("error_code", 0) == 0:
            for partition in topic["partitions"]:
                result.append(TopicPartition(topic["topic"], partition["partition"]))
    return sorted(result)


async def read_topics(
    bootstrap_servers: str, topics: list[str]
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record on the topics, from the beginning to their end as it is now (for scans by
    tests, the demo and operators; not for consuming)."""
    partitions = await partitions_of(bootstrap_servers, topics)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers)
    await consumer.start()
    out: list[ConsumerRecord[bytes, bytes]] = []
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                out.extend(records)
        return out
    finally:
        await stop_consumer(consumer)
