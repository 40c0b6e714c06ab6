"""Live updates: the integration events that change a caseworker's worklists, read from Kafka and
fanned out in-process to the open pages of the same municipality.

- `LiveHub`: the open Server-Sent-Events connections of this process, by tenant, each with a bounded
  queue. A connection whose queue is full (a browser that does not read) is dropped, never the
  process; the browser reconnects and its page refreshes.
- `LiveSubscriber`: an at-least-once, stateless Kafka subscriber. Each web process is a consumer
  group of its own (`<namespace>kaa.web.live.<random>`), starts at the latest offset and commits
  nothing: a restart simply listens again from now (pages refresh on reconnecting). A message that
  is not one of the topic's declared events, or of a municipality this deployment does not serve,
  is skipped with a log line naming topic, partition, offset and the reason (never the content).
  A Kafka outage is logged and retried; the pages keep working and live updates resume.
- An identify event reaches the pages only once outreach and the register have read past it
  (their consumer groups' committed offsets; they commit after their database transaction), so a
  page that refreshes on it finds the youth in the worklist with a name (at most `GATE_SECONDS`).

Only the tenant and the pseudonymous youth id are kept of a message: nothing personal leaves it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import TypeAdapter, ValidationError

from shared.contracts.events import topic_adapter
from shared.contracts.topics import IDENTIFY_EVENTS, OUTREACH_EVENTS
from shared.contracts.validation import describe
from shared.messaging import stop_consumer

log = structlog.get_logger(__name__)

# The topics whose events change what Min dag shows: identify's scope events (a youth enters or
# leaves scope, a school's notification) and outreach's case work (contacts, assignment).
LIVE_TOPICS = (IDENTIFY_EVENTS, OUTREACH_EVENTS)
# Whose reading of identify's events a page must wait for: outreach builds the worklists, the
# register gives the names.
GATED = {IDENTIFY_EVENTS: ("outreach", "register")}
GATE_SECONDS = 3.0
GATE_POLL_SECONDS = 0.05
QUEUE_SIZE = 64  # signals waiting for one connection before it counts as not reading
MAX_CONNECTIONS = 5000  # per process
RETRY_SECONDS = (1.0, 2.0, 5.0, 10.0)


@dataclass(frozen=True)
class Signal:
    """Something changed for a youth of a municipality (`youth_id` None: refresh everything, as
    after the subscriber lost its place)."""

    tenant: str | None
    youth_id: str | None


RESYNC = Signal(None, None)


@dataclass(eq=False)
class Connection:
    """One open page's stream: its tenant and its bounded queue."""

    tenant: str
    queue: asyncio.Queue[Signal] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    dropped: bool = False


class TooManyConnections(Exception):
    """The process holds MAX_CONNECTIONS streams already."""


class LiveHub:
    """The open streams of this process by tenant; a signal reaches its tenant's only."""

    def __init__(self, max_connections: int = MAX_CONNECTIONS) -> None:
        self.by_tenant: dict[str, set[Connection]] = {}
        self.max_connections = max_connections
        self.dropped = 0

    @property
    def connections(self) -> int:
        return sum(len(held) for held in self.by_tenant.values())

    def connect(self, tenant: str) -> Connection:
        if self.connections >= self.max_connections:
            raise TooManyConnections
        made = Connection(tenant)
        self.by_tenant.setdefault(tenant, set()).add(made)
        return made

    def disconnect(self, connection: Connection) -> None:
        held = self.by_tenant.get(connection.tenant)
        if held is not None:
            held.discard(connection)
            if not held:
                del self.by_tenant[connection.tenant]

    def publish(self, signal: Signal) -> None:
        """Hand `signal` to every stream of its tenant (a resync: to every stream); a stream
        whose queue is full is dropped."""
        if signal.tenant is None:
            targets = [c for held in self.by_tenant.values() for c in held]
        else:
            targets = list(self.by_tenant.get(signal.tenant, ()))
        for connection in targets:
            try:
                connection.queue.put_nowait(signal)
            except asyncio.QueueFull:
                connection.dropped = True
                self.dropped += 1
                self.disconnect(connection)
                log.warning("live updates: a page that does not read was dropped")


class Reader:
    """What a message on a live topic says: a `Signal`, or why it is skipped."""

    def __init__(self, prefix: str, served_tenants: Collection[str]) -> None:
        self.adapters: dict[str, TypeAdapter[Any]] = {
            f"{prefix}{topic}": topic_adapter(topic) for topic in LIVE_TOPICS
        }
        self.served = frozenset(served_tenants)

    def read(self, topic: str, value: bytes | None) -> Signal | str:
        adapter = self.adapters.get(topic)
        if adapter is None:
            return "message: read from a topic the live updates do not follow"
        if value is None:
            return "message: empty value"
        try:
            event = adapter.validate_json(value)
        except ValidationError as exc:
            return describe(exc, limit=2)[:300]
        if event.tenant not in self.served:
            return "tenant: not a municipality served by this deployment"
        return Signal(event.tenant, str(event.youth_id))


# (group, partitions) -> the group's committed offsets on them
Committed = Callable[[str, list[TopicPartition]], Awaitable[dict[TopicPartition, int]]]


@dataclass
class Held:
    signal: Signal
    partition: TopicPartition
    offset: int
    until: float


class Gate:
    """Holds identify's signals until the services that show them read past them."""

    def __init__(self, hub: LiveHub, prefix: str, committed: Committed, limit: int = 10000):
        self.hub, self.prefix, self.committed, self.limit = hub, prefix, committed, limit
        self.held: list[Held] = []

    def hold(self, signal: Signal, partition: TopicPartition, offset: int, now: float) -> None:
        if len(self.held) >= self.limit:  # never unbounded: the oldest goes out as it is
            self.hub.publish(self.held.pop(0).signal)
        self.held.append(Held(signal, partition, offset, now + GATE_SECONDS))

    async def release(self, now: float) -> None:
        """Publish what every reader read past, and what waited GATE_SECONDS."""
        if not self.held:
            return
        partitions = sorted({h.partition for h in self.held})
        readers = {r for h in self.held for r in GATED.get(self._topic(h), ())}
        seen: dict[str, dict[TopicPartition, int]] = {}
        for reader in sorted(readers):
            try:
                seen[reader] = await self.committed(f"{self.prefix}kaa.{reader}", partitions)
            except Exception as exc:  # Kafka unreachable: the time limit still releases
                log.warning("live updates: reading a group's offsets failed",
                            group=reader, error=type(exc).__name__)  # fmt: skip
                seen[reader] = {}
        still: list[Held] = []
        for held in self.held:
            done = all(
                seen.get(r, {}).get(held.partition, -1) > held.offset
                for r in GATED.get(self._topic(held), ())
            )
            if done or now >= held.until:
                self.hub.publish(held.signal)
            else:
                still.append(held)
        self.held = still

    def _topic(self, held: Held) -> str:
        return str(held.partition.topic).removeprefix(self.prefix)


class LiveSubscriber:
    """Reads the live topics from their latest offsets and publishes what they say to the hub."""

    def __init__(
        self, bootstrap_servers: str, prefix: str, served_tenants: Collection[str], hub: LiveHub
    ) -> None:
        self.bootstrap_servers, self.prefix, self.hub = bootstrap_servers, prefix, hub
        self.reader = Reader(prefix, served_tenants)
        self.group_id = f"{prefix}kaa.web.live.{uuid.uuid4().hex[:12]}"
        self.admin: AIOKafkaAdminClient | None = None
        self.gate = Gate(hub, prefix, self._committed)
        self.skipped = 0

    async def _committed(
        self, group: str, partitions: list[TopicPartition]
    ) -> dict[TopicPartition, int]:
        if self.admin is None:
            self.admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
            await self.admin.start()
        found = await self.admin.list_consumer_group_offsets(group, partitions=partitions)
        return {tp: meta.offset for tp, meta in found.items() if meta is not None}

    async def run(self) -> None:
        """Listen until cancelled; any failure is logged and listening starts again."""
        failures = 0
        try:
            while True:
                try:
                    await self._listen()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    pause = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                    failures += 1
                    log.warning("live updates: Kafka failed; listening again shortly",
                                error=type(exc).__name__, retry_in_seconds=pause)  # fmt: skip
                    await self._close_admin()
                    await asyncio.sleep(pause)
                else:
                    failures = 0
        finally:
            await self._close_admin()

    async def _close_admin(self) -> None:
        if self.admin is not None:
            with contextlib.suppress(Exception):
                await self.admin.close()
            self.admin = None

    async def _listen(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            group_id=self.group_id,
            auto_offset_reset="latest",
            enable_auto_commit=False,
            isolation_level="read_committed",
        )
        hub = self.hub

        class Assigned(ConsumerRebalanceListener):  # type: ignore[misc]
            async def on_partitions_revoked(self, revoked: object) -> None:
                return None

            async def on_partitions_assigned(self, assigned: object) -> None:
                # Reading from here on: whatever happened before, every open page refreshes once.
                hub.publish(RESYNC)
                log.info("live updates: listening")

        await consumer.start()
        consumer.subscribe([f"{self.prefix}{topic}" for topic in LIVE_TOPICS], listener=Assigned())
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=int(GATE_POLL_SECONDS * 1000))
                now = time.monotonic()
                for partition, records in batches.items():
                    for record in records:
                        self.take(partition, record.offset, record.value, now)
                await self.gate.release(time.monotonic())
        finally:
            with contextlib.suppress(Exception):
                await stop_consumer(consumer)

    def take(self, partition: TopicPartition, offset: int, value: bytes | None, now: float) -> None:
        read = self.reader.read(partition.topic, value)
        if isinstance(read, str):
            self.skipped += 1
            log.warning("live updates: message skipped", topic=partition.topic,
                        partition=partition.partition, offset=offset, reason=read)  # fmt: skip
        elif partition.topic.removeprefix(self.prefix) in GATED:
            self.gate.hold(read, partition, offset, now)
        else:
            self.hub.publish(read)
