"""Use cases of the identify service: take in feed records, decide scope, record the outcome."""

from __future__ import annotations

import uuid
from datetime import date

from eventsourcing.persistence import IntegrityError

from services.identify.domain import Person
from shared import personnummer
from shared.contracts.feeds import FeedMessage, PopulationFeedMessage
from shared.eventstore import KafkaFedApplication
from shared.pseudonym import person_id, person_key


class IdentifyApplication(KafkaFedApplication):
    """The identify service's event store and its use cases."""

    def __init__(
        self, env: dict[str, str], *, pseudonym_key: str, served_tenants: list[str]
    ) -> None:
        super().__init__(env=env)
        self.pseudonym_key = pseudonym_key
        self.served_tenants = served_tenants

    def take_in_feed_batch(
        self, messages: list[FeedMessage], topic: str, partition: int, next_offset: int, today: date
    ) -> None:
        """Apply a batch of feed records and store the partition position, in one transaction.

        A concurrent writer (another replica handling the same person from the other feed) makes
        the insert fail on the aggregate version; then the batch is applied again on fresh state,
        unless that writer already recorded this very position.
        """
        for attempt in range(5):
            try:
                self._apply(messages, topic, partition, next_offset, today)
                return
            except IntegrityError:
                stored = self.stored_positions(topic, [partition]).get(partition, 0)
                if stored >= next_offset or attempt == 4:
                    if stored >= next_offset:
                        return
                    raise

    def _apply(
        self, messages: list[FeedMessage], topic: str, partition: int, next_offset: int, today: date
    ) -> None:
        cache: dict[uuid.UUID, Person] = {}
        self.preload((person_id(self._key(m)) for m in messages), cache)
        for message in messages:
            person = self._person(message, cache)
            if isinstance(message, PopulationFeedMessage):
                record = message.record
                person.record_population(
                    kommunkod=record.kommunkod,
                    birth_date=record.birth_date,
                    protected=record.protection_marking,
                    change_type=record.change_type,
                    effective_date=record.effective_date,
                    record_id=message.record_id,
                )
                actor = "feed:population"
            else:
                person.observe_enrolments(
                    enrolments=[
                        {
                            "school_type": e.schoolType,
                            "cancelled": e.cancelled,
                            "start_date": e.startDate.isoformat() if e.startDate else None,
                            "end_date": e.endDate.isoformat() if e.endDate else None,
                        }
                        for e in message.person.enrolments
                    ],
                    observed_on=message.observed_at.date(),
                    birth_date=personnummer.birth_date(message.person.civicNo.value),
                    record_id=message.record_id,
                )
                actor = "feed:ss12000"
            person.reevaluate(
                self.served_tenants, today, actor=actor, correlation_id=message.record_id
            )
        self.save_tracked(cache.values(), topic, partition, next_offset)

    def _key(self, message: FeedMessage) -> str:
        number = (
            message.record.personnummer
            if isinstance(message, PopulationFeedMessage)
            else message.person.civicNo.value
        )
        return person_key(number, self.pseudonym_key)

    def _person(self, message: FeedMessage, cache: dict[uuid.UUID, Person]) -> Person:
        key = self._key(message)
        pid = person_id(key)
        person: Person | None = self.get_or_none(pid, cache)
        if person is None:
            person = Person(key)
            cache[pid] = person
        return person
