"""Wiring of the `eventsourcing` library to the platform: PostgreSQL recorder, Kafka-fed processing.

Each service owns its event store in its own PostgreSQL schema; no service reads another's tables.
A service that consumes Kafka records its position per topic partition in the library's tracking
table, in the same transaction as the events the batch produced (principle 3).
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import psycopg
from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    Notification,
    ProcessRecorder,
    StoredEvent,
    Tracking,
    Transcoding,
)
from eventsourcing.postgres import PostgresDatastore, PostgresProcessRecorder
from eventsourcing.utils import get_topic
from psycopg import Cursor, sql
from psycopg.rows import DictRow


def eventsourcing_env(
    database_url: str, schema: str, *, create_table: bool = True
) -> dict[str, str]:
    """The environment an `eventsourcing` Application needs to store its events in `schema`."""
    parts = urlsplit(database_url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(
            f"DATABASE_URL must start with postgresql:// (got scheme {parts.scheme or 'none'!r})"
        )
    if not parts.hostname or not parts.path.strip("/"):
        raise ValueError(
            "DATABASE_URL must name a host and a database, e.g. postgresql://u:p@host:5432/kaa"
        )
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_HOST": parts.hostname,
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")),
        "POSTGRES_USER": unquote(parts.username or ""),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_SCHEMA": schema,
        "CREATE_TABLE": "y" if create_table else "n",
    }


class NamespaceClash(RuntimeError):
    """The database belongs to another deployment namespace."""


def claim_database(database_url: str, namespace: str) -> None:
    """Record that this database belongs to the deployment `namespace`, or refuse.

    A namespace (`KAA_NAMESPACE`) separates topics and consumer groups on one Kafka cluster, not
    the database: the services' schemas (identify, outreach, measures, register, access_log,
    keyring, …) have fixed names, so two namespaces on one database would share identify's event
    store, the register and the keys. The first service to start records its namespace in
    `kaa_deployment.namespace`; a service of another namespace is refused before it touches a
    table. Give each namespace a database of its own (the demo, tests and benchmarks do).
    """
    with psycopg.connect(database_url, autocommit=True) as conn, conn.transaction():
        # One claim at a time: several services start together on a fresh database.
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('kaa_deployment', 0))")
        conn.execute("CREATE SCHEMA IF NOT EXISTS kaa_deployment")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS kaa_deployment.namespace ("
            "  single boolean PRIMARY KEY DEFAULT true CHECK (single),"
            "  namespace text NOT NULL,"
            "  claimed_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute(
            "INSERT INTO kaa_deployment.namespace (namespace) VALUES (%s) ON CONFLICT DO NOTHING",
            (namespace,),
        )
        row = conn.execute("SELECT namespace FROM kaa_deployment.namespace").fetchone()
    owner = row[0] if row else namespace
    if owner != namespace:
        raise NamespaceClash(
            f"DATABASE_URL: this database belongs to the deployment namespace {owner or '(none)'!r}"
            f", not {namespace or '(none)'!r} (KAA_NAMESPACE); a namespace separates topics and "
            "consumer groups but not the database, so give each namespace a database of its own"
        )


def ensure_schema(database_url: str, schema: str, *, namespace: str | None = None) -> None:
    """Create the service's schema (the library creates tables, not schemas), in a database that
    belongs to this deployment's namespace (`claim_database`; by default the `KAA_NAMESPACE` the
    service's settings read)."""
    if namespace is None:
        from shared.settings import current_namespace

        namespace = current_namespace()
    claim_database(database_url, namespace)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')


def tracking_name(topic: str, partition: int) -> str:
    return f"{topic}#{partition}"


R = TypeVar("R")
WRITE_ATTEMPTS = 5


class DateAsISO(Transcoding):
    """Calendar dates (scope entry, birthdays) in stored events."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class Lease:
    """An advisory lock held for as long as its connection lives: when the holder dies, the
    database ends the session and the lease is free for another process."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def held(self) -> bool:
        try:
            self.conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def release(self) -> None:
        self.conn.close()


class BatchProcessRecorder(PostgresProcessRecorder):
    """The library's PostgreSQL process recorder, inserting a batch's events as four arrays.

    The library sends a batch as one array of a composite type, which psycopg can only write as
    escaped text (a regular-expression pass over every event's state); four plain arrays go in
    psycopg's binary format at a fraction of the cost. Same table, same lock, same notification;
    the new notification ids are not read back (the library's subscribers are not used here).

    It also writes a service's read tables in the events' own transaction: a subclass lists their
    DDL in `read_model_ddl` (`{schema}` stands for the service's schema), and a save passes
    `read_model=[(statement, rows), ...]`, each statement run for its rows. A read table then
    never disagrees with the events after a crash, and a redelivered batch rewrites the same rows.
    """

    read_model_ddl: tuple[str, ...] = ()

    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        events_table_name: str = "stored_events",
        tracking_table_name: str = "notification_tracking",
    ) -> None:
        super().__init__(
            datastore, events_table_name=events_table_name, tracking_table_name=tracking_table_name
        )
        for ddl in self.read_model_ddl:
            self.sql_create_statements.append(
                sql.SQL(ddl).format(schema=sql.Identifier(datastore.schema))
            )
        self.insert_events_statement = sql.SQL(
            "INSERT INTO {} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[])"
        ).format(sql.Identifier(datastore.schema, events_table_name))

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        for statement, rows in kwargs.get("read_model") or ():
            if rows:
                curs.executemany(statement, rows)

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(
            self.insert_events_statement,
            (
                [e.originator_id for e in stored_events],
                [e.originator_version for e in stored_events],
                [e.topic for e in stored_events],
                [e.state for e in stored_events],
            ),
        )

    def select_relay_batch(
        self, after: int, limit: int, topics: Collection[str] | None
    ) -> list[Notification]:
        """The next notifications after `after`, with the state only of events of `topics`.

        A relay publishes a few kinds of event out of many; the others are passed over without
        their state leaving the database (they are most of the rows of a busy service).
        """
        table = sql.Identifier(self.datastore.schema, self.events_table_name)
        if topics is None:
            state = sql.SQL("state")
            params: tuple[Any, ...] = (after, limit)
        else:
            state = sql.SQL("CASE WHEN topic = ANY(%s) THEN state END")
            params = (list(topics), after, limit)
        query = sql.SQL(
            "SELECT notification_id, originator_id, originator_version, topic, {} AS state "
            "FROM {} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        ).format(state, table)
        with self.datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(query, params, prepare=True)
            return [
                Notification(
                    id=row["notification_id"],
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"] or b""),
                )
                for row in cursor.fetchall()
            ]

    def try_lease(self, name: str) -> Lease | None:
        """Take the lease `name` in this schema if nobody holds it (a PostgreSQL advisory lock
        held by a connection of its own); None when another process holds it."""
        pool_kwargs = self.datastore.pool.kwargs
        assert isinstance(pool_kwargs, dict), "the datastore's pool is configured with a dict"
        kwargs = {k: v for k, v in pool_kwargs.items() if k != "row_factory"}
        conn = psycopg.connect(**kwargs, autocommit=True)
        try:
            row = conn.execute(
                "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))",
                (f"{self.datastore.schema}.{name}",),
            ).fetchone()
        except BaseException:
            conn.close()
            raise
        if row is None or not row[0]:
            conn.close()
            return None
        return Lease(conn)

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        return None  # nothing here uses the new notification ids (the relay reads the table)


class KafkaFedApplication(Application[uuid.UUID]):
    """An event-sourced application whose input is Kafka, tracked per topic partition.

    Writes go through `write()`: one at a time per process (the consumer, the scheduler and HTTP
    commands run in different threads), and aggregates that were saved stay in memory for the
    next batch (`KAA_AGGREGATE_CACHE_SIZE`, default 200,000; a person takes about 2.5 KB). A
    cached aggregate that another process changed meanwhile fails the insert on its version; the
    cache is then dropped and the work retried on fresh state, so the cache can make a batch
    faster but never wrong.
    """

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(
            env={"PROCESS_RECORDER_TOPIC": get_topic(BatchProcessRecorder), **(env or {})}
        )
        self._write_lock = threading.RLock()
        self._recent: OrderedDict[uuid.UUID, Any] = OrderedDict()
        self._recent_max = int(self.env.get("KAA_AGGREGATE_CACHE_SIZE") or 200_000)

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
            raise
        for saved_id, saved in processing.aggregates.items():
            self._remember(saved_id, saved)

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
        thousands of feed records per second. `verify`: first ask the store for the current
        version of the ones held in memory and reload those another process has changed (when
        several processes write the same aggregates, as replicas serving caseworkers do).
        """
        recorder = self.recorder
        datastore = recorder.datastore  # type: ignore[attr-defined]
        table = sql.Identifier(datastore.schema, recorder.events_table_name)  # type: ignore[attr-defined]
        wanted = []
        for aggregate_id in set(aggregate_ids):
            if aggregate_id in cache:
                continue
            if aggregate_id in self._recent:
                cache[aggregate_id] = self._recent[aggregate_id]
            else:
                wanted.append(aggregate_id)
        held = [i for i in cache if cache[i] is not None and i not in wanted]
        if verify and held:
            versions = sql.SQL(
                "SELECT originator_id, max(originator_version) AS version FROM {} "
                "WHERE originator_id = ANY(%s) GROUP BY originator_id"
            ).format(table)
            with datastore.get_connection() as conn, conn.cursor() as cursor:
                cursor.execute(versions, (held,))
                current = {row["originator_id"]: row["version"] for row in cursor.fetchall()}
            for aggregate_id in held:
                if current.get(aggregate_id) != cache[aggregate_id].version:
                    del cache[aggregate_id]
                    self._recent.pop(aggregate_id, None)
                    wanted.append(aggregate_id)
        if not wanted:
            return
        query = sql.SQL(
            "SELECT originator_id, originator_version, topic, state FROM {} "
            "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
        ).format(table)
        with datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(query, (wanted,))
            rows = cursor.fetchall()
        for row in rows:
            stored = StoredEvent(
                originator_id=row["originator_id"],
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
            domain_event: Any = self.mapper.to_domain_event(stored)
            originator_id: uuid.UUID = row["originator_id"]
            cache[originator_id] = domain_event.mutate(cache.get(originator_id))
        for absent_id in wanted:
            cache.setdefault(absent_id, None)  # known absent: no second query for it

    def get_or_none(self, aggregate_id: uuid.UUID, cache: dict[uuid.UUID, Any]) -> Any:
        """The aggregate from this batch's cache (None: known absent), else the store, else None."""
        if aggregate_id in cache:
            return cache[aggregate_id]
        if aggregate_id in self._recent:
            cache[aggregate_id] = self._recent[aggregate_id]
            return cache[aggregate_id]
        try:
            aggregate: Any = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        cache[aggregate_id] = aggregate
        return aggregate
