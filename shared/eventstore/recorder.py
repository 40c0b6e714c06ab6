"""The PostgreSQL recorder every event-sourced service stores its events with.

It is the library's `PostgresProcessRecorder` with its insert (`insert_events`) and three of its
private steps replaced (`_insert_events`, `_insert_stored_events`, `_fetch_ids_after_insert_events`),
and two done as the library does them with their statements rendered once (`_lock_table`,
`_notify_channel`). `tests/unit/test_eventstore_library_contract.py` fails when an
`eventsourcing` upgrade changes any of them: revisit this module then.

A service that consumes Kafka records its position per topic partition in the library's tracking
table, in the same transaction as the events the batch produced (principle 3).
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, Notification, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresDatastore, PostgresProcessRecorder
from eventsourcing.utils import retry
from psycopg import Cursor, sql
from psycopg.pq import TransactionStatus
from psycopg.rows import DictRow

from shared.eventstore.leases import Lease, try_lease

_BEGIN = b"BEGIN"
_COMMIT = b"COMMIT"
_ROLLBACK = b"ROLLBACK"
_RENDERED_MAX = 256
_rendered: dict[int, tuple[Any, bytes]] = {}


def rendered(statement: Any) -> Any:
    """A statement composed with psycopg's `sql` (identifiers quoted into it) as the bytes it
    stands for, rendered once: psycopg renders a composed statement again at every execution,
    and `executemany` at every row (35 µs for a read table's upsert with 19 columns, more than
    the row's own work), while a statement given as bytes is converted once and cached. Plain
    strings and bytes are returned as they are. Kept by identity for statements a service builds
    once; at most _RENDERED_MAX, so statements composed anew per call cannot fill memory.
    Rendered for a UTF-8 database (kaa's databases are), the same bytes a connection renders."""
    if not isinstance(statement, sql.Composable):
        return statement
    held = _rendered.get(id(statement))
    if held is not None and held[0] is statement:
        return held[1]
    text = statement.as_bytes(None)
    if len(_rendered) >= _RENDERED_MAX:
        _rendered.clear()
    _rendered[id(statement)] = (statement, text)  # the statement kept: its id is not reused
    return text


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
        self.notify_statement = sql.SQL("NOTIFY {0}").format(sql.Identifier(self.channel_name))

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)  # as the library's
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The library's insert, with its steps (the position, the read tables, the table lock,
        the notification, the events), sent with the transaction's BEGIN and COMMIT as one
        pipeline: one round trip for a save without a position (a caseworker's command), two
        with one (the library's position check reads its answer before the rest is sent); the
        library used one more, to commit.

        The library synced after the insert and committed in a round trip of its own, so the
        table's lock, which serialises every writer of the service (all its processes), was held
        while this thread waited for the insert's answer and then for the interpreter (behind
        the event loop's requests) to send the COMMIT. Here the insert's arrays are built before
        the lock is asked for, and the lock, the insert and the COMMIT follow one another on the
        wire: the lock is held while the server runs them, not across a round trip. A failed
        statement (a concurrent writer's version: a uniqueness violation) is raised as itself,
        the first error of the pipeline, however late psycopg reads it (at a later statement,
        at the sync, or on leaving the pipeline, which then raises `PipelineAborted` for the
        statements the server skipped); the transaction it left failed is rolled back here
        before the connection goes back to the pool.
        """
        with self.datastore.get_connection() as conn:
            failed: Exception | None = None
            try:
                with conn.pipeline() as pipeline:
                    try:
                        with conn.cursor() as curs:
                            curs.execute(_BEGIN)
                            self._insert_events(curs, stored_events, **kwargs)
                        if stored_events:
                            with conn.cursor() as curs:
                                self._insert_stored_events(curs, stored_events, **kwargs)
                        with conn.cursor() as curs:
                            curs.execute(_COMMIT)
                        pipeline.sync()
                    except Exception as exc:  # raised after the pipeline, as the library does
                        failed = exc
            except psycopg.Error as exc:  # leaving it read the skipped statements' answers
                failed = failed or exc
            if failed is not None:
                if conn.info.transaction_status != TransactionStatus.IDLE:
                    with contextlib.suppress(Exception):  # a broken connection: the pool drops it
                        conn.execute(_ROLLBACK)
                raise failed
        return None

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        for statement, rows in kwargs.get("read_model") or ():
            if rows:
                curs.executemany(rendered(statement), rows)

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        arrays = (  # built before the lock is asked for
            [e.originator_id for e in stored_events],
            [e.originator_version for e in stored_events],
            [e.topic for e in stored_events],
            [e.state for e in stored_events],
        )
        # The library's `_lock_table` and `_notify_channel`, with their statements rendered once
        # (tests/unit/test_eventstore_library_contract.py holds them equal to the library's).
        for statement in self.lock_table_statements:
            curs.execute(rendered(statement), prepare=True)
        curs.execute(rendered(self.notify_statement))
        curs.execute(rendered(self.insert_events_statement), arrays)

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        return None  # nothing here uses the new notification ids (the relay reads the table)

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
        return try_lease(self.datastore, name)
