"""Letters' configuration and batches in PostgreSQL (the outreach service's schema).

Templates: every save is a new version per municipality and name (none is rewritten); the
standard first letter is the default, version 0, until a municipality saves its own. Batches:
which youths' letters were made together, with which template version and sign-off, the
protected ones flagged; when the caseworker confirmed that the batch was posted. Blocking
(psycopg): the use cases call it off the event loop.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from psycopg import sql

from services.outreach.adapters import identities
from services.outreach.domain.letters import STANDARD, STANDARD_FIRST_LETTER, Template

DDL = (
    "CREATE TABLE IF NOT EXISTS {schema}.letter_templates ("
    " tenant char(4) NOT NULL, name text NOT NULL, version integer NOT NULL,"
    " subject text NOT NULL, body text NOT NULL, offer text NOT NULL, contact text NOT NULL,"
    " saved_by text NOT NULL, saved_at timestamptz NOT NULL DEFAULT now(),"
    " PRIMARY KEY (tenant, name, version))",
    "CREATE TABLE IF NOT EXISTS {schema}.letter_batches ("
    " batch_id uuid PRIMARY KEY, tenant char(4) NOT NULL, worklist text,"
    " template text NOT NULL, template_version integer NOT NULL, caseworker text NOT NULL,"
    " made_on date NOT NULL, made_by text NOT NULL, made_at timestamptz NOT NULL DEFAULT now(),"
    " sent_at timestamptz, confirmed_by text)",
    "CREATE TABLE IF NOT EXISTS {schema}.letter_batch_items ("
    " batch_id uuid NOT NULL, position integer NOT NULL, youth_id uuid NOT NULL,"
    " forwarding boolean NOT NULL, contact_attempt_id uuid NOT NULL,"
    " PRIMARY KEY (batch_id, youth_id))",
    "CREATE INDEX IF NOT EXISTS letter_batches_pending ON {schema}.letter_batches"
    " (tenant, made_on) WHERE sent_at IS NULL",
    # When the letter was e-mailed (`adapters/letter_mail.py`), so it is e-mailed once.
    "ALTER TABLE {schema}.letter_batch_items ADD COLUMN IF NOT EXISTS emailed_at timestamptz",
    # The list's youths left out of the batch because their address is not known.
    "ALTER TABLE {schema}.letter_batches"
    " ADD COLUMN IF NOT EXISTS address_not_known uuid[] NOT NULL DEFAULT '{{}}'",
)
PENDING_DAYS = 14  # a batch not confirmed as posted keeps its youths out of new batches so long


@dataclass(frozen=True)
class BatchItem:
    youth_id: uuid.UUID
    forwarding: bool  # a protected youth's letter: forwarded by Skatteverket, no address
    contact_attempt_id: uuid.UUID  # what confirming the batch records the attempt as
    emailed_at: datetime | None = None


@dataclass(frozen=True)
class Batch:
    batch_id: uuid.UUID
    tenant: str
    worklist: str | None
    template: str
    template_version: int
    caseworker: str
    made_on: date
    made_by: str
    sent_at: datetime | None
    confirmed_by: str | None
    items: tuple[BatchItem, ...]
    # The list's youths left out: no name and address on record (not yet kept from identify).
    address_not_known: tuple[uuid.UUID, ...] = ()


class LetterStore:
    """Templates and batches of one service schema, on the event store's database."""

    def __init__(self, datastore: Any, schema: str) -> None:
        self.datastore = datastore
        self.schema = schema

    def _table(self, name: str) -> sql.Identifier:
        return sql.Identifier(self.schema, name)

    def create_tables(self) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('kaa.ddl'))")
            for ddl in DDL:
                cursor.execute(sql.SQL(ddl).format(schema=sql.Identifier(self.schema)))
            identities.create_tables(cursor, self.schema)

    # -- templates ------------------------------------------------------------------------------

    def template(self, tenant: str, name: str, version: int | None = None) -> Template | None:
        """The version asked for, else the newest; the standard first letter as version 0."""
        query = sql.SQL(
            "SELECT name, version, subject, body, offer, contact FROM {} WHERE tenant = %s"
            " AND name = %s AND (%s::integer IS NULL OR version = %s) ORDER BY version DESC LIMIT 1"
        ).format(self._table("letter_templates"))
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(query, (tenant, name, version, version))
            row = cursor.fetchone()
        if row is not None:
            return Template(**row)
        if name == STANDARD and version in (None, 0):
            return STANDARD_FIRST_LETTER
        return None

    def save_template(self, tenant: str, template: Template, actor: str) -> int:
        """Save as the next version of the municipality's template; the version."""
        table = self._table("letter_templates")
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"letters/{tenant}/{template.name}",)
            )
            cursor.execute(
                sql.SQL(
                    "SELECT coalesce(max(version), 0) + 1 AS v FROM {}"
                    " WHERE tenant = %s AND name = %s"
                ).format(table),
                (tenant, template.name),
            )
            version: int = cursor.fetchone()["v"]
            cursor.execute(
                sql.SQL(
                    "INSERT INTO {} (tenant, name, version, subject, body, offer, contact,"
                    " saved_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                ).format(table),
                (tenant, template.name, version, template.subject, template.body,
                 template.offer, template.contact, actor),
            )  # fmt: skip
        return version

    # -- batches --------------------------------------------------------------------------------

    def pending_youths(self, tenant: str, today: date) -> set[uuid.UUID]:
        """Youths in the municipality's batches made in the last PENDING_DAYS and not yet
        confirmed as posted."""
        query = sql.SQL(
            "SELECT i.youth_id FROM {} b JOIN {} i USING (batch_id) WHERE b.tenant = %s"
            " AND b.sent_at IS NULL AND b.made_on > %s::date - %s::integer"
        ).format(self._table("letter_batches"), self._table("letter_batch_items"))
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(query, (tenant, today, PENDING_DAYS))
            return {row["youth_id"] for row in cursor.fetchall()}

    def save_batch(self, batch: Batch) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                sql.SQL(
                    "INSERT INTO {} (batch_id, tenant, worklist, template, template_version,"
                    " caseworker, made_on, made_by, address_not_known)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                ).format(self._table("letter_batches")),
                (batch.batch_id, batch.tenant, batch.worklist, batch.template,
                 batch.template_version, batch.caseworker, batch.made_on, batch.made_by,
                 list(batch.address_not_known)),
            )  # fmt: skip
            cursor.executemany(
                sql.SQL(
                    "INSERT INTO {} (batch_id, position, youth_id, forwarding, contact_attempt_id)"
                    " VALUES (%s, %s, %s, %s, %s)"
                ).format(self._table("letter_batch_items")),
                [(batch.batch_id, n, i.youth_id, i.forwarding, i.contact_attempt_id)
                 for n, i in enumerate(batch.items)],
            )  # fmt: skip

    def batch(self, tenant: str, batch_id: uuid.UUID) -> Batch | None:
        """The municipality's batch (None for another municipality's or none)."""
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                sql.SQL(
                    "SELECT batch_id, tenant, worklist, template, template_version, caseworker,"
                    " made_on, made_by, sent_at, confirmed_by, address_not_known FROM {}"
                    " WHERE batch_id = %s AND tenant = %s"
                ).format(self._table("letter_batches")),
                (batch_id, tenant),
            )
            row = cursor.fetchone()
            if row is None:
                return None
            unaddressed = row.pop("address_not_known")
            cursor.execute(
                sql.SQL(
                    "SELECT youth_id, forwarding, contact_attempt_id, emailed_at FROM {}"
                    " WHERE batch_id = %s ORDER BY position"
                ).format(self._table("letter_batch_items")),
                (batch_id,),
            )
            items = tuple(BatchItem(**r) for r in cursor.fetchall())
        return Batch(**row, items=items, address_not_known=tuple(unaddressed))

    def mark_sent(
        self, tenant: str, batch_id: uuid.UUID, sent_at: datetime, actor: str
    ) -> datetime:
        """Confirm the batch as posted; the time it was first confirmed (a repeat keeps it)."""
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                sql.SQL(
                    "UPDATE {} SET sent_at = coalesce(sent_at, %s),"
                    " confirmed_by = coalesce(confirmed_by, %s)"
                    " WHERE batch_id = %s AND tenant = %s RETURNING sent_at"
                ).format(self._table("letter_batches")),
                (sent_at, actor, batch_id, tenant),
            )
            stored: datetime = cursor.fetchone()["sent_at"]
        return stored

    def mark_emailed(self, batch_id: uuid.UUID, youth_ids: list[uuid.UUID], at: datetime) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                sql.SQL(
                    "UPDATE {} SET emailed_at = coalesce(emailed_at, %s)"
                    " WHERE batch_id = %s AND youth_id = ANY(%s)"
                ).format(self._table("letter_batch_items")),
                (at, batch_id, youth_ids),
            )

    def open_details(self, keys: Any, tenant: str, youth_ids: list[uuid.UUID]) -> dict[Any, Any]:
        with self.datastore.transaction(commit=False) as cursor:
            return identities.open_details(cursor, self.schema, keys, tenant, youth_ids)
