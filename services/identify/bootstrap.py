"""Composition root of the identify service: settings, event store, feed consumer, relay, scope
schedule and the school-notification API."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
import structlog
from eventsourcing.persistence import IntegrityError
from fastapi import FastAPI
from pydantic import TypeAdapter

from services.identify.application import IdentifyApplication
from services.identify.http import routes
from services.identify.integration import RELAYED, to_integration_event
from services.identify.scope import TenantPolicy
from shared.auth import principal_dependency, require_role
from shared.contracts.feeds import (
    SOURCE_PATTERN,
    CompletionFeedMessage,
    FeedInput,
    FeedMessage,
    FeedWatermark,
    PopulationFeedMessage,
    Ss12000FeedMessage,
)
from shared.contracts.topics import (
    COMPLETIONS_FEED,
    FEED_BY_NAME,
    IDENTIFY_EVENTS,
    POPULATION_FEED,
    SS12000_FEED,
    SUBSCRIPTIONS,
    dead_letter_topic,
)
from shared.eventstore import ensure_schema, eventsourcing_env
from shared.intake import FeedOpener, refuse_plaintext
from shared.messaging import partitions_of
from shared.messaging.consumer import Delivery, ExactlyOnceConsumer, Rejected
from shared.messaging.eventstore_sink import EventStoreSink
from shared.messaging.parsing import parser
from shared.messaging.relay import OutboxRelay
from shared.runtime import BackgroundLoops, idempotent_producer, service_app
from shared.settings import ServiceSettings

SCHEMA = "identify"
log = structlog.get_logger(__name__)


def tenant_policies(settings: ServiceSettings) -> dict[str, TenantPolicy]:
    """Each served municipality's policy: the defaults, overridden by KAA_TENANT_POLICIES."""
    unknown = set(settings.tenant_policies) - set(settings.tenants)
    if unknown:
        raise ValueError(f"KAA_TENANT_POLICIES: {sorted(unknown)} are not in KAA_TENANTS")
    policies = {}
    for tenant in settings.tenants:
        given = dict(settings.tenant_policies.get(tenant, {}))
        sources = given.pop("feed_sources", settings.feed_sources)
        if not isinstance(sources, list) or not all(
            isinstance(s, str) and re.fullmatch(SOURCE_PATTERN, s) for s in sources
        ):
            raise ValueError(
                f"KAA_TENANT_POLICIES[{tenant}]: feed_sources must be a list of source names"
            )
        if "go_live" in given:
            try:
                given["go_live"] = date.fromisoformat(str(given["go_live"]))
            except ValueError:
                raise ValueError(
                    f"KAA_TENANT_POLICIES[{tenant}]: go_live must be a date, YYYY-MM-DD"
                ) from None
        try:
            policies[tenant] = TenantPolicy(**given, feed_sources=tuple(sources))
        except TypeError as exc:
            raise ValueError(f"KAA_TENANT_POLICIES[{tenant}]: {exc}") from None
    return policies


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


def create_app(settings: ServiceSettings) -> FastAPI:
    served = tenant_policies(settings)
    # One calendar for the service: the first tenant's zone (Europe/Stockholm by default).
    zone = ZoneInfo(next(iter(served.values())).time_zone)

    def today() -> date:
        return settings.today or datetime.now(zone).date()

    async def setup(app: FastAPI, loops: BackgroundLoops) -> Callable[[], Awaitable[None]]:
        database_url = settings.database_url.get_secret_value()
        await asyncio.to_thread(ensure_schema, database_url, SCHEMA, namespace=settings.namespace)
        application = await asyncio.to_thread(
            lambda: IdentifyApplication(
                eventsourcing_env(database_url, SCHEMA),
                pseudonym_key=settings.pseudonym_key.get_secret_value(),
                served=served,
                master_key=settings.master_key.get_secret_value(),
                seal_personal_data=settings.personal_data == "sealed",
                settle=timedelta(seconds=settings.feed_settle),
            )
        )
        started = await asyncio.to_thread(application.start_go_live, today())
        log.info("go-live per municipality", go_live={t: str(d) for t, d in started.items()})
        if application.go_live_before_first_run:
            log.warning(
                "go_live is set earlier than the day identify first ran: episodes found late "
                "since then will be recorded with their real dates",
                tenants=application.go_live_before_first_run,
            )
        # Watermarks are checked against their topic: its feed and its number of partitions.
        counts: dict[str, int] = {}
        for tp in await partitions_of(
            settings.kafka_bootstrap_servers, [settings.topic(t) for t in FEED_BY_NAME.values()]
        ):
            counts[tp.topic] = counts.get(tp.topic, 0) + 1
        application.feed_topics = {
            settings.topic(topic): (feed, counts[settings.topic(topic)])
            for feed, topic in FEED_BY_NAME.items()
            if settings.topic(topic) in counts
        }
        producer = idempotent_producer(settings)
        await producer.start()

        # Each feed topic carries its records and the watermarks that say a source is complete.
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

        # A watermark carries no personal data: it is never sealed.
        parse: Callable[[Delivery], FeedInput | Rejected] = (
            refuse_plaintext(parse_any, unsealed=(FeedWatermark,))
            if settings.feed_plaintext == "refuse"
            else parse_any
        )
        opener = FeedOpener(application.tenant_keys, application.intake_keys)

        def apply_batch(
            messages: list[FeedInput], topic: str, partition: int, next_offset: int
        ) -> None:
            application.take_in_feed_batch(messages, topic, partition, next_offset, today())

        consumer = ExactlyOnceConsumer[FeedInput](
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=f"{settings.namespace}kaa.identify",
            topics=[settings.topic(t) for t in SUBSCRIPTIONS["identify"]],
            parse=parse,
            sink=EventStoreSink(application, apply_batch),
            dead_letters=producer,
            service="identify",
            batch_size=settings.batch_size,
            open_sealed=opener.open,
        )
        relay = OutboxRelay(
            application,
            producer,
            to_integration_event,
            topic_prefix=settings.namespace,
            relayed=RELAYED,
            park_topic=dead_letter_topic(settings.topic(IDENTIFY_EVENTS)),
            service="identify",
        )

        async def scope_schedule() -> None:
            """Time-based transitions (compulsory school ends, 20th birthday) with no input."""
            while True:
                due = await asyncio.to_thread(application.run_schedule, today())
                if due:
                    log.info("scope schedule evaluated persons", persons=due)
                    continue  # more may be due
                await asyncio.sleep(settings.schedule_interval)

        # Persons decided per release round (one transaction): they are in memory already, so a
        # round takes more than a feed batch.
        release_round = 4 * settings.batch_size

        async def release_pending() -> None:
            """Decide the persons who waited for their feeds' watermarks (or the settle window):
            at once when a watermark was taken, else every `schedule_interval` at the latest."""
            waited = 0.0
            while True:
                if application.release_wanted.is_set() or waited >= min(
                    settings.schedule_interval, max(settings.feed_settle, 1.0)
                ):
                    application.release_wanted.clear()
                    waited = 0.0
                    while True:  # in rounds of a batch, each its own transaction
                        try:
                            decided = await asyncio.to_thread(
                                application.release_pending, today(), None, release_round
                            )
                        except IntegrityError:  # replicas deciding the same persons: later
                            log.info("pending release met concurrent writes; tries again")
                            application.release_wanted.set()
                            break
                        if decided:
                            log.info("pending persons decided", persons=decided)
                        if decided < release_round:
                            break
                await asyncio.sleep(0.1)
                waited += 0.1

        loops.add("feed-consumer", consumer.run)
        loops.add("pending-release", release_pending)
        loops.parked("feed-consumer", lambda: (consumer.parked.count, consumer.parked.last_reason))
        loops.parked("outbox-relay", lambda: (relay.parked.count, relay.parked.last_reason))
        loops.add("outbox-relay", relay.run)
        loops.add("scope-schedule", scope_schedule)
        app.state.application = application

        async def teardown() -> None:
            await producer.stop()
            await asyncio.to_thread(application.close)

        return teardown

    app = service_app(title="kaa identify", settings=settings, setup=setup)
    authenticate = principal_dependency(settings.token_verifier(), settings.tenants)
    app.include_router(routes(require_role(authenticate, "school-reporter"), today))
    return app
