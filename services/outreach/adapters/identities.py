"""The youths' names and addresses as identify published them, for letters: a read table of the
sealed `PersonalDetails` (one row per youth, the newest), written in the transaction of the batch
of identify's events that carried them, and opened only to write a letter, with the youth's data
key from the shared keyring (as the register opens them). Outreach holds nothing in the clear: a
key retention destroyed leaves a row nobody can open, which counts as no details.

A store from before outreach kept them has youths in scope without a row: `BackfillStore` finds
them and fills their rows from identify's events read again from the beginning
(`commands.backfill`), once per store (`identities_backfill` records that it ran)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import structlog
from psycopg import sql

from shared.contracts.events import PersonalDetails, PersonalDetailsRecorded, YouthIdentified
from shared.crypto import SealedDataError, TenantKeys, open_sealed

log = structlog.get_logger(__name__)

DDL = (
    "CREATE TABLE IF NOT EXISTS {schema}.letter_identities ("
    " tenant char(4) NOT NULL, youth_id uuid NOT NULL, personal_details text NOT NULL,"
    " recorded_at timestamptz NOT NULL, PRIMARY KEY (tenant, youth_id))",
    # That the backfill read identify's events through to their end as they stood (once).
    "CREATE TABLE IF NOT EXISTS {schema}.identities_backfill ("
    " done boolean PRIMARY KEY DEFAULT true CHECK (done), completed_at timestamptz NOT NULL,"
    " youths_without integer NOT NULL, filled integer NOT NULL)",
)
Rows = list[tuple[Any, list[Any]]]


def create_tables(cursor: Any, schema: str) -> None:
    for ddl in DDL:
        cursor.execute(sql.SQL(ddl).format(schema=sql.Identifier(schema)))


def _upsert(schema: str) -> sql.Composed:
    return sql.SQL(
        "INSERT INTO {table} AS t (tenant, youth_id, personal_details, recorded_at)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT (tenant, youth_id) DO UPDATE"
        " SET personal_details = EXCLUDED.personal_details, recorded_at = EXCLUDED.recorded_at"
        " WHERE t.recorded_at <= EXCLUDED.recorded_at"
    ).format(table=sql.Identifier(schema, "letter_identities"))


def carried(messages: Iterable[Any]) -> list[tuple[str, uuid.UUID, str, datetime]]:
    """The sealed details identify's events carry: (tenant, youth id, sealed, recorded at)."""
    return [
        (m.tenant, m.youth_id, m.personal_details, m.recorded_at)
        for m in messages
        if isinstance(m, YouthIdentified | PersonalDetailsRecorded) and m.personal_details
    ]


def identify_rows(schema: str) -> Callable[[list[Any]], Rows]:
    """What takes a batch of identify's events to the rows of the sealed details it carried
    (`CaseApplication.identify_rows`); a redelivered or older event does not replace newer."""
    upsert = _upsert(schema)

    def rows(messages: list[Any]) -> Rows:
        found = carried(messages)
        return [(upsert, found)] if found else []

    return rows


class BackfillStore:
    """The rows a store from before outreach kept details lacks (blocking, psycopg)."""

    def __init__(self, datastore: Any, schema: str) -> None:
        self.datastore = datastore
        self.schema = schema

    def done(self) -> bool:
        """Whether the backfill has read identify's events through once already."""
        query = sql.SQL("SELECT 1 FROM {}").format(
            sql.Identifier(self.schema, "identities_backfill")
        )
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(query)
            return cursor.fetchone() is not None

    def without_details(self) -> set[tuple[str, uuid.UUID]]:
        """The youths in scope (tenant, youth id) whose sealed details outreach does not keep."""
        query = sql.SQL(
            "SELECT c.tenant, c.youth_id FROM {cases} c LEFT JOIN {ids} i"
            " ON i.tenant = c.tenant AND i.youth_id = c.youth_id"
            " WHERE c.in_scope AND i.youth_id IS NULL"
        ).format(
            cases=sql.Identifier(self.schema, "cases"),
            ids=sql.Identifier(self.schema, "letter_identities"),
        )
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(query)
            return {(row["tenant"], row["youth_id"]) for row in cursor.fetchall()}

    def fill(self, found: list[tuple[str, uuid.UUID, str, datetime]]) -> None:
        """Keep the details found (a newer row already kept stays: idempotent)."""
        with self.datastore.transaction(commit=True) as cursor:
            cursor.executemany(_upsert(self.schema), found)

    def mark_done(self, youths_without: int, filled: int) -> None:
        query = sql.SQL(
            "INSERT INTO {} (completed_at, youths_without, filled) VALUES (now(), %s, %s)"
            " ON CONFLICT (done) DO NOTHING"
        ).format(sql.Identifier(self.schema, "identities_backfill"))
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(query, (youths_without, filled))


def open_details(
    cursor: Any, schema: str, keys: TenantKeys, tenant: str, youth_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, PersonalDetails]:
    """The details of those of the youths that have them and whose key is whole; a youth whose
    details fail authentication is left out and logged by id only."""
    cursor.execute(
        sql.SQL(
            "SELECT i.youth_id, i.personal_details, k.wrapped FROM {table} i"
            " JOIN keyring.youth_keys k ON k.tenant = i.tenant AND k.youth_id = i.youth_id"
            " WHERE i.tenant = %s AND i.youth_id = ANY(%s)"
        ).format(table=sql.Identifier(schema, "letter_identities")),
        (tenant, list(youth_ids)),
    )
    opened: dict[uuid.UUID, PersonalDetails] = {}
    for row in cursor.fetchall():
        youth_id: uuid.UUID = row["youth_id"]
        try:
            data_key = keys.unwrap(tenant, youth_id, bytes(row["wrapped"]))
            plain = open_sealed(
                data_key, row["personal_details"], tenant, youth_id, PersonalDetails.PURPOSE
            )
        except SealedDataError as error:
            log.error("sealed personal details refused", tenant=tenant, youth_id=str(youth_id),
                      reason=str(error))  # fmt: skip
            continue
        opened[youth_id] = PersonalDetails.model_validate_json(plain)
    return opened


def sealed_contact_details(application: Any, youth_id: uuid.UUID) -> str | None:
    """The newest contact details recorded on the youth's case (sealed), read off its events; a
    correction is a newer recording, so the newest is the truth. Blocking."""
    newest = None
    for stored in application.events.get(youth_id):
        value = getattr(stored, "contact_details", None)
        if isinstance(value, str):
            newest = value
    return newest
