"""Composition root of the identify service, read top to bottom: settings, the feed topics'
partitions, the event store and the handlers on it, go-live, the feed consumer, the outbox relay,
the clock's loops, the school-notification API and the coordinator's registered-in-error API."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import date, datetime
from zoneinfo import ZoneInfo

import structlog
from fastapi import FastAPI

from services.identify import commands as handlers
from services.identify.adapters.outbound import RELAYED, to_integration_event
from services.identify.adapters.policies import tenant_policies
from services.identify.adapters.store import SCHEMA
from services.identify.entrypoints.consumers import feed_consumer
from services.identify.entrypoints.http import IdentifyRuntime, in_error_routes, routes
from services.identify.entrypoints.schedule import pending_release, scope_schedule
from shared.auth import principal_dependency, require_role
from shared.contracts.topics import FEED_BY_NAME, IDENTIFY_EVENTS, dead_letter_topic
from shared.eventstore import ensure_schema
from shared.messaging import partitions_of
from shared.messaging.relay import OutboxRelay
from shared.runtime import BackgroundLoops, idempotent_producer, service_app, with_closing
from shared.settings import ServiceSettings
from shared.tracing import traced

log = structlog.get_logger(__name__)


def create_app(settings: ServiceSettings) -> FastAPI:
    served = tenant_policies(settings)
    # One calendar for the service: the first tenant's zone (Europe/Stockholm by default).
    zone = ZoneInfo(next(iter(served.values())).time_zone)

    def today() -> date:
        return settings.today or datetime.now(zone).date()

    runtime = IdentifyRuntime()  # the handlers, once the store is open

    @with_closing
    async def setup(app: FastAPI, loops: BackgroundLoops, closing: AsyncExitStack) -> None:
        # Watermarks are checked against their topic: its feed and its number of partitions.
        counts: dict[str, int] = {}
        for tp in await partitions_of(
            settings.kafka_bootstrap_servers, [settings.topic(t) for t in FEED_BY_NAME.values()]
        ):
            counts[tp.topic] = counts.get(tp.topic, 0) + 1
        feed_topics = {
            settings.topic(topic): (feed, counts[settings.topic(topic)])
            for feed, topic in FEED_BY_NAME.items()
            if settings.topic(topic) in counts
        }

        # The event store and the handlers on it, which the routes run on from now.
        database_url = settings.database_url.get_secret_value()
        await asyncio.to_thread(ensure_schema, database_url, SCHEMA, namespace=settings.namespace)
        commands = await asyncio.to_thread(
            lambda: handlers.from_settings(settings, feed_topics=feed_topics)
        )
        store = commands.store
        closing.push_async_callback(asyncio.to_thread, store.close)
        # Once: the persons' keyed hashes for keys made before identify kept them (counts only).
        filled = await asyncio.to_thread(
            store.fill_subjects,
            lambda made, of: log.info(
                "keyring: keys made for youths without one", made=made, of=of
            ),
        )
        if not filled.done_before:
            log.info(
                "keyring: persons' keyed hashes filled in",
                filled=filled.filled, keys_made=filled.made, skipped=filled.skipped,
                without_subject=filled.left,
            )  # fmt: skip
        runtime.start(commands)

        # Go-live per municipality.
        go_live = await asyncio.to_thread(commands.start_go_live, today())
        log.info("go-live per municipality", go_live={t: str(d) for t, d in go_live.items()})
        if commands.go_live_before_first_run:
            log.warning(
                "go_live is set earlier than the day identify first ran: episodes found late "
                "since then will be recorded with their real dates",
                tenants=commands.go_live_before_first_run,
            )

        # Kafka: the feeds in, the events out.
        producer = idempotent_producer(settings)
        closing.push_async_callback(producer.stop)  # also what a start that failed left open
        await producer.start()
        consumer = feed_consumer(settings, store, commands, producer, today)
        relay = OutboxRelay(
            store,
            producer,
            to_integration_event,
            topic_prefix=settings.namespace,
            relayed=RELAYED,
            park_topic=dead_letter_topic(settings.topic(IDENTIFY_EVENTS)),
            service="identify",
        )

        loops.add("feed-consumer", consumer.run)
        loops.add(
            "pending-release",
            pending_release(settings, commands, today, lambda: consumer.partitions),
        )
        loops.parked("feed-consumer", lambda: (consumer.parked.count, consumer.parked.last_reason))
        loops.parked("outbox-relay", lambda: (relay.parked.count, relay.parked.last_reason))
        loops.add("outbox-relay", relay.run)
        loops.add("scope-schedule", scope_schedule(settings, commands, today))

    # HTTP: school notifications, for the role school-reporter.
    app = service_app(title="kaa identify", settings=settings, setup=setup)
    authenticate = principal_dependency(settings.token_verifier(), settings.tenants)
    app.include_router(routes(runtime, require_role(authenticate, "school-reporter"), today))
    # Episodes registered in error, for the municipality's coordinator.
    app.include_router(in_error_routes(runtime, require_role(authenticate, "coordinator")))
    return traced(app, "identify")  # when a collector is named (OTEL_EXPORTER_OTLP_ENDPOINT)
