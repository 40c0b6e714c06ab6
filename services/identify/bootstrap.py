"""Composition root of the identify service: settings, event store, consumer, relay, HTTP app."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from pydantic import TypeAdapter

from services.identify.application import IdentifyApplication
from services.identify.integration import to_integration_event
from shared.contracts.feeds import FeedMessage, PopulationFeedMessage, Ss12000FeedMessage
from shared.contracts.topics import POPULATION_FEED, SS12000_FEED
from shared.eventstore import ensure_schema, eventsourcing_env
from shared.messaging.consumer import Delivery, ExactlyOnceConsumer, Rejected
from shared.messaging.eventstore_sink import EventStoreSink
from shared.messaging.parsing import parser
from shared.messaging.relay import OutboxRelay
from shared.runtime import BackgroundLoops, idempotent_producer, service_app
from shared.settings import ServiceSettings

SCHEMA = "identify"
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def create_app(settings: ServiceSettings) -> FastAPI:
    def today() -> date:
        return settings.today or datetime.now(STOCKHOLM).date()

    async def setup(app: FastAPI, loops: BackgroundLoops) -> Callable[[], Awaitable[None]]:
        database_url = settings.database_url.get_secret_value()
        await asyncio.to_thread(ensure_schema, database_url, SCHEMA)
        application = await asyncio.to_thread(
            IdentifyApplication,
            eventsourcing_env(database_url, SCHEMA),
            pseudonym_key=settings.pseudonym_key.get_secret_value(),
            served_tenants=settings.tenants,
        )
        producer = idempotent_producer(settings)
        await producer.start()

        population_topic = settings.topic(POPULATION_FEED)
        parse_population = parser(TypeAdapter(PopulationFeedMessage), settings.tenants)
        parse_ss12000 = parser(TypeAdapter(Ss12000FeedMessage), settings.tenants)

        def parse(delivery: Delivery) -> FeedMessage | Rejected:
            if delivery.topic == population_topic:
                return parse_population(delivery)
            return parse_ss12000(delivery)

        def apply_batch(
            messages: list[FeedMessage], topic: str, partition: int, next_offset: int
        ) -> None:
            application.take_in_feed_batch(messages, topic, partition, next_offset, today())

        consumer = ExactlyOnceConsumer[FeedMessage](
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=f"{settings.namespace}kaa.identify",
            topics=[population_topic, settings.topic(SS12000_FEED)],
            parse=parse,
            sink=EventStoreSink(application, apply_batch),
            dead_letters=producer,
            service="identify",
            batch_size=settings.batch_size,
        )
        relay = OutboxRelay(
            application, producer, to_integration_event, topic_prefix=settings.namespace
        )
        loops.add("feed-consumer", consumer.run)
        loops.add("outbox-relay", relay.run)
        app.state.application = application

        async def teardown() -> None:
            await producer.stop()
            await asyncio.to_thread(application.close)

        return teardown

    return service_app(title="kaa identify", settings=settings, setup=setup)
