"""A consumer group on the real broker, as identify's replicas form it: each member reads the same
partition numbers of every topic it reads (`ExactlyOnceConsumer.partitions`), so a person, keyed
alike on every feed topic, is read by one replica, which releases them when they waited.

Not the range assignment, which gives that for any count of members: tried, a member offering
range and round-robin could not join a group of members offering round-robin alone (aiokafka 0.14
sends a join request per strategy, the first with the first strategy alone, and the member failed
with InconsistentGroupProtocol), so a rolling upgrade's new replicas would not have read until
every old one had stopped. Round-robin gives the same numbers whenever the members' count divides
the partitions."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from shared.messaging.consumer import ExactlyOnceConsumer, Parsed
from tests.conftest import RunningInfra, Topics


class Positions:
    """A sink that stores nothing: every partition starts at its first offset."""

    async def positions(self, topic: str, partitions: Sequence[int]) -> dict[int, int]:
        return {}

    async def apply(
        self, topic: str, partition: int, items: list[Parsed[Any]], next_offset: int
    ) -> None:
        return None


def member(
    infra: RunningInfra, group: str, topics: list[str], producer: AIOKafkaProducer
) -> ExactlyOnceConsumer[Any]:
    return ExactlyOnceConsumer[Any](
        bootstrap_servers=infra.bootstrap_servers, group_id=group, topics=topics,
        parse=lambda d: d, sink=Positions(), dead_letters=producer, service="test",
    )  # fmt: skip


async def settled(members: list[ExactlyOnceConsumer[Any]], partitions: int) -> None:
    """Until the members' partition numbers add up to every partition, each read by one."""
    for _ in range(300):
        numbers = [m.partitions for m in members]
        if all(numbers) and sorted(n for ns in numbers for n in ns) == list(range(partitions)):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the group did not settle: {[sorted(n) for n in numbers]}")


@pytest.mark.parametrize("count", [2, 3])
async def test_each_member_reads_the_same_partition_numbers_of_every_topic(
    infra: RunningInfra, topics: Topics, count: int
) -> None:
    names = [await topics.create(f"copart{count}.{n}", partitions=6) for n in ("a", "b", "c")]
    group = f"copart.{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap_servers)
    await producer.start()
    members = [member(infra, group, names, producer) for _ in range(count)]
    runs = [asyncio.ensure_future(m.run()) for m in members]
    try:
        await settled(members, 6)
        for m in members:
            assert m.consumer is not None
            by_topic = {t: {tp.partition for tp in m.consumer.assignment() if tp.topic == t}
                        for t in names}  # fmt: skip
            assert all(numbers == m.partitions for numbers in by_topic.values()), by_topic
            assert len(m.partitions) == 6 // count
    finally:
        for m in members:
            m.request_stop()
        await asyncio.gather(*runs, return_exceptions=True)
        await producer.stop()
