"""How far behind the platform's Kafka traffic is, for operators: each consumer group's lag per
partition (its committed offset against the partition's end), and each outbox relay's lag (the
events a service has recorded but its relay has not yet passed to Kafka).

Numbers only: no message is read, so nothing personal can come out of here. `kaa.supervisor`
keeps its own totals for the tests and the demo; the web's operator page reads these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from shared.contracts.topics import SUBSCRIPTIONS
from shared.messaging import partitions_of, stop_consumer
from shared.messaging.relay import RELAY_TRACKING_NAME

# The services whose events go out through an outbox relay (their schema's notification log).
RELAYING: tuple[str, ...] = ("identify", "outreach", "measures")


@dataclass(frozen=True)
class PartitionLag:
    """One consumer group on one partition: `committed` is None when the group has not
    committed there yet (it then has the whole partition before it)."""

    service: str
    group: str
    topic: str
    partition: int
    committed: int | None
    end: int

    @property
    def lag(self) -> int:
        return max(0, self.end - (self.committed or 0))


@dataclass(frozen=True)
class OutboxLag:
    """A service's outbox: `recorded` the last notification id of its event store, `published`
    the relay's position, `waiting` the stored events after it."""

    service: str
    recorded: int
    published: int
    waiting: int


async def lag_by_partition(
    bootstrap_servers: str,
    namespace: str,
    subscriptions: Mapping[str, Sequence[str]] = SUBSCRIPTIONS,
) -> list[PartitionLag]:
    """Every partition each service's consumer group reads (`<namespace>kaa.<service>`), lagging
    or not, in the order service, topic, partition."""
    wanted = {s: [f"{namespace}{t}" for t in topics] for s, topics in subscriptions.items()}
    every = sorted({t for topics in wanted.values() for t in topics})
    partitions = await partitions_of(bootstrap_servers, every)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await admin.start()
    try:
        await consumer.start()
        try:
            ends = await consumer.end_offsets(partitions) if partitions else {}
            found: list[PartitionLag] = []
            for service, topics in sorted(wanted.items()):
                group = f"{namespace}kaa.{service}"
                committed = await admin.list_consumer_group_offsets(group)
                for tp in partitions:
                    if tp.topic not in topics:
                        continue
                    done = committed.get(tp)
                    at = done.offset if done is not None and done.offset >= 0 else None
                    found.append(PartitionLag(service, group, tp.topic, tp.partition, at, ends[tp]))
            return found
        finally:
            await stop_consumer(consumer)
    finally:
        await admin.close()


_RECORDED = 'SELECT coalesce(max(notification_id), 0) FROM "{schema}"."{schema}application_events"'
_PUBLISHED = (
    'SELECT coalesce(max(notification_id), 0) FROM "{schema}"."{schema}application_tracking"'
    " WHERE application_name = $1"
)
_WAITING = 'SELECT count(*) FROM "{schema}"."{schema}application_events" WHERE notification_id > $1'


async def outbox_lag(
    connection: asyncpg.Connection, services: Sequence[str] = RELAYING
) -> list[OutboxLag]:
    """Each relaying service's outbox as its tables say now (a service whose tables do not exist
    yet is left out: it has recorded nothing). Read-only; counts and positions only."""
    found: list[OutboxLag] = []
    for service in services:
        if service not in RELAYING:
            raise ValueError(f"services: {service!r} has no outbox relay")
        table = f"{service}.{service}application_events"
        if await connection.fetchval("SELECT to_regclass($1) IS NOT NULL", table) is not True:
            continue
        recorded = int(await connection.fetchval(_RECORDED.format(schema=service)))
        published = int(
            await connection.fetchval(_PUBLISHED.format(schema=service), RELAY_TRACKING_NAME)
        )
        waiting = int(await connection.fetchval(_WAITING.format(schema=service), published))
        found.append(OutboxLag(service, recorded, published, waiting))
    return found
