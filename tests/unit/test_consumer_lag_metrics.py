"""The consumer lag gauge keeps no partition the group moved elsewhere."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import TopicPartition
from prometheus_client import REGISTRY

from shared import metrics
from shared.messaging.consumer import ExactlyOnceConsumer, _SeekToStoredPositions

GROUP = "test.lag-group"


def lag(topic: str, partition: int) -> float | None:
    return REGISTRY.get_sample_value(
        "kaa_consumer_lag_messages",
        {"group": GROUP, "topic": topic, "partition": str(partition)},
    )


def consumer() -> ExactlyOnceConsumer[Any]:
    return ExactlyOnceConsumer(
        bootstrap_servers="127.0.0.1:1", group_id=GROUP, topics=["t.lag"],
        parse=lambda d: d, sink=None, dead_letters=None, service="test",  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_revoked_partition_is_forgotten_by_the_lag_gauge() -> None:
    runner = consumer()
    first, second = TopicPartition("t.lag", 0), TopicPartition("t.lag", 1)
    metrics.consumer_lag(GROUP, "t.lag", 0, 3)
    metrics.consumer_lag(GROUP, "t.lag", 1, 0)
    runner.next_offsets = {first: 7, second: 4}
    asyncio.run(_SeekToStoredPositions(runner).on_partitions_revoked([first]))
    assert lag("t.lag", 0) is None
    assert lag("t.lag", 1) == 0.0
    assert runner.next_offsets[first] == 7, "its offset still filters a batch fetched before"
    metrics.forget_consumer_lag(GROUP, "t.lag", 0)  # forgetting twice is no error


class _Moved:
    """aiokafka's consumer after a rebalance took a partition away mid-batch: `highwater` of a
    partition not assigned fails (an assertion in aiokafka)."""

    def __init__(self, assigned: set[TopicPartition]) -> None:
        self.assigned = assigned

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)

    def highwater(self, tp: TopicPartition) -> int:
        assert tp in self.assigned, "Partition is not assigned"
        return 10


def test_a_batch_of_a_partition_moved_away_meanwhile_is_measured_without_failing() -> None:
    runner = consumer()
    kept, moved = TopicPartition("t.lag", 2), TopicPartition("t.lag", 3)
    runner.consumer = _Moved({kept})
    runner.next_offsets = {kept: 6, moved: 9}
    runner._measure(moved, [], 0, 0.01)  # before: AssertionError, and the loop restarted
    assert lag("t.lag", 3) is None
    runner._measure(kept, [], 0, 0.01)
    assert lag("t.lag", 2) == 4.0
    metrics.forget_consumer_lag(GROUP, "t.lag", 2)


def test_a_lag_measured_between_revocation_and_assignment_is_forgotten_once_assigned() -> None:
    """aiokafka tells the revocation before the group has agreed the new assignment: a batch that
    ends meanwhile still finds its partition assigned and measures it again."""
    runner = consumer()
    moved = TopicPartition("t.lag", 4)
    runner.consumer = _Moved({moved})
    runner.next_offsets = {moved: 5}
    listener = _SeekToStoredPositions(runner)
    asyncio.run(listener.on_partitions_revoked([moved]))
    runner._measure(moved, [], 0, 0.01)  # the batch that was being applied ends
    assert lag("t.lag", 4) == 5.0
    runner.consumer.assigned = set()
    asyncio.run(listener.on_partitions_assigned([]))
    assert lag("t.lag", 4) is None, "the moved partition's lag is the new owner's to tell"
