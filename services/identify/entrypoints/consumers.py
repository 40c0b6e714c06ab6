"""identify's Kafka input: the feed topics (population, SS 12000, completions), each carrying its
records and its sources' watermarks, read exactly once into the feed handler."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import orjson
from aiokafka import AIOKafkaProducer
from pydantic import TypeAdapter

from services.identify.adapters.store import IdentifyStore
from services.identify.commands import IdentifyCommands
from shared.contracts.feeds import (
    CompletionFeedMessage,
    FeedInput,
    FeedMessage,
    FeedWatermark,
    PopulationFeedMessage,
    Ss12000FeedMessage,
)
from shared.contracts.topics import COMPLETIONS_FEED, POPULATION_FEED, SS12000_FEED, SUBSCRIPTIONS
from shared.intake import FeedOpener, refuse_plaintext
from shared.messaging.consumer import Delivery, ExactlyOnceConsumer, Rejected
from shared.messaging.eventstore_sink import EventStoreSink
from shared.messaging.parsing import parser
from shared.settings import ServiceSettings


def feed_parser(
    records: TypeAdapter[FeedMessage], served: list[str]
) -> Callable[[Delivery], FeedInput | Rejected]:
    """A feed topic carries its records and its sources' watermarks: a record is parsed as one
    (the common case pays nothing more); what is not a record but says it is a watermark, as
    one, with a watermark's reasons."""
    as_record = parser(records, served)
    as_marker = parser(TypeAdapter(FeedWatermark), served)

    def parse(delivery: Delivery) -> FeedInput | Rejected:
        outcome = as_record(delivery)
        if isinstance(outcome, Rejected) and _says_watermark(delivery.value):
            return as_marker(delivery)
        return outcome

    return parse


def _says_watermark(value: bytes | None) -> bool:
    try:
        data = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return False
    return isinstance(data, dict) and data.get("feed") == "watermark"


def feed_consumer(
    settings: ServiceSettings,
    store: IdentifyStore,
    commands: IdentifyCommands,
    dead_letters: AIOKafkaProducer,
    today: Callable[[], date],
) -> ExactlyOnceConsumer[FeedInput]:
    """The feed topics' consumer: sealed records opened with their intake keys (a watermark
    carries no personal data and is never sealed), each batch applied by the feed handler."""
    parsers: dict[str, Callable[[Delivery], FeedInput | Rejected]] = {
        settings.topic(topic): feed_parser(TypeAdapter(model), settings.tenants)
        for topic, model in (
            (POPULATION_FEED, PopulationFeedMessage),
            (SS12000_FEED, Ss12000FeedMessage),
            (COMPLETIONS_FEED, CompletionFeedMessage),
        )
    }

    def parse_any(delivery: Delivery) -> FeedInput | Rejected:
        return parsers[delivery.topic](delivery)

    parse: Callable[[Delivery], FeedInput | Rejected] = (
        refuse_plaintext(parse_any, unsealed=(FeedWatermark,))
        if settings.feed_plaintext == "refuse"
        else parse_any
    )

    def apply_batch(
        messages: list[FeedInput], topic: str, partition: int, next_offset: int
    ) -> None:
        commands.take_in_feed_batch(messages, topic, partition, next_offset, today())

    return ExactlyOnceConsumer[FeedInput](
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=f"{settings.namespace}kaa.identify",
        topics=[settings.topic(t) for t in SUBSCRIPTIONS["identify"]],
        parse=parse,
        sink=EventStoreSink(store, apply_batch),
        dead_letters=dead_letters,
        service="identify",
        batch_size=settings.batch_size,
        open_sealed=FeedOpener(store.tenant_keys, store.intake_keys).open,
    )
