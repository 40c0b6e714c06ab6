"""identify's event store: the persons, their scope schedule, who waits for their feeds, the
municipalities' go-live days and the youths' data keys, all in the service's schema.

`IdentifyStore` is the eventsourcing application the handlers (`services.identify.commands`) and
the outbox relay work on; it reads and writes, and decides nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from psycopg import sql

from services.identify import domain
from services.identify.adapters import pending
from services.identify.adapters.pending import Watermarks
from services.identify.adapters.schedule import RECORDER_TOPIC, ScheduleRecorder
from shared import intake
from shared.crypto import (
    INSERT_KEYS,
    KEYRING_DDL,
    SELECT_KEYS,
    DataKeyCache,
    TenantKeys,
    json_rows,
    new_data_key,
)
from shared.eventstore import KafkaFedApplication
from shared.pseudonym import person_id

SCHEMA = "identify"


class IdentifyStore(KafkaFedApplication):
    """The identify service's event store, with its read tables and the youths' data keys."""

    # The library names the store's tables after the application (`identifyapplication_events`,
    # `identifyapplication_tracking`): the name the tables were first made with, kept.
    name = "IdentifyApplication"

    def __init__(self, env: dict[str, str], *, master_key: str) -> None:
        super().__init__(env={**env, "PROCESS_RECORDER_TOPIC": RECORDER_TOPIC})
        self.tenant_keys = TenantKeys(master_key)
        self.data_keys = DataKeyCache()
        # Data keys made for the batch being applied: written in its transaction (a retried
        # batch starts afresh; a key whose youth was never saved is dropped with the attempt).
        self.new_keys: list[tuple[str, uuid.UUID, bytes, str | None]] = []
        with self.recorder.datastore.transaction(commit=True) as curs:  # type: ignore[attr-defined]
            curs.execute(KEYRING_DDL)

    @property
    def schedule(self) -> ScheduleRecorder:
        recorder = self.recorder
        assert isinstance(recorder, ScheduleRecorder)
        return recorder

    @property
    def schema(self) -> str:
        return str(self.recorder.datastore.schema)  # type: ignore[attr-defined]

    # -- persons --------------------------------------------------------------------------------

    def person(
        self, key: str, cache: dict[uuid.UUID, domain.Person], pid: uuid.UUID | None = None
    ) -> domain.Person:
        """The person of a keyed hash from the batch's cache or the store, or a new one."""
        pid = pid or person_id(key)
        person: domain.Person | None = self.get_or_none(pid, cache)
        if person is None:
            person = domain.Person(key)
            cache[pid] = person
        return person

    def person_of_youth(self, tenant: str, youth_id: uuid.UUID) -> uuid.UUID | None:
        """The person behind a municipality's youth id (a coordinator's rare look-up): from the
        keyring, where identify stored the person's keyed hash with the youth's data key; else by
        the person's `ScopeEntered` events: a key from before the hash was kept there, or no key at
        all (a youth who entered on another municipality's report of a move, whom no record of
        this municipality's own feed has named yet)."""
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:  # type: ignore[attr-defined]
            cursor.execute(
                "SELECT subject FROM keyring.youth_keys WHERE tenant = %s AND youth_id = %s",
                (tenant, youth_id),
            )
            row = cursor.fetchone()
            if row is not None and row["subject"] is not None:
                return person_id(row["subject"])
            table = sql.Identifier(self.schema, self.recorder.events_table_name)  # type: ignore[attr-defined]
            cursor.execute(
                sql.SQL(
                    "SELECT originator_id FROM {} WHERE topic = %s "
                    "AND position(%s::bytea in state) > 0 LIMIT 1"
                ).format(table),
                (f"{domain.person.TOPIC}.ScopeEntered", str(youth_id).encode()),
            )
            found = cursor.fetchone()
        return None if found is None else found["originator_id"]

    # -- feed watermarks and pending persons ----------------------------------------------------

    def pending_state(self, ids: list[uuid.UUID]) -> tuple[Watermarks, set[uuid.UUID]]:
        """The watermarks as stored, and which of these persons are pending already."""
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:  # type: ignore[attr-defined]
            marks = Watermarks.load(cursor, self.schema)
            if not ids:
                return marks, set()
            cursor.execute(
                pending.statement(
                    "SELECT DISTINCT person_id FROM {schema}.scope_pending "
                    "WHERE person_id = ANY(%s)",
                    self.schema,
                ),
                (ids,),
            )
            return marks, {row["person_id"] for row in cursor.fetchall()}

    def releasable(
        self, completes: Mapping[str, datetime | None], settled: datetime, limit: int
    ) -> list[tuple[uuid.UUID, str, datetime]]:
        """Pending rows of persons who may be decided: every source their municipality waits
        for is complete (`completes`) up to their facts, or they waited since before `settled`."""
        tenants = sorted(completes)
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:  # type: ignore[attr-defined]
            cursor.execute(
                pending.statement(pending.RELEASABLE, self.schema),
                {
                    "tenants": tenants,
                    "completes": [completes[t] for t in tenants],
                    "settled": settled,
                    "limit": limit,
                },
            )
            return [(r["person_id"], r["tenant"], r["touched"]) for r in cursor.fetchall()]

    def watermarks(self) -> Watermarks:
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:  # type: ignore[attr-defined]
            return Watermarks.load(cursor, self.schema)

    def pending_row(self, person: uuid.UUID, tenant: str) -> tuple[datetime, datetime] | None:
        """(latest fact observed, waiting since) of a person pending in a municipality."""
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:  # type: ignore[attr-defined]
            cursor.execute(
                pending.statement(
                    "SELECT fact_at, since FROM {schema}.scope_pending "
                    "WHERE person_id = %s AND tenant = %s",
                    self.schema,
                ),
                (person, tenant),
            )
            row = cursor.fetchone()
        return None if row is None else (row["fact_at"], row["since"])

    def pending_summary(
        self, sources: dict[str, tuple[str, ...]], settle: timedelta, now: datetime
    ) -> list[dict[str, Any]]:
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:  # type: ignore[attr-defined]
            return pending.summary(cursor, self.schema, sources, settle, now)

    # -- go-live --------------------------------------------------------------------------------

    def first_runs(self, tenants: Iterable[str], today: date) -> dict[str, date]:
        """The day identify first ran for each municipality (`today` for one new to it, stored
        then, so it stays the same across restarts)."""
        with self.recorder.datastore.transaction(commit=True) as curs:  # type: ignore[attr-defined]
            curs.execute(
                pending.statement(
                    "INSERT INTO {schema}.go_live (tenant, first_run_on) "
                    "SELECT unnest(%s::text[]), %s ON CONFLICT (tenant) DO NOTHING",
                    self.schema,
                ),
                (sorted(tenants), today),
            )
            curs.execute(pending.statement("SELECT * FROM {schema}.go_live", self.schema))
            return {row["tenant"]: row["first_run_on"] for row in curs.fetchall()}

    # -- data keys ------------------------------------------------------------------------------

    def load_data_keys(self, pairs: Iterable[tuple[str, uuid.UUID]]) -> None:
        """Bring known youths' data keys into memory with one query."""
        missing = self.data_keys.missing(pairs)
        if not missing:
            return
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:  # type: ignore[attr-defined]
            cursor.execute(
                SELECT_KEYS, (json_rows({"tenant": t, "youth_id": y} for t, y in missing),)
            )
            for row in cursor.fetchall():
                self.data_keys.put(
                    row["tenant"],
                    row["youth_id"],
                    self.tenant_keys.unwrap(row["tenant"], row["youth_id"], row["wrapped"]),
                )

    def forget_unsaved_keys(self) -> None:
        """Drop the keys an attempt made that was not saved (it is retried afresh)."""
        for made_for, made_id, _, _ in self.new_keys:
            self.data_keys.drop(made_for, made_id)
        self.new_keys = []

    def data_key(self, tenant: str, youth_id: uuid.UUID, subject: str) -> bytes:
        """The youth's data key; a new one is stored with the person's keyed hash, the subject
        of their intake keys (retention destroys those with it), by `keys_to_store`."""
        key = self.data_keys.get(tenant, youth_id)
        if key is None:  # a youth new to this municipality (or known only from a school)
            key = new_data_key()
            self.data_keys.put(tenant, youth_id, key)
            self.new_keys.append((tenant, youth_id, key, subject))
        return key

    def keys_to_store(self) -> list[tuple[str, list[tuple[Any, ...]]]]:
        """The statement writing the keys made by this attempt, wrapped (none: empty); they are
        kept until `keys_saved` (a failed attempt's are dropped by `forget_unsaved_keys`)."""
        if not self.new_keys:
            return []
        rows = json_rows(
            {"tenant": t, "youth_id": y, "wrapped": self.tenant_keys.wrap(t, y, k), "subject": s}
            for t, y, k, s in self.new_keys
        )
        return [(INSERT_KEYS, [(rows,)])]

    def keys_saved(self) -> None:
        self.new_keys = []

    async def intake_keys(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
        """The wrapped intake keys of (tenant, subject) pairs (shared/intake.py)."""
        return await asyncio.to_thread(self._intake_keys, pairs)

    def _intake_keys(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:  # type: ignore[attr-defined]
            cursor.execute(
                intake.SELECT_KEYS, (json_rows({"tenant": t, "subject": s} for t, s in pairs),)
            )
            return {(r["tenant"], r["subject"]): bytes(r["wrapped"]) for r in cursor.fetchall()}
