"""The outreach service's event store: cases fed by identify, commanded by caseworkers, and the
worklists' read model written in the same transaction (one summary row per case, the follow-ups
the measures service scheduled)."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import date
from typing import Any

from eventsourcing.utils import get_topic
from psycopg import sql

from services.outreach.domain import OutreachCase
from shared.casework.adapters.store import CaseApplication
from shared.casework.domain import Rule
from shared.contracts.events import (
    ContactDetails,
    FollowUpCancelled,
    FollowUpCompleted,
    FollowUpScheduled,
)
from shared.crypto import seal
from shared.eventstore import BatchProcessRecorder

CASE_COLUMNS = (
    "youth_id", "tenant", "in_scope", "entered_on", "scope_ends_on", "left_on", "left_reason",
    "assignee_kind", "assignee", "clock_from", "clock_trigger", "first_attempt_on",
    "first_contact_on", "last_attempt_on", "last_attempt_outcome", "last_contact_on",
    "occupation_category", "occupation_confirmed_on", "clock_event_on",
)  # fmt: skip


def case_row(case: OutreachCase) -> tuple[Any, ...]:
    """The case's summary row (`CASE_COLUMNS`), which the worklists and clock figures read."""
    occupation = case.current_occupation()
    clock = case.clock or {}
    return (
        case.id, case.tenant, case.in_scope, case.entered_on, case.scope_ends_on,
        case.left_on, case.left_reason, case.assignee_kind, case.assignee,
        clock.get("from"), clock.get("trigger"), clock.get("first_attempt_on"),
        clock.get("first_contact_on"), case.last_attempt_on, case.last_attempt_outcome,
        case.last_contact_on, occupation["category"] if occupation else None,
        max((o["confirmed_on"] for o in case.occupations), default=None),
        clock.get("event_on"),
    )  # fmt: skip


class OutreachRecorder(BatchProcessRecorder):
    read_model_ddl = (
        "CREATE TABLE IF NOT EXISTS {schema}.cases ("
        " youth_id uuid PRIMARY KEY, tenant text NOT NULL, in_scope boolean NOT NULL,"
        " entered_on date, scope_ends_on date, left_on date, left_reason text,"
        " assignee_kind text, assignee text, clock_from date, clock_trigger text,"
        " first_attempt_on date, first_contact_on date, last_attempt_on date,"
        " last_attempt_outcome text, last_contact_on date, occupation_category text,"
        " occupation_confirmed_on date)",
        # The day the clock's event happened (the scope entry, the school's notification day).
        "ALTER TABLE {schema}.cases ADD COLUMN IF NOT EXISTS clock_event_on date",
        "CREATE INDEX IF NOT EXISTS cases_tenant ON {schema}.cases (tenant, in_scope)",
        # One partial index per worklist: a page is an index scan in the list's order.
        "CREATE INDEX IF NOT EXISTS cases_first_contact ON {schema}.cases"
        " (tenant, clock_from, youth_id)"
        " WHERE in_scope AND clock_from IS NOT NULL AND first_attempt_on IS NULL",
        "CREATE INDEX IF NOT EXISTS cases_recontact ON {schema}.cases"
        " (tenant, last_attempt_on, youth_id) WHERE in_scope AND last_attempt_outcome IN"
        " ('not_reached', 'declined_contact', 'wrong_contact_details')",
        "CREATE INDEX IF NOT EXISTS cases_turning_20 ON {schema}.cases"
        " (tenant, scope_ends_on, youth_id) WHERE in_scope",
        "CREATE INDEX IF NOT EXISTS cases_occupation ON {schema}.cases"
        " (tenant, occupation_confirmed_on NULLS FIRST, entered_on, youth_id) WHERE in_scope",
        "CREATE TABLE IF NOT EXISTS {schema}.follow_ups ("
        " follow_up_id uuid PRIMARY KEY, youth_id uuid NOT NULL, tenant text NOT NULL,"
        " subject text NOT NULL, due_on date NOT NULL, measure_id uuid, completed_on date)",
        "CREATE INDEX IF NOT EXISTS follow_ups_due ON {schema}.follow_ups (tenant, due_on)"
        " WHERE completed_on IS NULL",
    )


RULE_BOOK = {
    "first_contact_working_days": Rule(
        10,
        1,
        60,
        "Working days from when the municipality could know (the youth's identification, a "
        "school's notification) to a first attempt.",
    ),
    "recontact_days": Rule(60, 7, 365, "Days after a failed or declined attempt to try again."),
    "occupation_currency_days": Rule(
        90, 14, 365, "Days an occupation stays known without being confirmed again."
    ),
    "turning_20_notice_days": Rule(60, 7, 365, "Days before the 20th birthday to list a youth."),
}


class OutreachApplication(CaseApplication):
    read_tables = ("cases", "follow_ups")

    def seal_contact_details(
        self, tenant: str, youth_id: uuid.UUID, details: ContactDetails
    ) -> tuple[str, str]:
        """The details sealed with the youth's data key, and a digest keyed with it."""
        plain = details.model_dump_json().encode()
        data_key = self.data_key(tenant, youth_id)
        sealed = seal(data_key, plain, tenant, youth_id, ContactDetails.PURPOSE)
        return sealed, hmac.new(data_key, plain, hashlib.sha256).hexdigest()

    def purged(self, tenant: str, youth_id: uuid.UUID) -> bool:
        """Whether retention destroyed the youth's data key: nothing may be sealed for them anew
        (sealing would make them a new key). Blocking."""
        with self.recorder.datastore.transaction(commit=False) as cursor:  # type: ignore[attr-defined]
            cursor.execute(
                "SELECT 1 FROM keyring.destroyed_keys WHERE tenant = %s AND youth_id = %s",
                (tenant, youth_id),
            )
            return cursor.fetchone() is not None

    case_class = OutreachCase
    rule_book = RULE_BOOK

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(env={**env, "PROCESS_RECORDER_TOPIC": get_topic(OutreachRecorder)})
        schema = self.env["POSTGRES_SCHEMA"]
        columns = sql.SQL(", ").join(map(sql.Identifier, CASE_COLUMNS))
        self.upsert_case = sql.SQL(
            "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (youth_id) DO UPDATE SET {}"
        ).format(
            sql.Identifier(schema, "cases"),
            columns,
            sql.SQL(", ").join(sql.Placeholder() * len(CASE_COLUMNS)),
            sql.SQL(", ").join(
                sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in CASE_COLUMNS[1:]
            ),
        )
        self.upsert_follow_up = sql.SQL(
            "INSERT INTO {} (follow_up_id, youth_id, tenant, subject, due_on, measure_id)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (follow_up_id) DO UPDATE"
            " SET due_on = EXCLUDED.due_on, subject = EXCLUDED.subject, completed_on = NULL"
        ).format(sql.Identifier(schema, "follow_ups"))
        self.complete_follow_up = sql.SQL(
            "INSERT INTO {} (follow_up_id, youth_id, tenant, subject, due_on, completed_on)"
            " VALUES (%s, %s, %s, 'unknown', %s, %s) ON CONFLICT (follow_up_id) DO UPDATE"
            " SET completed_on = EXCLUDED.completed_on"
        ).format(sql.Identifier(schema, "follow_ups"))

    def read_model(self, cases: list[Any]) -> list[tuple[Any, list[Any]]]:
        return [(self.upsert_case, [case_row(c) for c in cases if isinstance(c, OutreachCase)])]

    def save_follow_ups(
        self,
        follow_ups: list[FollowUpScheduled | FollowUpCompleted | FollowUpCancelled],
        topic: str,
        partition: int,
        next_offset: int,
    ) -> None:
        """The worklists' rows of follow-ups scheduled, completed and cancelled, applied in the
        order published (each run of one kind as one statement), with the input's position
        (read rows only: no events of outreach's own)."""
        runs: list[tuple[Any, list[Any]]] = []
        for m in follow_ups:
            row: tuple[Any, ...]
            if isinstance(m, FollowUpScheduled):
                statement = self.upsert_follow_up
                row = (m.follow_up_id, m.youth_id, m.tenant, m.subject, m.due_on, m.measure_id)
            else:
                statement = self.complete_follow_up
                row = (m.follow_up_id, m.youth_id, m.tenant, _closed_on(m), _closed_on(m))
            if runs and runs[-1][0] is statement:
                runs[-1][1].append(row)
            else:
                runs.append((statement, [row]))
        self.save_tracked([], topic, partition, next_offset, read_model=runs)


def _closed_on(closed: FollowUpCompleted | FollowUpCancelled) -> date:
    """The day a follow-up left the worklist: done, or no longer due."""
    return closed.completed_on if isinstance(closed, FollowUpCompleted) else closed.cancelled_on
