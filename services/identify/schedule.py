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
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from shared.eventstore import BatchProcessRecorder

RECORDER_TOPIC = "services.identify.schedule:ScheduleRecorder"


class ScheduleRecorder(BatchProcessRecorder):
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
        self.schedule_table = Identifier(datastore.schema, "scope_schedule")
        self.sql_create_statements.append(
            SQL("CREATE TABLE IF NOT EXISTS {} (person_id uuid PRIMARY KEY, due_on date)").format(
                self.schedule_table
            )
        )
        self.sql_create_statements.append(
            SQL("CREATE INDEX IF NOT EXISTS scope_schedule_due_on ON {} (due_on)").format(
                self.schedule_table
            )
        )
        self.upsert = SQL(
            "INSERT INTO {} (person_id, due_on) SELECT * FROM unnest(%b::uuid[], %b::date[]) "
            "ON CONFLICT (person_id) DO UPDATE SET due_on = EXCLUDED.due_on"
        ).format(self.schedule_table)

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        # One statement for the batch; a person listed twice keeps the last date.
        schedule: dict[uuid.UUID, date | None] = dict(kwargs.get("schedule") or [])
        if schedule:
            curs.execute(self.upsert, (list(schedule), list(schedule.values())), binary=True)

    def due(self, on: date, limit: int) -> list[uuid.UUID]:
        query = SQL("SELECT person_id FROM {} WHERE due_on <= %s ORDER BY due_on LIMIT %s").format(
            self.schedule_table
        )
        with self.datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(query, (on, limit))
            return [row["person_id"] for row in cursor.fetchall()]
