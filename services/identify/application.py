"""Use cases of the identify service: take in feed records and school notifications, run the scope
schedule, explain a decision. Each records facts on the `Person`, re-evaluates scope with the
engine, and saves the person with its next evaluation date in one transaction."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.identify import pending
from services.identify.domain import NotificationIdTaken, Person
from services.identify.pending import CLOCK_SKEW, PendingBatch, Watermarks
from services.identify.schedule import RECORDER_TOPIC, ScheduleRecorder
from services.identify.scope import DEFAULT_POLICY, Decision, TenantPolicy, decide
from shared import intake, personnummer
from shared.contracts.events import PersonalDetails
from shared.contracts.feeds import (
    CompletionFeedMessage,
    FeedInput,
    FeedMessage,
    FeedWatermark,
    PopulationFeedMessage,
    Ss12000FeedMessage,
)
from shared.crypto import (
    INSERT_KEYS,
    KEYRING_DDL,
    SELECT_KEYS,
    DataKeyCache,
    TenantKeys,
    json_rows,
    new_data_key,
    seal,
)
from shared.eventstore import KafkaFedApplication
from shared.pseudonym import person_id, person_key


@dataclass(frozen=True)
class SchoolNotification:
    notification_id: uuid.UUID
    tenant: str
    personnummer: str
    kind: str
    on: date
    school_type: str
    school_unit: str
    reported_by: str
    reporting_organisation: str | None = None
    # The request's; its events carry it (`correlation_id`). None: the notification's id.
    correlation_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Waiting:
    """A person pending in a municipality: what they wait for, and until when at most."""

    facts_observed_at: datetime
    since: datetime
    waiting_for: list[str]
    settles_at: datetime


@dataclass(frozen=True)
class Explanation:
    known: bool
    decision: Decision | None
    youth_id: str | None
    open_episode: str | None
    pending: Waiting | None = None


UNSEALED = "unsealed."  # benchmarks only: what the details cost without sealing


class IdentifyApplication(KafkaFedApplication):
    """The identify service's event store and its use cases."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        pseudonym_key: str,
        served: dict[str, TenantPolicy],
        master_key: str,
        seal_personal_data: bool = True,
        settle: timedelta = timedelta(days=1),
    ) -> None:
        super().__init__(env={**env, "PROCESS_RECORDER_TOPIC": RECORDER_TOPIC})
        self.pseudonym_key = pseudonym_key
        self.served = served
        self.settle = settle  # how long a person waits for a silent source (KAA_FEED_SETTLE)
        self.tenant_keys = TenantKeys(master_key)
        self.seal_personal_data = seal_personal_data  # False only in a benchmark (settings)
        self.data_keys = DataKeyCache()
        # Data keys made for the batch being applied: written in its transaction (a retried
        # batch starts afresh; a key whose youth was never saved is dropped with the attempt).
        self._new_keys: list[tuple[str, uuid.UUID, bytes, str | None]] = []
        # Set when a watermark was taken: the release loop has persons to look at. Set from the
        # start, so a process that stopped in the middle of a release finishes it at once.
        self.release_wanted = threading.Event()
        self.release_wanted.set()
        # Per municipality, the day it started using kaa: episodes that ended before it are not
        # recorded; those found late after it are (`start_go_live`; empty: neither is looked for).
        self.go_live: dict[str, date] = {}
        # Per physical feed topic: its feed's name and partition count, to check watermarks
        # against (the bootstrap sets it; empty: not checked).
        self.feed_topics: dict[str, tuple[str, int]] = {}
        self.go_live_before_first_run: list[str] = []
        with self.recorder.datastore.transaction(commit=True) as curs:  # type: ignore[attr-defined]
            curs.execute(KEYRING_DDL)

    @property
    def schedule(self) -> ScheduleRecorder:
        recorder = self.recorder
        assert isinstance(recorder, ScheduleRecorder)
        return recorder

    def policy(self, tenant: str) -> TenantPolicy:
        return self.served.get(tenant, DEFAULT_POLICY)

    # -- feeds ----------------------------------------------------------------------------------

    def take_in_feed_batch(
        self,
        messages: Sequence[FeedInput],
        topic: str,
        partition: int,
        next_offset: int,
        today: date,
        now: datetime | None = None,
    ) -> None:
        """Apply a batch of feed records and watermarks and store the partition position, in one
        transaction. A person whose facts changed is decided at once when every source their
        municipality waits for is complete up to the record; else they are held as pending for
        `release_pending` (services/identify/pending.py). `WatermarkRefused` for a marker that
        goes backwards (the consumer then parks that one alone).

        A concurrent writer (another replica, the scheduler, a school notification) makes the
        insert fail on the aggregate version; the batch is then applied again on fresh state,
        unless that writer already recorded this very position.
        """
        at = now or datetime.now(UTC)
        self.retrying_tracked(
            lambda: self._apply_feed(messages, topic, partition, next_offset, today, at),
            topic,
            partition,
            next_offset,
        )

    def _apply_feed(
        self,
        inputs: Sequence[FeedInput],
        topic: str,
        partition: int,
        next_offset: int,
        today: date,
        now: datetime,
    ) -> None:
        cache: dict[uuid.UUID, Person] = {}
        held = PendingBatch()
        messages = [m for m in inputs if not isinstance(m, FeedWatermark)]
        keys = [self._key(m) for m in messages]
        ids = [person_id(k) for k in keys]
        marks, waiting = self._pending_state(ids)
        self.preload(ids, cache)
        for made_for, made_id, _, _ in self._new_keys:  # made by an attempt that was not saved
            self.data_keys.drop(made_for, made_id)
        self._new_keys = []
        self._load_data_keys(
            (m.tenant, uuid.UUID(known))
            for pid, m in zip(ids, messages, strict=True)
            if isinstance(m, PopulationFeedMessage)
            and (loaded := cache.get(pid)) is not None
            and (known := loaded.youth_ids.get(m.tenant)) is not None
        )
        records = iter(zip(keys, ids, messages, strict=True))
        for item in inputs:
            if isinstance(item, FeedWatermark):
                feed, partitions = self.feed_topics.get(topic, (None, None))
                if marks.take(item, partition, feed=feed, partitions=partitions, now=now):
                    held.markers.append((item, partition))
                continue
            key, pid, message = next(records)
            person = self._person(key, cache, pid)
            if not self._record_feed(person, message):
                continue
            sources = self.policy(message.tenant).feed_sources
            complete = marks.complete(message.tenant, sources)
            if pid in waiting or complete is None or message.observed_at > complete:
                # No watermark may claim the future: a record observed ahead of the clock waits
                # for the settle window (and its time is kept within what the database reads).
                held.hold(pid, message.tenant, min(message.observed_at, now + CLOCK_SKEW))
                waiting.add(pid)
                continue
            person.reevaluate(
                self.served,
                today,
                actor=f"feed:{message.feed}",
                correlation_id=message.record_id,
                go_live=self.go_live,
            )
        self.save_tracked(
            cache.values(),
            topic,
            partition,
            next_offset,
            # A pending person's next date is set when the release decides them.
            schedule=self._schedule((p for i, p in cache.items() if i not in waiting), today),
            read_model=[*self._keys_to_store(), *held.statements(self._schema, now)],
        )
        self._new_keys = []
        if held.markers:
            self.release_wanted.set()

    @property
    def _schema(self) -> str:
        return str(self.recorder.datastore.schema)  # type: ignore[attr-defined]

    def _pending_state(self, ids: list[uuid.UUID]) -> tuple[Watermarks, set[uuid.UUID]]:
        """The watermarks as stored, and which of the batch's persons are pending already."""
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:  # type: ignore[attr-defined]
            marks = Watermarks.load(cursor, self._schema)
            if not ids:
                return marks, set()
            cursor.execute(
                pending.statement(
                    "SELECT DISTINCT person_id FROM {schema}.scope_pending "
                    "WHERE person_id = ANY(%s)",
                    self._schema,
                ),
                (ids,),
            )
            return marks, {row["person_id"] for row in cursor.fetchall()}

    # -- go-live ------------------------------------------------------------------------------

    def start_go_live(self, today: date) -> dict[str, date]:
        """Each served municipality's go-live: its policy's `go_live`, else the day identify first
        ran for it (stored then, so it stays the same across restarts). A configured day earlier
        than the first run is logged: episodes found late since then will be recorded."""
        schema = self._schema
        with self.recorder.datastore.transaction(commit=True) as curs:  # type: ignore[attr-defined]
            curs.execute(
                pending.statement(
                    "INSERT INTO {schema}.go_live (tenant, first_run_on) "
                    "SELECT unnest(%s::text[]), %s ON CONFLICT (tenant) DO NOTHING",
                    schema,
                ),
                (sorted(self.served), today),
            )
            curs.execute(pending.statement("SELECT * FROM {schema}.go_live", schema))
            first_run = {row["tenant"]: row["first_run_on"] for row in curs.fetchall()}
        self.go_live = {
            tenant: policy.go_live or first_run[tenant] for tenant, policy in self.served.items()
        }
        self.go_live_before_first_run = sorted(
            t for t, day in self.go_live.items() if day < first_run[t]
        )
        return self.go_live

    def pending_summary(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Per municipality: the persons waiting for their feeds (`kaa scope pending`)."""
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:  # type: ignore[attr-defined]
            return pending.summary(
                cursor,
                self._schema,
                {t: self.policy(t).feed_sources for t in self.served},
                self.settle,
                now or datetime.now(UTC),
            )

    # -- pending persons ------------------------------------------------------------------------

    def release_pending(self, today: date, now: datetime | None = None, limit: int = 2000) -> int:
        """Decide pending persons whose sources are complete up to their facts, or who waited the
        settle window; returns how many were decided (call again while it returns `limit`)."""
        at = now or datetime.now(UTC)
        correlation_id = uuid.uuid4()

        def work() -> int:
            with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:  # type: ignore[attr-defined]
                marks = Watermarks.load(cursor, self._schema)
                tenants = sorted(self.served)
                completes = [marks.complete(t, self.policy(t).feed_sources) for t in tenants]
                cursor.execute(
                    pending.statement(pending.RELEASABLE, self._schema),
                    {
                        "tenants": tenants,
                        "completes": completes,
                        "settled": at - self.settle,
                        "limit": limit,
                    },
                )
                rows = [(r["person_id"], r["tenant"], r["touched"]) for r in cursor.fetchall()]
            if not rows:
                return 0
            persons_ids = list(dict.fromkeys(r[0] for r in rows))
            self._decide(
                persons_ids, today, "system:identify-feeds", correlation_id,
                [pending.released_statement(self._schema, rows)],
            )  # fmt: skip
            return len(persons_ids)

        return self.retrying(work) or 0

    def waiting(self, person: uuid.UUID, tenant: str) -> Waiting | None:
        """Whether the person is pending in the municipality, and for what."""
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:  # type: ignore[attr-defined]
            marks = Watermarks.load(cursor, self._schema)
            cursor.execute(
                pending.statement(
                    "SELECT fact_at, since FROM {schema}.scope_pending "
                    "WHERE person_id = %s AND tenant = %s",
                    self._schema,
                ),
                (person, tenant),
            )
            row = cursor.fetchone()
        if row is None:
            return None
        since: datetime = row["since"].astimezone(UTC)
        return Waiting(
            facts_observed_at=row["fact_at"].astimezone(UTC),
            since=since,
            waiting_for=marks.waiting_for(tenant, self.policy(tenant).feed_sources, row["fact_at"]),
            settles_at=since + self.settle,
        )

    def _record_feed(self, person: Person, message: FeedMessage) -> bool:
        zone = ZoneInfo(self.policy(message.tenant).time_zone)
        if isinstance(message, PopulationFeedMessage):
            record = message.record
            address = None if record.protection_marking else record.address
            details = (
                PersonalDetails(
                    personnummer=record.personnummer,
                    given_name=record.given_name,
                    family_name=record.family_name,
                    street=address.street if address else None,
                    postal_code=address.postal_code if address else None,
                    city=address.city if address else None,
                    protected=record.protection_marking,
                )
                .model_dump_json()
                .encode()
            )
            tenant = message.tenant
            return person.record_population(
                kommunkod=record.kommunkod,
                birth_date=record.birth_date,
                protected=record.protection_marking,
                change_type=record.change_type,
                effective_date=record.effective_date,
                observed_at=message.observed_at,
                registered_in_sweden_on=record.registered_in_sweden_on,
                registered_in_municipality_on=record.registered_in_municipality_on,
                record_id=message.record_id,
                tenant=tenant,
                details_digest=hmac.new(
                    self.pseudonym_key.encode(), details, hashlib.sha256
                ).hexdigest(),
                seal=lambda youth_id: seal(
                    self._data_key(tenant, youth_id, person.person_key), details, tenant, youth_id,
                    PersonalDetails.PURPOSE,
                ) if self.seal_personal_data else UNSEALED + base64.b64encode(details).decode(),
            )  # fmt: skip
        if isinstance(message, Ss12000FeedMessage):
            return person.observe_enrolments(
                [
                    {
                        "school_type": e.schoolType,
                        "school_unit": e.enroledAt.id,
                        "cancelled": e.cancelled,
                        "start_date": e.startDate.isoformat() if e.startDate else None,
                        "end_date": e.endDate.isoformat() if e.endDate else None,
                        "education_code": e.educationCode,
                    }
                    for e in message.person.enrolments
                ],
                observed_at=message.observed_at,
                observed_on=message.observed_at.astimezone(zone).date(),
                birth_date=personnummer.birth_date(message.person.civicNo.value),
            )
        completion = message.completion
        return person.record_completion(
            completion.kind,
            completion.completed_on,
            personnummer.birth_date(completion.personnummer),
            message.record_id,
        )

    # -- school notifications -------------------------------------------------------------------

    def take_in_school_notification(self, notification: SchoolNotification, today: date) -> str:
        """Record a school's notification and re-evaluate at once; returns the youth id.

        It is a fact for the municipality it was sent to (`notification.tenant`) only.
        `NotificationIdTaken` when its id already names a different notification of the person.
        """
        key = person_key(notification.personnummer, self.pseudonym_key)

        def work() -> str:
            cache: dict[uuid.UUID, Person] = {}
            person = self._person(key, cache)
            person.record_school_notification(
                notification_id=notification.notification_id,
                tenant=notification.tenant,
                kind=notification.kind,
                on=notification.on,
                school_type=notification.school_type,
                school_unit=notification.school_unit,
                birth_date=personnummer.birth_date(notification.personnummer),
                reported_by=notification.reported_by,
                received_on=today,
                reporting_organisation=notification.reporting_organisation,
                correlation_id=notification.correlation_id,
            )
            person.reevaluate(
                self.served,
                today,
                actor=notification.reported_by,
                correlation_id=notification.correlation_id or notification.notification_id,
                go_live=self.go_live,
            )
            self.save_tracked([person], None, 0, 0, schedule=self._schedule([person], today))
            return person.youth_ids[notification.tenant]

        youth_id = self.retrying(work, refusals=(NotificationIdTaken,))
        assert youth_id is not None
        return youth_id

    # -- the scope schedule ---------------------------------------------------------------------

    def run_schedule(self, today: date, limit: int = 500) -> int:
        """Re-evaluate the persons whose scope may change by today; returns how many were due."""
        due = self.schedule.due(today, limit)
        if not due:
            return 0
        correlation_id = uuid.uuid4()

        def work() -> int:
            # One held for their feeds since `due` was read is decided by the release instead.
            waiting = self._pending_state(due)[1]
            chosen = [i for i in due if i not in waiting]
            self._decide(chosen, today, "system:identify-scheduler", correlation_id, [])
            return len(due)

        return self.retrying(work) or 0

    def _decide(
        self,
        person_ids: list[uuid.UUID],
        today: date,
        actor: str,
        correlation_id: uuid.UUID,
        read_model: list[tuple[Any, list[tuple[Any, ...]]]],
    ) -> None:
        """Re-evaluate persons on what they know and save them with their next dates (and
        `read_model`) in one transaction. They are verified against the store first: another
        replica may have recorded new facts since this process cached them."""
        cache: dict[uuid.UUID, Person] = {}
        self.preload(person_ids, cache, verify=True)
        persons = [p for p in (cache.get(i) for i in person_ids) if p is not None]
        for person in persons:
            person.reevaluate(
                self.served, today, actor=actor, correlation_id=correlation_id,
                go_live=self.go_live,
            )  # fmt: skip
        self.save_tracked(
            persons, None, 0, 0, schedule=self._schedule(persons, today), read_model=read_model
        )

    def _schedule(
        self, persons: Iterable[Person | None], today: date
    ) -> list[tuple[uuid.UUID, date | None]]:
        return [(p.id, p.next_evaluation(self.served, today)) for p in persons if p is not None]

    # -- explanation ----------------------------------------------------------------------------

    def explain(self, number: str, tenant: str, at: date) -> Explanation:
        """What the engine decides for this person in this municipality on `at`, and why."""
        cache: dict[uuid.UUID, Person] = {}
        key = person_key(personnummer.normalize(number), self.pseudonym_key)
        person: Person | None = self.get_or_none(person_id(key), cache)
        facts = person.facts(tenant) if person is not None else None
        if person is None or facts is None:
            return Explanation(False, None, None, None)
        decision = decide(facts, tenant, at, self.policy(tenant))
        return Explanation(
            True,
            decision,
            person.youth_ids.get(tenant),
            person.open_episodes.get(tenant),
            self.waiting(person.id, tenant),
        )

    # -- data keys ------------------------------------------------------------------------------

    def _load_data_keys(self, pairs: Iterable[tuple[str, uuid.UUID]]) -> None:
        """Bring the batch's known youths' data keys into memory with one query."""
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

    def _data_key(self, tenant: str, youth_id: uuid.UUID, subject: str) -> bytes:
        """The youth's data key; a new one is stored with the person's keyed hash, the subject
        of their intake keys (retention destroys those with it)."""
        key = self.data_keys.get(tenant, youth_id)
        if key is None:  # a youth new to this municipality (or known only from a school)
            key = new_data_key()
            self.data_keys.put(tenant, youth_id, key)
            self._new_keys.append((tenant, youth_id, key, subject))
        return key

    async def intake_keys(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
        """The wrapped intake keys of (tenant, subject) pairs (shared/intake.py)."""
        return await asyncio.to_thread(self._intake_keys, pairs)

    def _intake_keys(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:  # type: ignore[attr-defined]
            cursor.execute(
                intake.SELECT_KEYS, (json_rows({"tenant": t, "subject": s} for t, s in pairs),)
            )
            return {(r["tenant"], r["subject"]): bytes(r["wrapped"]) for r in cursor.fetchall()}

    def _keys_to_store(self) -> list[tuple[str, list[tuple[Any, ...]]]]:
        made = self._new_keys
        if not made:
            return []
        return [
            (
                INSERT_KEYS,
                [
                    (
                        json_rows(
                            {
                                "tenant": t,
                                "youth_id": y,
                                "wrapped": self.tenant_keys.wrap(t, y, k),
                                "subject": s,
                            }
                            for t, y, k, s in made
                        ),
                    )
                ],
            )
        ]

    # -- helpers --------------------------------------------------------------------------------

    def _key(self, message: FeedMessage) -> str:
        if isinstance(message, PopulationFeedMessage):
            number = message.record.personnummer
        elif isinstance(message, Ss12000FeedMessage):
            number = message.person.civicNo.value
        elif isinstance(message, CompletionFeedMessage):
            number = message.completion.personnummer
        return person_key(number, self.pseudonym_key)

    def _person(
        self, key: str, cache: dict[uuid.UUID, Person], pid: uuid.UUID | None = None
    ) -> Person:
        pid = pid or person_id(key)
        person: Person | None = self.get_or_none(pid, cache)
        if person is None:
            person = Person(key)
            cache[pid] = person
        return person
