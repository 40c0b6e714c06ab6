"""identify's use cases: take in feed records and school notifications, run the scope schedule,
release the persons who waited for their feeds, and explain a decision.

Each handler records facts on the `Person`, re-evaluates scope with the engine and saves the
person with its next evaluation date in one transaction; the same handlers serve the Kafka
consumer, the HTTP routes, the CLI and the tests (`IdentifyCommands`).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.identify.adapters import pending
from services.identify.adapters.feeds import FeedFacts, key_of
from services.identify.adapters.observations import ss12000_keys
from services.identify.adapters.pending import CLOCK_SKEW, PendingBatch
from services.identify.adapters.policies import tenant_policies
from services.identify.adapters.store import SCHEMA, IdentifyStore
from services.identify.commands.notifications import SchoolNotification, check_school_notification
from services.identify.domain import NotificationIdTaken, Person
from services.identify.domain.scope import DEFAULT_POLICY, Decision, TenantPolicy, decide
from shared import personnummer
from shared.contracts.feeds import FeedInput, FeedWatermark, PopulationFeedMessage
from shared.eventstore import eventsourcing_env
from shared.pseudonym import person_id, person_key
from shared.settings import ServiceSettings


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


class IdentifyCommands:
    """The identify service's handlers, on its store and the municipalities it serves."""

    def __init__(
        self,
        store: IdentifyStore,
        *,
        pseudonym_key: str,
        served: dict[str, TenantPolicy],
        settle: timedelta = timedelta(days=1),
        seal_personal_data: bool = True,
        feed_topics: dict[str, tuple[str, int]] | None = None,
    ) -> None:
        self.store = store
        self.pseudonym_key = pseudonym_key
        self.served = served
        self.settle = settle  # how long a person waits for a silent source (KAA_FEED_SETTLE)
        self.feeds = FeedFacts(store, pseudonym_key, self.policy, seal_personal_data)
        # Set when a watermark was taken: the release loop has persons to look at. Set from the
        # start, so a process that stopped in the middle of a release finishes it at once.
        self.release_wanted = threading.Event()
        self.release_wanted.set()
        # The watermarks' write counter as the last release round read them (`watermarks_moved`;
        # the release loop alone reads and writes it, one call after another).
        self.watermarks_seen: int | None = None
        # Per municipality, the day it started using kaa: episodes that ended before it are not
        # recorded; those found late after it are (`start_go_live`; empty: neither is looked for).
        self.go_live: dict[str, date] = {}
        # Per physical feed topic: its feed's name and partition count, to check watermarks
        # against (empty: not checked).
        self.feed_topics: dict[str, tuple[str, int]] = dict(feed_topics or {})
        self.go_live_before_first_run: list[str] = []

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
        `release_pending` (services/identify/adapters/pending.py). `WatermarkRefused` for a marker
        that goes backwards (the consumer then parks that one alone).

        A concurrent writer (another replica, the scheduler, a school notification) makes the
        insert fail on the aggregate version; the batch is then applied again on fresh state,
        unless that writer already recorded this very position.
        """
        at = now or datetime.now(UTC)
        self.store.retrying_tracked(
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
        store = self.store
        cache: dict[uuid.UUID, Person] = {}
        held = PendingBatch(partition)
        messages = [m for m in inputs if not isinstance(m, FeedWatermark)]
        keys = [key_of(m, self.pseudonym_key) for m in messages]
        ids = [person_id(k) for k in keys]
        marks, waiting = store.pending_state(ids)
        store.preload(ids, cache)
        store.forget_unsaved_keys()  # made by an attempt that was not saved
        store.load_data_keys(
            (m.tenant, uuid.UUID(known))
            for pid, m in zip(ids, messages, strict=True)
            if isinstance(m, PopulationFeedMessage)
            and (loaded := cache.get(pid)) is not None
            and (known := loaded.youth_ids.get(m.tenant)) is not None
        )
        # When SS 12000 sources last saw them without a change: a stale file changes nothing.
        observed = store.source_observations(ss12000_keys(ids, messages, cache))
        records = iter(zip(keys, ids, messages, strict=True))
        for item in inputs:
            if isinstance(item, FeedWatermark):
                feed, partitions = self.feed_topics.get(topic, (None, None))
                if marks.take(item, partition, feed=feed, partitions=partitions, now=now):
                    held.markers.append((item, partition))
                continue
            key, pid, message = next(records)
            person = store.person(key, cache, pid)
            if not self.feeds.record(person, message, observed):
                continue
            sources = self.policy(message.tenant).feed_sources
            complete = marks.complete(message.tenant, sources)
            live = self.feeds.decided_at_once(message) and pid not in waiting
            if not live and (pid in waiting or complete is None or message.observed_at > complete):
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
        store.save_tracked(
            cache.values(),
            topic,
            partition,
            next_offset,
            # A pending person's next date is set when the release decides them.
            schedule=self._schedule((p for i, p in cache.items() if i not in waiting), today),
            read_model=[
                *store.keys_to_store(),
                *held.statements(store.schema, now),
                *observed.statements(store.schema),
            ],
        )
        store.keys_saved()
        if held.markers:
            self.release_wanted.set()

    # -- go-live ------------------------------------------------------------------------------

    def start_go_live(self, today: date) -> dict[str, date]:
        """Each served municipality's go-live: its policy's `go_live`, else the day identify first
        ran for it (stored then, so it stays the same across restarts). A configured day earlier
        than the first run is logged: episodes found late since then will be recorded."""
        first_run = self.store.first_runs(self.served, today)
        self.go_live = {
            tenant: policy.go_live or first_run[tenant] for tenant, policy in self.served.items()
        }
        self.go_live_before_first_run = sorted(
            t for t, day in self.go_live.items() if day < first_run[t]
        )
        return self.go_live

    # -- pending persons ------------------------------------------------------------------------

    def release_pending(
        self,
        today: date,
        now: datetime | None = None,
        limit: int = 2000,
        partitions: Collection[int] | None = None,
    ) -> int:
        """Decide pending persons whose sources are complete up to their facts, or who waited the
        settle window; returns how many were decided (call again while it returns `limit`).

        `partitions`: the feed partitions this replica reads. It decides the persons its own
        batches held (its cache has them) and leaves the others' to them, so replicas decide at
        once instead of reaching for the same persons; None decides anyone's."""
        at = now or datetime.now(UTC)
        correlation_id = uuid.uuid4()

        def work() -> int:
            marks = self.store.watermarks()
            self.watermarks_seen = marks.written
            completes = {t: marks.complete(t, self.policy(t).feed_sources) for t in self.served}
            rows = self.store.releasable(completes, at - self.settle, limit, partitions)
            if not rows:
                return 0
            persons_ids = list(dict.fromkeys(r[0] for r in rows))
            self._decide(
                persons_ids, today, "system:identify-feeds", correlation_id,
                [pending.released_statement(self.store.schema, rows)],
            )  # fmt: skip
            return len(persons_ids)

        return self.store.retrying(work) or 0

    def watermarks_moved(self) -> bool:
        """Whether any replica wrote the watermarks since the last release round read them (one
        row read): the markers this replica took itself started a round already."""
        written = self.store.watermarks().written
        # Without the counter's row (deleted by hand), any look may be news.
        return written is None or written != self.watermarks_seen

    def waiting(self, person: uuid.UUID, tenant: str) -> Waiting | None:
        """Whether the person is pending in the municipality, and for what."""
        marks = self.store.watermarks()
        row = self.store.pending_row(person, tenant)
        if row is None:
            return None
        fact_at, since = row
        return Waiting(
            facts_observed_at=fact_at.astimezone(UTC),
            since=since.astimezone(UTC),
            waiting_for=marks.waiting_for(tenant, self.policy(tenant).feed_sources, fact_at),
            settles_at=since.astimezone(UTC) + self.settle,
        )

    def pending_summary(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Per municipality: the persons waiting for their feeds (`kaa scope pending`)."""
        sources = {t: self.policy(t).feed_sources for t in self.served}
        return self.store.pending_summary(sources, self.settle, now or datetime.now(UTC))

    # -- school notifications -------------------------------------------------------------------

    def school_notification_taken(
        self, notification: SchoolNotification, today: date
    ) -> tuple[str, bool]:
        """Record a school's notification and re-evaluate at once; returns the youth id and
        whether it was new (False: the same notification, its id and content, recorded before).

        It is a fact for the municipality it was sent to (`notification.tenant`) only. Refused
        before anything is read: `NotTheNotifiedMunicipality` when it names another hemkommun,
        `dates.ImplausibleDate` (field `on`) for a day that cannot be true (in the future, before
        the student was born, before 1900). `NotificationIdTaken` when its id already names a
        different notification of the person.
        """
        check_school_notification(notification, today)
        key = person_key(notification.personnummer, self.pseudonym_key)

        def work() -> tuple[str, bool]:
            person = self.store.person(key, {})
            new = person.record_school_notification(
                notification_id=notification.notification_id, tenant=notification.tenant,
                kind=notification.kind, on=notification.on, school_type=notification.school_type,
                school_unit=notification.school_unit,
                birth_date=personnummer.birth_date(notification.personnummer),
                reported_by=notification.reported_by, received_on=today,
                reporting_organisation=notification.reporting_organisation,
                correlation_id=notification.correlation_id,
            )  # fmt: skip
            person.reevaluate(
                self.served,
                today,
                actor=notification.reported_by,
                correlation_id=notification.correlation_id or notification.notification_id,
                go_live=self.go_live,
            )
            self.store.save_tracked([person], None, 0, 0, schedule=self._schedule([person], today))
            return person.youth_ids[notification.tenant], new

        taken = self.store.retrying(work, refusals=(NotificationIdTaken,))
        assert taken is not None
        return taken

    # -- the scope schedule ---------------------------------------------------------------------

    def run_schedule(self, today: date, limit: int = 500) -> int:
        """Re-evaluate the persons whose scope may change by today; returns how many were due."""
        due = self.store.schedule.due(today, limit)
        if not due:
            return 0
        correlation_id = uuid.uuid4()

        def work() -> int:
            # One held for their feeds since `due` was read is decided by the release instead.
            waiting = self.store.pending_state(due)[1]
            chosen = [i for i in due if i not in waiting]
            self._decide(chosen, today, "system:identify-scheduler", correlation_id, [])
            return len(due)

        return self.store.retrying(work) or 0

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
        self.store.preload(person_ids, cache, verify=True)
        persons = [p for p in (cache.get(i) for i in person_ids) if p is not None]
        for person in persons:
            person.reevaluate(
                self.served, today, actor=actor, correlation_id=correlation_id,
                go_live=self.go_live,
            )  # fmt: skip
        self.store.save_tracked(
            persons, None, 0, 0, schedule=self._schedule(persons, today), read_model=read_model
        )

    def _schedule(
        self, persons: Iterable[Person | None], today: date
    ) -> list[tuple[uuid.UUID, date | None]]:
        return [(p.id, p.next_evaluation(self.served, today)) for p in persons if p is not None]

    # -- explanation (a query) ------------------------------------------------------------------

    def explain(self, number: str, tenant: str, at: date) -> Explanation:
        """What the engine decides for this person in this municipality on `at`, and why."""
        key = person_key(personnummer.normalize(number), self.pseudonym_key)
        # A copy: the writer changes the persons this process holds in place.
        person: Person | None = self.store.read(person_id(key))
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


def from_settings(
    settings: ServiceSettings,
    *,
    create_table: bool = True,
    feed_topics: dict[str, tuple[str, int]] | None = None,
) -> IdentifyCommands:
    """The handlers on the service's own store, as the settings say (`create_table=False`: a
    reader such as `kaa scope explain`, which creates nothing; `feed_topics`: each physical feed
    topic's feed and partition count, to check watermarks against)."""
    database_url = settings.database_url.get_secret_value()
    return IdentifyCommands(
        IdentifyStore(
            eventsourcing_env(database_url, SCHEMA, create_table=create_table),
            master_key=settings.master_key.get_secret_value(),
        ),
        pseudonym_key=settings.pseudonym_key.get_secret_value(),
        served=tenant_policies(settings),
        settle=timedelta(seconds=settings.feed_settle),
        seal_personal_data=settings.personal_data == "sealed",
        feed_topics=feed_topics,
    )
