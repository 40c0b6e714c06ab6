"""Explicit topic creation: the broker refuses to create topics on first use, so the platform does it.

Event topics keep their data forever (`retention.ms=-1`, also the broker default here, set again per
topic so the guarantee survives a broker with other defaults).

Replication is asked of the cluster when a topic is created, not configured: the number of brokers
the cluster reports decides it (`replication_for`), so one setting can never disagree with the
cluster it describes (a replication factor above the broker count fails the creation; one below it
silently gives up the copies). A production cluster has its topics made beforehand (Strimzi's
KafkaTopic resources), and topics that exist are never changed here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import for_code

TOPIC_ALREADY_EXISTS = 36

EVENT_LOG_CONFIG: Mapping[str, str] = {"retention.ms": "-1", "retention.bytes": "-1"}


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = 3
    # None: as the cluster allows (`replication_for` its broker count), with its min.insync.replicas.
    replication_factor: int | None = None
    config: Mapping[str, str] = field(default_factory=lambda: dict(EVENT_LOG_CONFIG))


@dataclass(frozen=True)
class PartitionState:
    """Who leads a partition, who holds copies and which copies are in sync (broker ids)."""

    topic: str
    partition: int
    leader: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]


def replication_for(brokers: int) -> tuple[int, int]:
    """(replication factor, min.insync.replicas) on a cluster of `brokers` brokers.

    Three copies from three brokers on, two of them in sync before a write (acks=all) counts: one
    broker may die or restart without a write lost or refused. Fewer brokers keep a copy on each
    and require one in sync (two of two would stop every write while either restarts)."""
    replication = max(1, min(brokers, 3))
    return replication, 2 if replication >= 3 else 1


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
        automatic = replication_for(await cluster_size(admin))
        response = await admin.create_topics([_new_topic(spec, automatic) for spec in specs])
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


def _new_topic(spec: TopicSpec, automatic: tuple[int, int]) -> NewTopic:
    config = dict(spec.config)
    replication = spec.replication_factor
    if replication is None:
        replication, min_insync = automatic
        config.setdefault("min.insync.replicas", str(min_insync))
    return NewTopic(
        name=spec.name,
        num_partitions=spec.partitions,
        replication_factor=replication,
        topic_configs=config,
    )


async def broker_count(admin: AIOKafkaAdminClient) -> int:
    """The brokers the cluster's metadata lists now (the live ones)."""
    return len((await admin.describe_cluster())["brokers"])


async def cluster_size(admin: AIOKafkaAdminClient) -> int:
    """How many brokers the cluster is made for: the live ones, or more when a broker says its
    `default.replication.factor` is higher (a broker down while topics are made). A topic is then
    asked for the cluster's replication, which Kafka refuses while too few brokers live (a
    failure of the world's: the start-up waits) — never made with fewer copies for good."""
    brokers = (await admin.describe_cluster())["brokers"]
    if not brokers:
        return 0
    responses = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.BROKER, str(brokers[0]["node_id"]),
                        {"default.replication.factor": None})]
    )  # fmt: skip
    configured = 1
    for response in responses:
        for resource in response.resources:
            for entry in resource[4]:  # (name, value, read_only, ...)
                if entry[0] == "default.replication.factor" and str(entry[1]).isdigit():
                    configured = int(entry[1])
    return max(len(brokers), configured)


async def delete_topics(bootstrap_servers: str, names: Iterable[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        await admin.delete_topics(list(names))
    finally:
        await admin.close()


async def partition_states(
    bootstrap_servers: str, topics: Iterable[str], *, request_timeout_ms: int = 10000
) -> list[PartitionState]:
    """Leader, replicas and in-sync replicas of every partition of `topics` (for the operator's
    questions: which broker leads most, is anything under-replicated). A topic the metadata does
    not describe yet (just created, or no leader now) has no entries."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=request_timeout_ms
    )
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    return [
        PartitionState(
            topic=t["topic"],
            partition=p["partition"],
            leader=p["leader"],
            replicas=tuple(p["replicas"]),
            isr=tuple(p["isr"]),
        )
        for t in described
        if t["error_code"] == 0
        for p in t["partitions"]
    ]


async def topic_config(
    bootstrap_servers: str, topic: str, keys: Iterable[str]
) -> dict[str, str | None]:
    """The values a topic has for the configuration `keys` (its own or the broker's default).

    Raises the broker's error when it refuses (a broker whose metadata has not reached a topic made
    a moment ago answers "unknown topic" for it, while another already knows it)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, dict.fromkeys(keys))]
        )
    finally:
        await admin.close()
    values: dict[str, str | None] = {}
    for response in responses:
        for resource in response.resources:  # (error_code, error_message, type, name, entries)
            if resource[0]:
                refusal = for_code(resource[0])
                raise refusal(f"could not describe topic {topic}: {resource[1] or refusal.message}")
            for entry in resource[4]:  # (name, value, read_only, ...)
                values[entry[0]] = entry[1]
    return values
