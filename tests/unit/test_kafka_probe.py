"""The readiness probe asks the brokers for themselves only, and tries every broker it knows."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError, KafkaError

from shared.health import brokers_answer


class Cluster:
    def __init__(self, nodes: list[int]) -> None:
        self.nodes = nodes
        self.updated: list[Any] = []

    def brokers(self) -> list[Any]:
        return [SimpleNamespace(nodeId=n) for n in self.nodes]

    def update_metadata(self, answer: Any) -> None:
        self.updated.append(answer)


class Client:
    """Nodes in `down` refuse; the others answer with one broker."""

    def __init__(self, nodes: list[int], down: set[int]) -> None:
        self.cluster = Cluster(nodes)
        self.down = down
        self.asked: list[tuple[int, Any]] = []

    async def send(self, node: int, request: Any) -> Any:
        self.asked.append((node, request))
        if node in self.down:
            raise KafkaConnectionError(f"node {node} is down")
        return SimpleNamespace(brokers=[(node, "127.0.0.1", 9092, None)], topics=[])


async def test_the_request_names_no_topic_and_the_answer_refreshes_the_brokers() -> None:
    client = Client([1], down=set())
    await brokers_answer(client)
    [(node, request)] = client.asked
    assert node == 1
    assert request._topics == []  # an empty list: no topic (None would ask for every topic)
    assert len(client.cluster.updated) == 1


async def test_a_broker_that_does_not_answer_is_passed_over_for_another() -> None:
    client = Client([1, 2, 3], down={1, 2})
    await brokers_answer(client)
    assert client.asked[-1][0] == 3
    assert len(client.cluster.updated) == 1


async def test_no_broker_answering_is_an_error() -> None:
    client = Client([1, 2], down={1, 2})
    with pytest.raises(KafkaError, match="no Kafka broker answered"):
        await brokers_answer(client)
    assert sorted(node for node, _ in client.asked) == [1, 2]
    assert client.cluster.updated == []
