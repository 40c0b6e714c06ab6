"""The application every event-sourced service builds on: Kafka in, tracked per topic partition,
writes serialised per process, and the aggregates it saved kept in memory for the next batch.

`save_tracked` and `preload` go past the library's `Application.save` and `Repository.get` to its
mapper and recorder directly (see their comments); the library-contract test
(`tests/unit/test_eventstore_library_contract.py`) names what they rely on.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import Any, TypeVar

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    ProcessRecorder,
    StoredEvent,
    Tracking,
)
from eventsourcing.utils import get_topic
from psycopg import sql

from shared.eventstore.mapper import EventMapper
from shared.eventstore.recorder import BatchProcessRecorder
from shared.eventstore.transcoder import DateAsISO, OrjsonTranscoder
from shared.metrics import aggregates_held, aggregates_loaded


def tracking_name(topic: str, partition: int) -> str:
    return f"{topic}#{partition}"


R = TypeVar("R")
WRITE_ATTEMPTS = 5


class KafkaFedApplication(Application[uuid.UUID]):
    """An event-sourced application whose input is Kafka, tracked per topic partition.

    Writes go through `write()`: one at a time per process (the consumer, the scheduler and HTTP
    commands run in different threads), and aggregates that were saved stay in memory for the
    next batch (`KAA_AGGREGATE_CACHE_SIZE`, default 100,000: identify's process grew 6.3 MB per
    1,000 persons in the sizing benchmark, so the cache keeps it under 1 GiB whatever the size of
    the country; the least recently used aggregate goes first). A
    cached aggregate that another process changed meanwhile fails the insert on its version; the
    cache is then dropped and the work retried on fresh state, so the cache can make a batch
    faster but never wrong. Events are written and read in the library's format by
    `EventMapper` and `OrjsonTranscoder` (`mapper.py`, `transcoder.py`), at about two thirds of
    the library's cost.
    """

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(
            env={
                "PROCESS_RECORDER_TOPIC": get_topic(BatchProcessRecorder),
                "TRANSCODER_TOPIC": get_topic(OrjsonTranscoder),
                "MAPPER_TOPIC": get_topic(EventMapper),
                **(env or {}),
            }
        )
        self._write_lock = threading.RLock()
        self._recent: OrderedDict[uuid.UUID, Any] = OrderedDict()
        self._recent_max = int(self.env.get("KAA_AGGREGATE_CACHE_SIZE") or 100_000)

    def retrying(
        self,
        work: Callable[[], R],
        *,
        already_done: Callable[[], bool] | None = None,
        refusals: tuple[type[BaseException], ...] = (),
    ) -> R | None:
        """Run a read-modify-write under `write()`; on a concurrent write (a version conflict)
        run it again on fresh state, unless `already_done()` says another writer did this work
        (then None). Gives up after a few attempts."""
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with self.write(refusals):
                    return work()
            except IntegrityError:
                if already_done is not None and already_done():
                    return None
                if attempt == WRITE_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def retrying_tracked(
        self, work: Callable[[], None], topic: str, partition: int, next_offset: int
    ) -> None:
        """`retrying` for a consumer batch: done when the partition's position is already stored."""
        self.retrying(
            work,
            already_done=lambda: (
                self.stored_positions(topic, [partition]).get(partition, 0) >= next_offset
            ),
        )

    @contextmanager
    def write(self, refusals: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
        """Serialise this process's writes; forget cached aggregates when a write fails.

        `refusals` are domain answers raised before anything changed (not found, not in scope):
        they leave the cache as it is.
        """
        with self._write_lock:
            try:
                yield
            except refusals:
                raise
            except BaseException:
                self._recent.clear()
                aggregates_held(0)
                raise

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def construct_recorder(self) -> ProcessRecorder:
        return self.factory.process_recorder()

    @property
    def process_recorder(self) -> ProcessRecorder:
        recorder = self.recorder
        assert isinstance(recorder, ProcessRecorder)
        return recorder

    def stored_positions(self, topic: str, partitions: Sequence[int]) -> dict[int, int]:
        """Next offset to read per partition (the tracking record stores the next offset)."""
        positions = {}
        for partition in partitions:
            stored = self.process_recorder.max_tracking_id(tracking_name(topic, partition))
            if stored is not None:
                positions[partition] = stored
        return positions

    def save_tracked(
        self,
        aggregates: Iterable[Aggregate | None],
        topic: str | None,
        partition: int,
        next_offset: int,
        **recorder_kwargs: Any,
    ) -> None:
        """Save every aggregate of a batch and the batch's position in one transaction.

        Without a topic the aggregates are saved untracked (work that does not come from Kafka);
        `recorder_kwargs` reach the recorder inside the same transaction.
        """
        processing = ProcessingEvent[uuid.UUID](
            tracking=Tracking(tracking_name(topic, partition), next_offset) if topic else None
        )
        processing.saved_kwargs.update(recorder_kwargs)
        # The library's collect_events() checks each object against runtime protocols, which
        # costs more than the rest of a batch together; these are known to be aggregates.
        for aggregate in aggregates:
            if aggregate is not None:
                processing.events.extend(aggregate.collect_events())
                processing.aggregates[aggregate.id] = aggregate
        # Straight to the recorder: the library's _record() also builds a notification object per
        # event for subscribers, which nothing here uses (the relay reads the table).
        stored = [self.mapper.to_stored_event(e) for e in processing.events]
        try:
            self.recorder.insert_events(
                stored, tracking=processing.tracking, **processing.saved_kwargs
            )
        except BaseException:
            self._recent.clear()  # some of them carry changes that were not saved
            aggregates_held(0)
            raise
        for saved_id, saved in processing.aggregates.items():
            self._remember(saved_id, saved)
        aggregates_held(len(self._recent))

    def forget(self, aggregate_id: uuid.UUID) -> None:
        """Drop an aggregate from memory (it holds changes that will not be saved)."""
        self._recent.pop(aggregate_id, None)

    def _remember(self, aggregate_id: uuid.UUID, aggregate: Any) -> None:
        if self._recent_max <= 0:
            return
        self._recent[aggregate_id] = aggregate
        self._recent.move_to_end(aggregate_id)
        while len(self._recent) > self._recent_max:
            self._recent.popitem(last=False)

    def preload(
        self,
        aggregate_ids: Iterable[uuid.UUID],
        cache: dict[uuid.UUID, Any],
        *,
        verify: bool = False,
    ) -> None:
        """Load many aggregates with one query into a batch's cache (absent ones stay absent).

        One round trip per batch instead of one per message: the difference between hundreds and
        thousands of feed records per second. `verify`: bring the ones held in memory up to date
        in the same query (when several processes write the same aggregates, as replicas serving
        caseworkers do): the store's events from the version held on are read, and those after it
        are applied to the aggregate held; one whose held version the store no longer has is read
        again from its first event.
        """
        wanted: list[uuid.UUID] = []
        kept = 0  # taken from memory by this call
        for aggregate_id in set(aggregate_ids):
            if aggregate_id in cache:
                continue
            if aggregate_id in self._recent:
                cache[aggregate_id] = self._recent[aggregate_id]
                kept += 1
            else:
                wanted.append(aggregate_id)
        # The ones the cache had and those just taken from memory: none of them is in `wanted`
        # (testing each against that list made this quadratic: 6 % of identify's release).
        held = [i for i, a in cache.items() if a is not None] if verify else []
        if not wanted and not held:
            aggregates_loaded(held=kept, read=0, new=0)
            return
        versions = [-1] * len(wanted) + [cache[i].version for i in held]
        rows = self._events_from([*wanted, *held], versions)
        reload: list[uuid.UUID] = []
        for aggregate_id in held:
            held_version = cache[aggregate_id].version
            found = rows.pop(aggregate_id, [])
            if not found or found[0][0] != held_version:  # the store no longer has it so
                reload.append(aggregate_id)
                continue
            try:
                for _, stored in found[1:]:
                    cache[aggregate_id] = self._applied(stored, cache[aggregate_id])
            except Exception:  # an event that does not follow on: read it all again
                reload.append(aggregate_id)
        for aggregate_id in reload:
            del cache[aggregate_id]
            self._recent.pop(aggregate_id, None)
        if reload:
            rows.update(self._events_from(reload, [-1] * len(reload)))
        new = 0
        for aggregate_id in (*wanted, *reload):
            aggregate: Any = None
            for _, stored in rows.get(aggregate_id, ()):
                aggregate = self._applied(stored, aggregate)
            cache[aggregate_id] = aggregate  # None: known absent, no second query for it
            new += aggregate is None
        # (One held whose version the store no longer has is read again: held and read.)
        read = len(wanted) + len(reload) - new
        aggregates_loaded(held=kept, read=read, new=new)

    def _applied(self, stored: StoredEvent, aggregate: Any) -> Any:
        domain_event: Any = self.mapper.to_domain_event(stored)
        return domain_event.mutate(aggregate)

    @cached_property
    def _events_from_query(self) -> bytes:
        recorder = self.recorder
        table = sql.Identifier(recorder.datastore.schema, recorder.events_table_name)  # type: ignore[attr-defined]
        return (
            sql.SQL(
                "SELECT e.originator_id, e.originator_version, e.topic, "
                "CASE WHEN e.originator_version > k.v THEN e.state END AS state "
                "FROM unnest(%b::uuid[], %b::bigint[]) AS k(id, v) CROSS JOIN LATERAL ("
                "SELECT * FROM {} s WHERE s.originator_id = k.id AND s.originator_version >= k.v "
                "ORDER BY s.originator_version) e "
                "ORDER BY e.originator_id, e.originator_version"
            )
            .format(table)
            .as_bytes(None)
        )  # rendered once (psycopg renders a composed one each time)

    def _events_from(
        self, aggregate_ids: list[uuid.UUID], versions: list[int]
    ) -> dict[uuid.UUID, list[tuple[int, StoredEvent]]]:
        """Each aggregate's stored events from its version in `versions` on (-1: all), in order;
        the state of the event at that very version is not read (it is held already)."""
        datastore = self.recorder.datastore  # type: ignore[attr-defined]
        with datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(self._events_from_query, (aggregate_ids, versions))
            found: dict[uuid.UUID, list[tuple[int, StoredEvent]]] = {}
            for row in cursor.fetchall():
                version = row["originator_version"]
                stored = StoredEvent(
                    originator_id=row["originator_id"],
                    originator_version=version,
                    topic=row["topic"],
                    state=bytes(row["state"] or b""),
                )
                found.setdefault(row["originator_id"], []).append((version, stored))
        return found

    def read(self, aggregate_id: uuid.UUID) -> Any:
        """The aggregate for a view (None: none): a copy of the one this process holds, taken
        between two writes, else read from the store (not kept). The writer changes the
        aggregates it holds in place (a command, a catch-up on another replica's events) and
        drops them when the write fails: a view reading the held object itself could see half
        of a change, or one that never committed. A view of a held aggregate waits for the write
        under way; one read from the store waits for nothing."""
        if aggregate_id in self._recent:  # the lock only to copy it: a write lasts a batch
            with self._write_lock:
                held = self._recent.get(aggregate_id)
                if held is not None:
                    return copy.deepcopy(held)
        try:  # read from the store, not kept: no one else holds this object
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def get_or_none(self, aggregate_id: uuid.UUID, cache: dict[uuid.UUID, Any]) -> Any:
        """The aggregate from this batch's cache (None: known absent), else the store, else None."""
        if aggregate_id in cache:
            return cache[aggregate_id]
        if aggregate_id in self._recent:
            cache[aggregate_id] = self._recent[aggregate_id]
            aggregates_loaded(held=1, read=0, new=0)
            return cache[aggregate_id]
        try:
            aggregate: Any = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            aggregates_loaded(held=0, read=0, new=1)
            return None
        aggregates_loaded(held=0, read=1, new=0)
        cache[aggregate_id] = aggregate
        return aggregate
