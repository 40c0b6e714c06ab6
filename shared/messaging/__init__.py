"""Kafka plumbing every service uses: the exactly-once-effect consumer, the outbox relay, dead letters."""

import asyncio

from aiokafka import AIOKafkaConsumer


async def stop_consumer(consumer: AIOKafkaConsumer) -> None:
    """Stop a consumer; aiokafka 0.14 can raise a stray CancelledError from its own closing
    coordinator task, which must not be mistaken for a cancellation of ours."""
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
