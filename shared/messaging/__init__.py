"""Kafka plumbing every service uses: the exactly-once-effect consumer, the outbox relay, dead letters."""

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


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
