"""The consumer lag gauge says what waits now: refreshed while idle, forgotten when revoked."""

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


class _Fetched:
    """What aiokafka's consumer knows after its fetches: assignment and high water marks."""

    def __init__(self, highwater: dict[TopicPartition, int]) -> None:
        self.marks = highwater

    def assignment(self) -> set[TopicPartition]:
        return set(self.marks)

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.marks.get(tp)


def consumer() -> ExactlyOnceConsumer[Any]:
    return ExactlyOnceConsumer(
        bootstrap_servers="127.0.0.1:1", group_id=GROUP, topics=["t.lag"],
        parse=lambda d: d, sink=None, dead_letters=None, service="test",  # type: ignore[arg-type]
    )  # fmt: skip


def test_an_idle_consumer_refreshes_its_lag_and_a_revoked_partition_is_forgotten() -> None:
    runner = consumer()
    first, second = TopicPartition("t.lag", 0), TopicPartition("t.lag", 1)
    fetched = _Fetched({first: 10, second: 4})
    runner.consumer = fetched
    runner.next_offsets = {first: 7, second: 4}
    runner._refresh_lag()
    assert (lag("t.lag", 0), lag("t.lag", 1)) == (3.0, 0.0)
    fetched.marks[first] = 12
    runner._refresh_lag()  # within the second: not again
    assert lag("t.lag", 0) == 3.0
    runner._lag_refreshed -= 1.0
    runner._refresh_lag()
    assert lag("t.lag", 0) == 5.0
    asyncio.run(_SeekToStoredPositions(runner).on_partitions_revoked([first]))
    assert lag("t.lag", 0) is None
    assert lag("t.lag", 1) == 0.0
    metrics.forget_consumer_lag(GROUP, "t.lag", 0)  # forgetting twice is no error
