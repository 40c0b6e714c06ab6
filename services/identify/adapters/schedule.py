"""The scope schedule: when time alone may change a person's scope (16 → out of compulsory school,
the 20th birthday, an enrolment's end date …), kept beside the event store.

The next date is written by the same database transaction as the events that changed the person,
through the library's recorder, so the schedule can never disagree with the events after a crash.
A scheduler loop in the service evaluates the persons that are due; a decision that does not
change an episode records nothing, so running it twice (or on two replicas) emits nothing twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from functools import cached_property
from typing import Any

from eventsourcing.persistence import StoredEvent
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from services.identify.adapters import observations, pending
from shared.eventstore import BatchProcessRecorder

RECORDER_TOPIC = "services.identify.adapters.schedule:ScheduleRecorder"


class ScheduleRecorder(BatchProcessRecorder):
    read_model_ddl = (
        "CREATE TABLE IF NOT EXISTS {schema}.scope_schedule (person_id uuid PRIMARY KEY, due_on date)",
        "CREATE INDEX IF NOT EXISTS scope_schedule_due_on ON {schema}.scope_schedule (due_on)",
        *pending.DDL,
        *observations.DDL,
        "CREATE TABLE IF NOT EXISTS {schema}.go_live (tenant text PRIMARY KEY, "
        "first_run_on date NOT NULL)",
    )

    @property
    def schedule_table(self) -> Identifier:
        return Identifier(self.datastore.schema, "scope_schedule")

    @cached_property
    def upsert(self) -> bytes:
        return (
            SQL(
                "INSERT INTO {} (person_id, due_on) SELECT * FROM unnest(%b::uuid[], %b::date[]) "
                "ON CONFLICT (person_id) DO UPDATE SET due_on = EXCLUDED.due_on"
            )
            .format(self.schedule_table)
            .as_bytes(None)
        )  # rendered once, as the recorder's own

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        # One statement for the batch; a person listed twice keeps the last date.
        schedule: dict[uuid.UUID, date | None] = dict(kwargs.get("schedule") or [])
        if schedule:
            curs.execute(self.upsert, (list(schedule), list(schedule.values())), binary=True)

    def due(self, on: date, limit: int) -> list[uuid.UUID]:
        """Persons due by `on`; one who waits for a feed's watermark is decided by the release
        instead (which then sets their next date)."""
        query = SQL(
            "SELECT person_id FROM {} s WHERE due_on <= %s AND NOT EXISTS "
            "(SELECT 1 FROM {} p WHERE p.person_id = s.person_id) ORDER BY due_on LIMIT %s"
        ).format(self.schedule_table, Identifier(self.datastore.schema, "scope_pending"))
        with self.datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(query, (on, limit))
            return [row["person_id"] for row in cursor.fetchall()]

    def backlog(self, on: date) -> int:
        """How many persons are due by `on` and not yet evaluated: those `due` returns and those
        waiting for a feed's watermark (the release decides them). The schedule's backlog:
        near 0 when the scheduler and the release keep up."""
        query = SQL("SELECT count(*) AS n FROM {} WHERE due_on <= %s").format(self.schedule_table)
        with self.datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(query, (on,))
            row = cursor.fetchone()
            return int(row["n"]) if row is not None else 0
