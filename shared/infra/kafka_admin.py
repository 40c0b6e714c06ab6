"""Explicit topic creation: the broker refuses to create topics on first use, so the platform does it.

Event topics keep their data forever (`retention.ms=-1`, also the broker default here, set again per
topic so the guarantee survives a broker with other defaults).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import for_code

TOPIC_ALREADY_EXISTS = 36

EVENT_LOG_CONFIG: Mapping[str, str] = {"retention.ms": "-1", "retention.bytes": "-1"}


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = 3
    replication_factor: int = 1
    config: Mapping[str, str] = field(default_factory=lambda: dict(EVENT_LOG_CONFIG))


async def ensure_topics(
    bootstrap_servers: str, specs: Iterable[TopicSpec], *, request_timeout_ms: int = 30000
) -> list[str]:
    """Create the topics that do not exist yet; return the names that were created now."""
    specs = list(specs)
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=request_timeout_ms
    )
    await admin.start()
    try:
        response = await admin.create_topics(
            [
                NewTopic(
                    name=spec.name,
                    num_partitions=spec.partitions,
                    replication_factor=spec.replication_factor,
                    topic_configs=dict(spec.config),
                )
                for spec in specs
            ]
        )
    finally:
        await admin.close()
    created: list[str] = []
    for entry in response.topic_errors:
        topic, code = entry[0], entry[1]
        if code == 0:
            created.append(topic)
        elif code != TOPIC_ALREADY_EXISTS:
            message = entry[2] if len(entry) > 2 else ""
            raise for_code(code)(f"could not create topic {topic}: {message}")
    return created


async def delete_topics(bootstrap_servers: str, names: Iterable[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        await admin.delete_topics(list(names))
    finally:
        await admin.close()
