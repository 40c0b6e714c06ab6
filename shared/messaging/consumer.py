"""Batch consumer with exactly-once *effect*, without Kafka transactions.

The position that counts is the one the service stores in PostgreSQL in the same transaction as its
writes (principle 3). On every partition assignment the consumer seeks to that stored position, so a
message redelivered after a crash, a rebalance or a broker restart is skipped rather than applied
twice. Kafka's committed offsets are also updated, but only for lag monitoring.

Bad messages are validated out before the batch is applied: each is published to the topic's dead
letter topic with its original bytes and the reason, and only after the broker acknowledged it does
the batch (with the position past it) commit. A crash in between re-publishes the dead letter
(at least once), it never loses it.

No message stops the line. A batch the sink cannot apply is applied again message by message; a
message that fails on its own is parked (`parking.py`) and the others are applied once. A failure
that is the world's (the database or broker unreachable) is retried, never parked (`failures.py`):
a few times in place, then the loop ends with it and its guard (`shared/loops.py`) starts it again
with backoff, a new group member that seeks to the stored positions once the database answers.
Until a partition's stored position is known (the seek on assignment failed), none of its records
is applied.

`request_stop()` ends the loop after the batch being applied: it commits the positions to the
group and leaves it, so a clean stop hands the partitions over at once. Each batch is counted in
the process's metrics (size, time, event types, the partition's lag).

While a batch is applied, its log lines carry `topic`, `partition`, `offset` (the first; and
`last_offset`) and the events' `correlation_id` and `event_type` (`parking.traced`); a message
applied or parked on its own carries its own. Each batch ends with a `batch applied` line.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from shared import metrics
from shared.messaging import stop_consumer
from shared.messaging.failures import is_transient
from shared.messaging.parking import Parking, apply_isolated, event_type_of, traced
from shared.tracing import consumer_batch_span

log = structlog.get_logger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Delivery:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    # Set by the consumer's `open` step only (never from the message): the value was sealed.
    opened: bool = False


@dataclass(frozen=True)
class Rejected:
    """A message that cannot be applied, and why (field and reason, no personal data)."""

    reason: str


@dataclass(frozen=True)
class Parsed(Generic[T]):
    delivery: Delivery
    message: T


class BatchSink(Protocol[T]):
    """Where a consumer's batches go: the service's own database."""

    async def positions(self, topic: str, partitions: Sequence[int]) -> dict[int, int]:
        """The next offset to read per partition, as stored with the service's writes."""
        ...

    async def apply(
        self, topic: str, partition: int, items: list[Parsed[T]], next_offset: int
    ) -> None:
        """Apply the items and store `next_offset` for the partition, in one transaction."""
        ...


Parser = Callable[[Delivery], "T | Rejected"]

# How long a consumer waits before it tries a batch again after a failure that is not the
# message's; after the last, the loop ends and its guard restarts it with backoff.
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)


class _SeekToStoredPositions(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: ExactlyOnceConsumer[object]) -> None:
        self.runner = runner
        self.revoked: set[TopicPartition] = set()

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        # A partition given up shows no stale lag here. Its next offset is kept: a batch fetched
        # before the rebalance is still filtered by it (dropping it let such a batch be applied
        # from offset 0 while the rebalance waited for the lock).
        self.revoked = set(revoked)
        self._forget_lag(self.revoked)
        self.runner.partitions = frozenset()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        # aiokafka logs and swallows a listener's failure: the runner raises it in its loop.
        try:
            await self.runner._seek_to_stored(assigned)
        except Exception as exc:
            self.runner.seek_failed = exc
        # A batch that ended between the revocation and the new assignment (aiokafka changes the
        # assignment just before this call) measured a partition that has moved since: its lag
        # goes again. Seeking took the runner's lock, so that batch is over; later ones see the
        # new assignment (`ExactlyOnceConsumer._measure`).
        self._forget_lag(self.revoked - set(assigned))
        self.revoked = set()
        self.runner.partitions = frozenset(tp.partition for tp in assigned)

    def _forget_lag(self, partitions: set[TopicPartition]) -> None:
        for tp in partitions:
            metrics.forget_consumer_lag(self.runner.group_id, tp.topic, tp.partition)


class ExactlyOnceConsumer(Generic[T]):
    """Consumes topics in batches; the sink stores positions with its writes."""

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        group_id: str,
        topics: Sequence[str],
        parse: Callable[[Delivery], T | Rejected],
        sink: BatchSink[T],
        dead_letters: AIOKafkaProducer,
        service: str,
        batch_size: int = 500,
        open_sealed: Callable[[Sequence[Delivery]], Awaitable[list[Delivery | Rejected]]]
        | None = None,
    ) -> None:
        self.open_sealed = open_sealed
        self.bootstrap_servers = bootstrap_servers
        self.group_id = group_id
        self.topics = list(topics)
        self.parse = parse
        self.sink = sink
        self.batch_size = batch_size
        self.consumer: AIOKafkaConsumer | None = None
        # Bad and failing messages go to the dead-letter topics; `parked` counts them for /health.
        self.parking = Parking(sink, dead_letters, service)
        self.parked = self.parking.parked
        # Rebalances run in aiokafka's background task: the lock keeps a seek to the stored
        # position from racing a batch that is being applied, and `next_offsets` drops records
        # fetched before such a seek.
        self._lock = asyncio.Lock()
        self.next_offsets: dict[TopicPartition, int] = {}
        # What the group's committed offsets say, as far as we know. They only mirror the
        # database (for lag monitoring); after a crash between the database commit and the Kafka
        # commit they lag until the next sync, which always sends the current positions.
        self._committed: dict[TopicPartition, int] = {}
        self.seek_failed: Exception | None = None
        # Partitions assigned whose stored position could not be read yet.
        self.unknown: set[TopicPartition] = set()
        self.stopping = False
        self._commit_failing = False
        # The partition numbers the member reads now, of any of its topics (a frozenset replaced
        # whole at each rebalance, emptied when the loop ends: leaving the group calls no
        # listener). aiokafka's round-robin assignment deals the group's
        # partitions, sorted by topic and number, to the members in turn: when the members'
        # count divides every topic's partitions (1, 2, 3 or 6 of six), each member reads the
        # same numbers of every topic, and so every key of topics keyed alike.
        self.partitions: frozenset[int] = frozenset()

    def request_stop(self) -> None:
        """End the loop after the batch being applied (commit, leave the group)."""
        self.stopping = True

    async def _seek_to_stored(self, assigned: list[TopicPartition]) -> None:
        async with self._lock:
            await self._seek_to_stored_locked(assigned)

    async def _seek_to_stored_locked(self, assigned: list[TopicPartition]) -> None:
        assert self.consumer is not None
        by_topic: dict[str, list[int]] = {}
        for tp in assigned:
            by_topic.setdefault(tp.topic, []).append(tp.partition)
        self.unknown.update(assigned)  # nothing is applied before its position is known
        for topic, partitions in by_topic.items():
            stored = await self.sink.positions(topic, partitions)
            for partition in partitions:
                tp = TopicPartition(topic, partition)
                self._committed.pop(tp, None)  # another member may have committed meanwhile
                # Never an awaited seek here: the group's heartbeats start only after this
                # listener returns, and `seek_to_beginning` waits for an offset lookup per
                # partition (24 of them took up to 9 s: the member was expelled after 10 s, again
                # at each rejoin). Offset 0 of a topic whose head was deleted is out of range,
                # which `auto_offset_reset="earliest"` turns into its first offset.
                self.next_offsets[tp] = stored.get(partition, 0)
                self.consumer.seek(tp, self.next_offsets[tp])
                self.unknown.discard(tp)

    async def run(self) -> None:
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.batch_size,
            isolation_level="read_committed",
        )
        await self.consumer.start()
        try:
            self.consumer.subscribe(self.topics, listener=_SeekToStoredPositions(self))  # type: ignore[arg-type]
            while not self.stopping:
                await self._sync_committed()
                batches = await self.consumer.getmany(timeout_ms=200, max_records=self.batch_size)
                if self.seek_failed is not None:
                    failed, self.seek_failed = self.seek_failed, None
                    raise failed
                if not batches:
                    continue
                for tp, records in batches.items():
                    deliveries = [
                        Delivery(
                            tp.topic,
                            tp.partition,
                            r.offset,
                            r.key,
                            r.value,
                            tuple((k, v) for k, v in (r.headers or ())),
                        )
                        for r in records
                    ]
                    with structlog.contextvars.bound_contextvars(
                        topic=tp.topic, partition=tp.partition
                    ):
                        async with self._lock:
                            await self._process(tp, deliveries)
            await self._sync_committed()
        finally:
            self.partitions = frozenset()
            with contextlib.suppress(Exception):
                await stop_consumer(self.consumer)

    async def _sync_committed(self) -> None:
        """Commit the current positions of assigned partitions where the group's differ.

        Outside the lock: a commit may wait for a rebalance, which waits for the lock.
        """
        assert self.consumer is not None
        assigned = self.consumer.assignment()
        pending = {
            tp: offset
            for tp, offset in self.next_offsets.items()
            # Not one whose stored position is not read yet: its offset may be an old one.
            if tp in assigned and tp not in self.unknown and self._committed.get(tp) != offset
        }
        if not pending:
            return
        try:
            await self.consumer.commit({tp: OffsetAndMetadata(o, "") for tp, o in pending.items()})
        except Exception as exc:
            # Once per outage: the loop tries again every round.
            (log.debug if self._commit_failing else log.warning)(
                "committing positions to the group failed; will retry", error=type(exc).__name__
            )
            self._commit_failing = True
        else:
            if self._commit_failing:
                log.info("committing positions to the group works again")
            self._commit_failing = False
            self._committed.update(pending)

    async def _process(self, tp: TopicPartition, deliveries: list[Delivery]) -> None:
        if tp in self.unknown:
            return  # its stored position is not known (yet): fetched from elsewhere
        deliveries = [d for d in deliveries if d.offset >= self.next_offsets.get(tp, 0)]
        if not deliveries:
            return
        started = time.perf_counter()
        items: list[Parsed[T]] = []
        # Sealed records are opened for parsing only: a rejected one is parked as it arrived.
        opened = await self.open_sealed(deliveries) if self.open_sealed else deliveries
        for delivery, readable in zip(deliveries, opened, strict=True):
            outcome = readable if isinstance(readable, Rejected) else self._parse(readable)
            if isinstance(outcome, Rejected):
                await self.parking.dead_letter(delivery, outcome.reason)
            else:
                items.append(Parsed(delivery, outcome))
        next_offset = deliveries[-1].offset + 1
        parked = self.parked.count
        self.parking.parked_offsets.clear()
        with (
            structlog.contextvars.bound_contextvars(**traced(items)),
            consumer_batch_span(self.group_id, tp.topic, tp.partition,
                                [d.headers for d in deliveries]),
        ):  # fmt: skip
            await self._apply(tp, items, next_offset)
            log.info(
                "batch applied", messages=len(items), rejected=len(deliveries) - len(items),
                parked=self.parked.count - parked, next_offset=next_offset,
            )  # fmt: skip
        self.next_offsets[tp] = next_offset
        applied = [i for i in items if i.delivery.offset not in self.parking.parked_offsets]
        self._measure(tp, applied, len(deliveries) - len(applied), time.perf_counter() - started)

    def _measure(
        self, tp: TopicPartition, items: list[Parsed[T]], rejected: int, seconds: float
    ) -> None:
        """The batch into the process's metrics: its size, time, event types, the lag after it."""
        metrics.consumer_batch(
            self.group_id, tp.topic, applied=len(items), rejected=rejected, seconds=seconds,
            event_types=[event_type_of(item) for item in items],
        )  # fmt: skip
        # A rebalance while the batch was applied may have taken the partition from this member
        # (seen in `bench identify`'s two replicas): its lag is the new owner's to tell, and
        # aiokafka's `highwater` of a partition not assigned fails, which ended the whole loop.
        if self.consumer is None or tp not in self.consumer.assignment():
            return
        highwater = self.consumer.highwater(tp)
        if highwater is not None:
            metrics.consumer_lag(
                self.group_id, tp.topic, tp.partition, highwater - self.next_offsets[tp]
            )

    def _parse(self, delivery: Delivery) -> T | Rejected:
        try:
            return self.parse(delivery)
        except Exception as exc:  # a parser's bug must not stop the line either
            return Rejected(f"message: could not be read ({type(exc).__name__})")

    async def _apply(self, tp: TopicPartition, items: list[Parsed[T]], next_offset: int) -> None:
        """Apply a batch; when it fails because of what it holds, find and park the culprits.

        A failure that is the world's (the database restarting) is retried with a pause and, if
        it lasts (or the process is stopping), ends the loop, which its guard starts again with
        backoff; nothing is parked for it."""
        attempt, isolate = 0, False
        while True:
            try:
                if isolate:
                    park = functools.partial(self.parking.park, tp.topic, tp.partition)
                    await apply_isolated(
                        self.sink, tp.topic, tp.partition, items, next_offset, park
                    )
                else:
                    await self.sink.apply(tp.topic, tp.partition, items, next_offset)
                return
            except Exception as exc:
                if not is_transient(exc) and not isolate:
                    log.warning(
                        "a batch could not be applied; applying its messages one by one",
                        topic=tp.topic, partition=tp.partition, messages=len(items),
                        error=type(exc).__name__,
                    )  # fmt: skip
                    isolate = True
                    continue
                if attempt >= len(RETRY_DELAYS) or self.stopping:
                    raise
                (log.debug if attempt else log.warning)(
                    "applying a batch failed; retrying", topic=tp.topic, partition=tp.partition,
                    error=type(exc).__name__, attempt=attempt + 1,
                )  # fmt: skip
                await asyncio.sleep(RETRY_DELAYS[attempt])
                attempt += 1
