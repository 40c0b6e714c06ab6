"""identify's event store: the persons, their scope schedule, who waits for their feeds, the
municipalities' go-live days and the youths' data keys, all in the service's schema.

`IdentifyStore` is the eventsourcing application the handlers (`services.identify.commands`) and
the outbox relay work on; it reads and writes, and decides nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from services.identify import domain
from services.identify.adapters import observations, pending, pending_summary, subjects
from services.identify.adapters.observations import SourceObservations
from services.identify.adapters.pending import Watermarks
from services.identify.adapters.schedule import RECORDER_TOPIC, ScheduleRecorder
from services.identify.adapters.subjects import Filled
from services.identify.adapters.watermark_cache import WatermarkCache
from services.identify.domain.triggers import created
from shared import intake
from shared.crypto import (
    INSERT_KEY_ARRAYS,
    KEYRING_DDL,
    SELECT_KEYS,
    DataKeyCache,
    TenantKeys,
    json_rows,
    key_arrays,
    new_data_key,
)
from shared.eventstore import KafkaFedApplication
from shared.pseudonym import person_id

SCHEMA = "identify"
ENTERED: type = domain.Person.ScopeEntered  # type: ignore[attr-defined]  # made by @event
REGISTERED: type = domain.Person.Registered  # type: ignore[attr-defined]
# Which of these (tenant, youth) pairs have a data key already.
HELD_KEYS = (
    "SELECT tenant, youth_id FROM keyring.youth_keys WHERE (tenant, youth_id) IN "
    "(SELECT * FROM json_to_recordset(%s::json) AS r(tenant char(4), youth_id uuid))"
)


class IdentifyStore(KafkaFedApplication):
    """The identify service's event store, with its read tables and the youths' data keys."""

    # The library names the store's tables after the application (`identifyapplication_events`,
    # `identifyapplication_tracking`): the name the tables were first made with, kept.
    name = "IdentifyApplication"

    def __init__(self, env: dict[str, str], *, master_key: str, compact_facts: bool = True) -> None:
        super().__init__(env={**env, "PROCESS_RECORDER_TOPIC": RECORDER_TOPIC})
        # A save's consecutive fact events of a person stored as one (`domain/facts.py`); False:
        # one row each, as before (the tests compare the two).
        self.compact_facts = compact_facts
        self.tenant_keys = TenantKeys(master_key)
        self.data_keys = DataKeyCache()
        # The keys of the batch being applied, each taken once (`load_data_keys`): read again
        # from the bounded cache, a key pushed out by the batch's own puts would be made anew.
        self.batch_keys: dict[tuple[str, uuid.UUID], bytes] = {}
        # Data keys made for the batch being applied: written in its transaction (a retried
        # batch starts afresh; a key whose youth was never saved is dropped with the attempt).
        self.new_keys: list[tuple[str, uuid.UUID, bytes, str | None]] = []
        self.watermarks_read = WatermarkCache()
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
            person = created(domain.Person, REGISTERED, pid, person_key=key)
            cache[pid] = person
        return person

    def fill_subjects(self, progress: Callable[[int, int], None] | None = None) -> Filled:
        """Start-up, once: the persons' keyed hashes for the keys made before identify stored
        them, and keys for youths who entered scope without one (`adapters/subjects.py`)."""
        table = self.recorder.events_table_name  # type: ignore[attr-defined]
        return subjects.fill_subjects(self.recorder.datastore, table, self.tenant_keys, progress)  # type: ignore[attr-defined]

    def person_of_youth(self, tenant: str, youth_id: uuid.UUID) -> uuid.UUID | None:
        """The person behind a municipality's youth id (a coordinator's look-up), from the
        keyring by its primary key: identify stores the person's keyed hash with every youth's
        data key, made at the latest when the youth enters scope there (`save_tracked`); keys made
        before that were given it at start-up (`adapters/subjects.py`). None: not identify's."""
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:  # type: ignore[attr-defined]
            cursor.execute(
                "SELECT subject FROM keyring.youth_keys WHERE tenant = %s AND youth_id = %s",
                (tenant, youth_id),
            )
            row = cursor.fetchone()
        return None if row is None or row["subject"] is None else person_id(row["subject"])

    def save_tracked(
        self,
        aggregates: Iterable[Any],
        topic: str | None,
        partition: int,
        next_offset: int,
        **recorder_kwargs: Any,
    ) -> None:
        """Save as the base does, and give every youth who enters scope in a municipality where
        they have no data key yet (one who entered on another municipality's report of a move, or
        on a school's notification alone) a key there, stored with the person's keyed hash in the
        same transaction: the register's look-up by personnummer and `person_of_youth` find
        them by it."""
        persons = [a for a in aggregates if a is not None]
        entered = self._entry_keys(persons)
        if entered:
            recorder_kwargs["read_model"] = [*(recorder_kwargs.get("read_model") or ()), *entered]
        if self.compact_facts:
            for person in persons:
                domain.compact(person)
        super().save_tracked(persons, topic, partition, next_offset, **recorder_kwargs)

    def _entry_keys(self, persons: list[domain.Person]) -> list[tuple[str, list[tuple[Any, ...]]]]:
        """The statement storing a key for each youth entering scope without one (none: empty).
        The keys are not kept in memory: a later use loads the stored one (`load_data_keys`)."""
        events: list[tuple[Any, str]] = [
            (e, person.person_key)
            for person in persons
            for e in person.pending_events
            if isinstance(e, ENTERED)
        ]
        entered = {(e.tenant, uuid.UUID(e.youth_id)): subject for e, subject in events}
        wanted = [pair for pair in entered if self.data_keys.get(*pair) is None]
        if not wanted:
            return []
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:  # type: ignore[attr-defined]
            cursor.execute(HELD_KEYS, (json_rows({"tenant": t, "youth_id": y} for t, y in wanted),))
            held = {(r["tenant"], r["youth_id"]) for r in cursor.fetchall()}
        wrap = self.tenant_keys.wrap
        rows = [(t, y, wrap(t, y, new_data_key()), entered[(t, y)]) for t, y in wanted
                if (t, y) not in held]  # fmt: skip
        return [(INSERT_KEY_ARRAYS, [key_arrays(rows)])] if rows else []

    # -- feed watermarks and pending persons ----------------------------------------------------

    def pending_state(self, ids: list[uuid.UUID]) -> tuple[Watermarks, set[uuid.UUID]]:
        """The watermarks as stored, and which of these persons are pending already."""
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:  # type: ignore[attr-defined]
            marks = self.watermarks_read.load(cursor, self.schema)
            if not ids:
                return marks, set()
            cursor.execute(
                pending.statement(
                    "SELECT DISTINCT person_id FROM {schema}.scope_pending "
                    "WHERE person_id = ANY(%b::uuid[])",
                    self.schema,
                ),
                (ids,),
            )
            return marks, {row["person_id"] for row in cursor.fetchall()}

    def source_observations(self, keys: Iterable[observations.Key]) -> SourceObservations:
        """When each (person, source) last observed them without a change, as stored (none read
        for no keys: a first load's new persons have none)."""
        persons, sources = observations.select_arguments(keys)
        found = SourceObservations()
        if not persons:
            return found
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:  # type: ignore[attr-defined]
            cursor.execute(observations.select_statement(self.schema), (persons, sources))
            for row in cursor.fetchall():
                found.known[(row["person_id"], row["source"])] = row["observed_at"]
        return found

    def releasable(
        self,
        completes: Mapping[str, datetime | None],
        settled: datetime,
        limit: int,
        partitions: Collection[int] | None = None,
    ) -> list[tuple[uuid.UUID, str, datetime]]:
        """Pending rows of persons who may be decided: every source their municipality waits
        for is complete (`completes`) up to their facts, or they waited since before `settled`;
        those held from the feed `partitions` only (None: all), except the settled."""
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:  # type: ignore[attr-defined]
            return pending.releasable(cursor, self.schema, completes, settled, limit, partitions)

    def watermarks(self) -> Watermarks:
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:  # type: ignore[attr-defined]
            return self.watermarks_read.load(cursor, self.schema)

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
            return pending_summary.summary(cursor, self.schema, sources, settle, now)

    # -- go-live --------------------------------------------------------------------------------

    def first_runs(self, tenants: Iterable[str], today: date) -> dict[str, date]:
        """The day identify first ran for each municipality (`today` for one new to it, stored
        then, so it stays the same across restarts)."""
        with self.recorder.datastore.transaction(commit=True) as curs:  # type: ignore[attr-defined]
            curs.execute(
                pending.statement(
                    "INSERT INTO {schema}.go_live (tenant, first_run_on) "
                    "SELECT unnest(%b::text[]), %s ON CONFLICT (tenant) DO NOTHING",
                    self.schema,
                ),
                (sorted(tenants), today),
            )
            curs.execute(pending.statement("SELECT * FROM {schema}.go_live", self.schema))
            return {row["tenant"]: row["first_run_on"] for row in curs.fetchall()}

    # -- data keys ------------------------------------------------------------------------------

    def load_data_keys(self, pairs: Iterable[tuple[str, uuid.UUID]]) -> None:
        """Hold known youths' data keys for the batch being applied (one query for those not
        in memory); `data_key` reads them from here first."""
        self.batch_keys = {}
        missing = []
        for pair in set(pairs):
            if (key := self.data_keys.get(*pair)) is None:
                missing.append(pair)
            else:
                self.batch_keys[pair] = key
        if not missing:
            return
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:  # type: ignore[attr-defined]
            cursor.execute(
                SELECT_KEYS, (json_rows({"tenant": t, "youth_id": y} for t, y in sorted(missing)),)
            )
            for row in cursor.fetchall():
                tenant, youth_id = row["tenant"], row["youth_id"]
                key = self.tenant_keys.unwrap(tenant, youth_id, row["wrapped"])
                self.data_keys.put(tenant, youth_id, key)
                self.batch_keys[(tenant, youth_id)] = key

    def forget_unsaved_keys(self) -> None:
        """Drop the keys an attempt made that was not saved (it is retried afresh)."""
        for made_for, made_id, _, _ in self.new_keys:
            self.data_keys.drop(made_for, made_id)
        self.new_keys = []
        self.batch_keys = {}

    def data_key(self, tenant: str, youth_id: uuid.UUID, subject: str) -> bytes:
        """The youth's data key; a new one is stored with the person's keyed hash, the subject
        of their intake keys (retention destroys those with it), by `keys_to_store`."""
        key = self.batch_keys.get((tenant, youth_id)) or self.data_keys.get(tenant, youth_id)
        if key is None:  # a youth new to this municipality (or known only from a school)
            key = new_data_key()
            self.data_keys.put(tenant, youth_id, key)
            self.batch_keys[(tenant, youth_id)] = key
            self.new_keys.append((tenant, youth_id, key, subject))
        return key

    def keys_to_store(self) -> list[tuple[str, list[tuple[Any, ...]]]]:
        """The statement writing the keys made by this attempt, wrapped (none: empty); they are
        kept until `keys_saved` (a failed attempt's are dropped by `forget_unsaved_keys`)."""
        if not self.new_keys:
            return []
        wrap = self.tenant_keys.wrap
        rows = key_arrays((t, y, wrap(t, y, k), s) for t, y, k, s in self.new_keys)
        return [(INSERT_KEY_ARRAYS, [rows])]

    def keys_saved(self) -> None:
        self.new_keys = []
        self.batch_keys = {}  # held for the batch only, not until the next one

    async def intake_keys(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
        """The wrapped intake keys of (tenant, subject) pairs (shared/intake.py)."""
        return await asyncio.to_thread(self._intake_keys, pairs)

    def _intake_keys(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:  # type: ignore[attr-defined]
            cursor.execute(
                intake.SELECT_KEYS, (json_rows({"tenant": t, "subject": s} for t, s in pairs),)
            )
            return {(r["tenant"], r["subject"]): bytes(r["wrapped"]) for r in cursor.fetchall()}
