"""Transactional outbox relay: a service's event store, published to Kafka in order, at least once.

The outbox is the `eventsourcing` notification log: domain events are committed with the aggregate
changes that caused them, so nothing is published that did not happen and nothing that happened is
missed. The relay reads notifications after its last acknowledged position, maps each to an
integration event (or skips it when it is internal), publishes them with an idempotent producer,
waits for every acknowledgement, and only then records the new position in the service's tracking
table. After a crash it resumes from the last recorded position, so some events may be published
again; their `event_id` is derived from the domain event, so consumers recognise the repeat.

A stored event that cannot be made into its public event (one recorded before a contract became
stricter, a mapper's bug) is parked, not retried forever: its stored bytes go to the service's
dead-letter topic with the reason, it is counted (/health), and the relay goes on with the next.

`request_stop()` ends the relay after the batch it is publishing has been acknowledged and its
position recorded. What it published is counted in the process's metrics, with how many stored
events wait after its position (read at most once a second; 0 when a poll found nothing new).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.utils import get_topic, resolve_topic

from shared import metrics
from shared.contracts.envelope import IntegrationEvent
from shared.eventstore import BatchProcessRecorder, Lease
from shared.messaging.failures import failure_reason
from shared.messaging.parking import MAX_TRACED, ParkedCount
from shared.tracing import correlation_headers

log = structlog.get_logger(__name__)

_EVENT_ID_NAMESPACE = uuid.UUID("0d6c8f2e-3b7a-4f0e-9d61-7a1e2c5b8f40")
RELAY_TRACKING_NAME = "kafka-relay"

# A domain event maps to no public event (internal facts), one, or several.
Mapper = Callable[[Any], IntegrationEvent | list[IntegrationEvent] | None]


def event_id_for(
    service: str, originator_id: uuid.UUID, originator_version: int, part: str = ""
) -> uuid.UUID:
    """A stable integration event id for a domain event: re-publication yields the same id.

    The service name is part of it: outreach and measures both key their cases by youth id, so
    their aggregates share ids and versions.
    """
    suffix = f":{part}" if part else ""
    return uuid.uuid5(
        _EVENT_ID_NAMESPACE, f"{service}:{originator_id}:{originator_version}{suffix}"
    )


def envelope_of(service: str, e: Any, occurred_at: Any = None) -> dict[str, Any]:
    """The envelope fields of a caseworker service's domain event (it carries the tenant, the
    actor and the correlation id; the aggregate id is the youth id). `occurred_at` defaults to
    when it was recorded."""
    return {
        "event_id": event_id_for(service, e.originator_id, e.originator_version),
        "tenant": e.tenant,
        "youth_id": e.originator_id,
        "occurred_at": occurred_at or e.timestamp,
        "recorded_at": e.timestamp,
        "actor": e.actor,
        "correlation_id": e.correlation_id,
    }


class OutboxRelay:
    def __init__(
        self,
        app: Application[uuid.UUID],
        producer: AIOKafkaProducer,
        mapper: Mapper,
        *,
        batch_size: int = 2000,
        poll_interval: float = 0.05,
        gather_interval: float = 0.02,
        topic_prefix: str = "",
        relayed: Iterable[type[Any]] | None = None,
        standby_interval: float = 1.0,
        park_topic: str | None = None,
        service: str = "relay",
    ) -> None:
        if not isinstance(app.recorder, BatchProcessRecorder):
            raise TypeError(
                "the relay needs a KafkaFedApplication's recorder (tracking table, relay batches)"
            )
        self.app = app
        self.recorder: BatchProcessRecorder = app.recorder
        self.producer = producer
        self.mapper = mapper
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        # After a batch that was not full, the events stored meanwhile are let gather this long
        # before the next: under a steady trickle (caseworkers' commands) the relay otherwise
        # ran a batch of one or two events back to back, each a read, a produce request and a
        # position commit. A full batch is followed at once (a backlog is published flat out).
        self.gather_interval = gather_interval
        self.last_batch_full = False
        self.topic_prefix = topic_prefix
        # Domain event classes the mapper publishes: the others are skipped without being decoded,
        # which is most of a busy service's notification log.
        self.relayed = {get_topic(cls) for cls in relayed} if relayed is not None else None
        self.skipped_topics: set[str] = set()
        self.park_topic = park_topic
        self.service = service
        self.parked = ParkedCount()
        self.published = 0
        self.standby_interval = standby_interval
        self.leading = False
        self.stopping = False
        self._lag_measured = float("-inf")

    def request_stop(self) -> None:
        """Stop after the batch being published (acknowledged, its position recorded)."""
        self.stopping = True

    def position(self) -> int:
        return self.recorder.max_tracking_id(RELAY_TRACKING_NAME) or 0

    def check_skipped(self, topic: str) -> None:
        """An event skipped because its stored topic is not one the relay publishes must not be
        a published class filed under another name (a class moved without keeping its topic):
        that would lose its public event silently, so it is logged as an error, once per topic."""
        if topic in self.skipped_topics:
            return
        self.skipped_topics.add(topic)
        try:
            now = get_topic(resolve_topic(topic))
        except Exception:  # a topic naming no class here is simply not ours
            return
        if self.relayed is not None and now in self.relayed:
            log.error(
                "relay skips events stored under an old topic of a class it publishes; "
                "keep the class's stored topic",
                stored_topic=topic,
                topic=now,
            )

    async def run(self) -> None:
        """Publish while this process holds the service's relay lease; otherwise stand by.

        Replicas of a service share one outbox: one relay at a time publishes it (the others
        would only publish the same events again), and a standby takes over within a second or
        two of the leader's process or connection dying.
        """
        while not self.stopping:
            lease = await asyncio.to_thread(self.recorder.try_lease, RELAY_TRACKING_NAME)
            if lease is None:
                await asyncio.sleep(self.standby_interval)
                continue
            log.info("outbox relay leading", tracking=RELAY_TRACKING_NAME)
            self.leading = True
            try:
                await self._lead(lease)
            finally:
                self.leading = False
                metrics.relay_lag(self.service, 0)  # the new leader's figure is the one that counts
                await asyncio.to_thread(lease.release)
            if not self.stopping:
                log.warning("outbox relay lost its lease; standing by")

    async def _lead(self, lease: Lease) -> None:
        position = await asyncio.to_thread(self.position)
        checked = time.monotonic()
        while not self.stopping:
            if time.monotonic() - checked >= self.standby_interval:
                if not await asyncio.to_thread(lease.held):
                    return
                checked = time.monotonic()
            published = await self.publish_after(position)
            if published is None:
                metrics.relay_lag(self.service, 0)
                await asyncio.sleep(self.poll_interval)
                continue
            position = published
            await self._measure_lag(position)
            if not self.last_batch_full:
                await asyncio.sleep(self.gather_interval)

    async def _measure_lag(self, position: int) -> None:
        """Stored events after `position` (some may be internal ones the relay skips)."""
        if time.monotonic() - self._lag_measured < 1.0:
            return
        self._lag_measured = time.monotonic()
        newest = await asyncio.to_thread(self.recorder.max_notification_id)
        metrics.relay_lag(self.service, (newest or 0) - position)

    async def publish_after(self, position: int) -> int | None:
        """Publish one batch after `position`; return the new position, None when none were new."""
        notifications = await asyncio.to_thread(
            self.recorder.select_relay_batch, position, self.batch_size, self.relayed
        )
        self.last_batch_full = len(notifications) >= self.batch_size
        if not notifications:
            return None
        sends = []
        correlations: dict[str, None] = {}
        for notification in notifications:
            if self.relayed is not None and notification.topic not in self.relayed:
                self.check_skipped(notification.topic)
                continue
            try:
                domain_event = self.app.mapper.to_domain_event(notification)
                mapped = self.mapper(domain_event)
                events = [mapped] if isinstance(mapped, IntegrationEvent) else mapped or []
                # The request's trace travels with its events (only when tracing is on).
                messages = [
                    (f"{self.topic_prefix}{e.topic}", e.to_bytes(), e.key(),
                     correlation_headers(e.correlation_id))
                    for e in events
                ]  # fmt: skip
            except Exception as exc:
                await self._park(notification, exc)
                continue
            correlations.update(dict.fromkeys(str(e.correlation_id) for e in events))
            for topic, value, key, headers in messages:
                try:
                    sends.append(
                        await self.producer.send(
                            topic, value=value, key=key, headers=headers or None
                        )
                    )
                except MessageSizeTooLargeError as exc:
                    await self._park(notification, exc)
        if sends:
            await asyncio.gather(*sends)  # every acknowledgement, before the position moves
        last = notifications[-1].id
        # IntegrityError: another relay (or an earlier run) already recorded this position.
        with contextlib.suppress(IntegrityError):
            await asyncio.to_thread(
                self.recorder.insert_tracking, Tracking(RELAY_TRACKING_NAME, last)
            )
        self.published += len(sends)
        metrics.relay_published(self.service, len(sends))
        if sends:
            ids = list(correlations)
            log.info(
                "events published", events=len(sends), position=last,
                correlation_ids=ids[:MAX_TRACED],
                **({"correlation_ids_left_out": len(ids) - MAX_TRACED}
                   if len(ids) > MAX_TRACED else {}),
            )  # fmt: skip
        return last

    async def _park(self, notification: Any, exc: Exception) -> None:
        kind = str(notification.topic).rsplit(".", 1)[-1]
        reason = failure_reason(
            exc, f"stored event {kind} #{notification.id}", "could not be published"
        )
        if self.park_topic is not None:
            headers = [
                ("kaa.dlq.reason", reason.encode()[:2000]),
                ("kaa.dlq.source.topic", f"outbox:{self.service}".encode()),
                ("kaa.dlq.source.offset", str(notification.id).encode()),
                ("kaa.dlq.service", self.service.encode()),
            ]
            key = str(notification.originator_id).encode()
            try:
                await self.producer.send_and_wait(
                    self.park_topic, value=bytes(notification.state), key=key, headers=headers
                )
            except MessageSizeTooLargeError:  # the stored event stays in the event store
                await self.producer.send_and_wait(
                    self.park_topic, value=None, key=key,
                    headers=[*headers, ("kaa.dlq.value", b"omitted: too large; in the store")],
                )  # fmt: skip
        log.error("a stored event could not be published; parked", reason=reason,
                  notification=notification.id, topic=self.park_topic)  # fmt: skip
        self.parked.count += 1
        self.parked.last_reason = reason
