"""The Kafka inputs of a caseworker service: identify's events (scope, school notifications) and
whatever further topics the service reads (outreach: the measures service's follow-ups), each
batch handed to the use case that takes it (`commands.take_in_identify_batch`, the service's
own), exactly once."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaProducer

from shared.casework.adapters.store import CaseApplication
from shared.casework.commands import take_in_identify_batch
from shared.contracts.events import AnyEvent
from shared.contracts.topics import IDENTIFY_EVENTS, SUBSCRIPTIONS
from shared.messaging.consumer import ExactlyOnceConsumer
from shared.messaging.eventstore_sink import EventStoreSink
from shared.messaging.parsing import event_parser
from shared.settings import ServiceSettings

BatchHandler = Callable[[list[Any], str, int, int], None]
# The name of the consumer's background loop (in /health and the logs).
LOOP = "inputs-consumer"


def inputs_consumer(
    name: str,
    settings: ServiceSettings,
    application: CaseApplication,
    dead_letters: AIOKafkaProducer,
    also_consume: dict[str, BatchHandler] | None = None,
) -> ExactlyOnceConsumer[AnyEvent]:
    """The consumer of the service's inputs: identify's events and `also_consume` (an unprefixed
    topic → the use case taking its batches). Its positions are stored with the application's
    events, under the consumer group `<namespace>kaa.<name>`. Refuses a set of topics other than
    what the service's contract declares (`SUBSCRIPTIONS`), which is what the documents show."""
    handlers: dict[str, BatchHandler] = {
        settings.topic(IDENTIFY_EVENTS): functools.partial(take_in_identify_batch, application),
        **{settings.topic(topic): take for topic, take in (also_consume or {}).items()},
    }
    declared = {settings.topic(topic) for topic in SUBSCRIPTIONS[name]}
    if set(handlers) != declared:
        raise RuntimeError(f"{name} consumes {sorted(handlers)}, its contract {sorted(declared)}")

    def apply_batch(messages: list[Any], topic: str, partition: int, offset: int) -> None:
        handlers[topic](messages, topic, partition, offset)

    return ExactlyOnceConsumer[AnyEvent](
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=f"{settings.namespace}kaa.{name}",
        topics=list(handlers),
        parse=event_parser(SUBSCRIPTIONS[name], settings.namespace, settings.tenants),
        sink=EventStoreSink(application, apply_batch),
        dead_letters=dead_letters,
        service=name,
        batch_size=settings.batch_size,
    )
