"""Use cases of the identify service: take in feed records and school notifications, run the scope
schedule, explain a decision. Each records facts on the `Person`, re-evaluates scope with the
engine, and saves the person with its next evaluation date in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from services.identify.domain import Person
from services.identify.schedule import RECORDER_TOPIC, ScheduleRecorder
from services.identify.scope import DEFAULT_POLICY, Decision, TenantPolicy, decide
from shared import personnummer
from shared.contracts.feeds import (
    CompletionFeedMessage,
    FeedMessage,
    PopulationFeedMessage,
    Ss12000FeedMessage,
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


@dataclass(frozen=True)
class Explanation:
    known: bool
    decision: Decision | None
    youth_id: str | None
    open_episode: str | None


class IdentifyApplication(KafkaFedApplication):
    """The identify service's event store and its use cases."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        pseudonym_key: str,
        served: dict[str, TenantPolicy],
    ) -> None:
        super().__init__(env={**env, "PROCESS_RECORDER_TOPIC": RECORDER_TOPIC})
        self.pseudonym_key = pseudonym_key
        self.served = served

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
        messages: Sequence[FeedMessage],
        topic: str,
        partition: int,
        next_offset: int,
        today: date,
    ) -> None:
        """Apply a batch of feed records and store the partition position, in one transaction.

        A concurrent writer (another replica, the scheduler, a school notification) makes the
        insert fail on the aggregate version; the batch is then applied again on fresh state,
        unless that writer already recorded this very position.
        """
        self.retrying_tracked(
            lambda: self._apply_feed(messages, topic, partition, next_offset, today),
            topic,
            partition,
            next_offset,
        )

    def _apply_feed(
        self,
        messages: Sequence[FeedMessage],
        topic: str,
        partition: int,
        next_offset: int,
        today: date,
    ) -> None:
        cache: dict[uuid.UUID, Person] = {}
        keys = [self._key(m) for m in messages]
        ids = [person_id(k) for k in keys]
        self.preload(ids, cache)
        for key, pid, message in zip(keys, ids, messages, strict=True):
            person = self._person(key, cache, pid)
            changed = self._record_feed(person, message)
            if changed:
                person.reevaluate(
                    self.served,
                    today,
                    actor=f"feed:{message.feed}",
                    correlation_id=message.record_id,
                )
        self.save_tracked(
            cache.values(),
            topic,
            partition,
            next_offset,
            schedule=self._schedule(cache.values(), today),
        )

    def _record_feed(self, person: Person, message: FeedMessage) -> bool:
        zone = ZoneInfo(self.policy(message.tenant).time_zone)
        if isinstance(message, PopulationFeedMessage):
            record = message.record
            return person.record_population(
                kommunkod=record.kommunkod,
                birth_date=record.birth_date,
                protected=record.protection_marking,
                change_type=record.change_type,
                effective_date=record.effective_date,
                observed_at=message.observed_at,
                registered_in_sweden_on=record.registered_in_sweden_on,
                record_id=message.record_id,
            )
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
        """Record a school's notification and re-evaluate at once; returns the youth id."""
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
            )
            person.reevaluate(
                self.served,
                today,
                actor=notification.reported_by,
                correlation_id=notification.notification_id,
            )
            self.save_tracked([person], None, 0, 0, schedule=self._schedule([person], today))
            return person.youth_ids[notification.tenant]

        youth_id = self.retrying(work)
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
            cache: dict[uuid.UUID, Person] = {}
            self.preload(due, cache)
            persons = [p for p in cache.values() if p is not None]
            for person in persons:
                person.reevaluate(
                    self.served,
                    today,
                    actor="system:identify-scheduler",
                    correlation_id=correlation_id,
                )
            self.save_tracked(persons, None, 0, 0, schedule=self._schedule(persons, today))
            return len(due)

        return self.retrying(work) or 0

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
        facts = person.facts() if person is not None else None
        if person is None or facts is None:
            return Explanation(False, None, None, None)
        decision = decide(facts, tenant, at, self.policy(tenant))
        return Explanation(
            True, decision, person.youth_ids.get(tenant), person.open_episodes.get(tenant)
        )

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
