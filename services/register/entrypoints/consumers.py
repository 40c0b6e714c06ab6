"""The register's Kafka input: every integration-event topic it subscribes to, read exactly once
into the projection (`adapters/projection/sink.py`), each partition's position stored with the
rows it wrote."""

from __future__ import annotations

import asyncpg
from aiokafka import AIOKafkaProducer

from services.register.adapters.projection.sink import RegisterProjection
from shared.contracts.events import AnyEvent
from shared.contracts.topics import SUBSCRIPTIONS
from shared.messaging.consumer import ExactlyOnceConsumer
from shared.messaging.parsing import event_parser
from shared.settings import ServiceSettings


def projection_consumer(
    settings: ServiceSettings, pool: asyncpg.Pool, dead_letters: AIOKafkaProducer
) -> ExactlyOnceConsumer[AnyEvent]:
    """The consumer that projects the register's topics; a message that does not read goes to
    the dead letters, an event that cannot be applied is parked in the register."""
    topics = SUBSCRIPTIONS["register"]
    return ExactlyOnceConsumer[AnyEvent](
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=f"{settings.namespace}kaa.register",
        topics=[settings.topic(t) for t in topics],
        parse=event_parser(topics, settings.namespace, settings.tenants),
        sink=RegisterProjection(pool),
        dead_letters=dead_letters,
        service="register",
        batch_size=settings.batch_size,
    )
