"""What an operator sees of the dead-letter topics: counts and reasons, never message contents."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer

from shared.contracts.topics import EVENT_TOPICS, FEED_TOPICS, dead_letter_topic
from shared.messaging import partitions_of, stop_consumer


@dataclass(frozen=True)
class DeadLetterSummary:
    topic: str
    count: int
    latest: list[str]


async def summarize(
    bootstrap_servers: str, namespace: str = "", show: int = 3
) -> list[DeadLetterSummary]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        result = []
        for source in (*FEED_TOPICS, *EVENT_TOPICS):
            topic = dead_letter_topic(f"{namespace}{source}")
            partitions = await partitions_of(bootstrap_servers, [topic])
            if not partitions:
                result.append(DeadLetterSummary(topic, 0, []))
                continue
            starts = await consumer.beginning_offsets(partitions)
            ends = await consumer.end_offsets(partitions)
            count = sum(ends[tp] - starts[tp] for tp in partitions)
            latest: list[str] = []
            if show and count:
                consumer.assign(partitions)
                for tp in partitions:
                    consumer.seek(tp, max(starts[tp], ends[tp] - show))
                records = await consumer.getmany(timeout_ms=2000)
                for batch in records.values():
                    for record in batch:
                        headers = dict(record.headers or ())
                        where = (
                            f"{headers.get('kaa.dlq.source.topic', b'?').decode()}"
                            f"[{headers.get('kaa.dlq.source.partition', b'?').decode()}]"
                            f"@{headers.get('kaa.dlq.source.offset', b'?').decode()}"
                        )
                        latest.append(f"{where}: {headers.get('kaa.dlq.reason', b'').decode()}")
                latest = latest[-show:]
            result.append(DeadLetterSummary(topic, count, latest))
        return result
    finally:
        await stop_consumer(consumer)
