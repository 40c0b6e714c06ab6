"""The feeds' records as facts of a person: the population register (Navet), SS 12000 enrolments
and completions, translated from their contracts (`shared.contracts.feeds`) into the `Person`'s
terms. A population record's personal details are sealed with the youth's data key of the
receiving municipality before the person keeps them (only a keyed digest is kept in the clear).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Callable
from zoneinfo import ZoneInfo

import orjson

from services.identify.adapters.observations import SourceObservations
from services.identify.adapters.store import IdentifyStore
from services.identify.domain import Person
from services.identify.domain.records import EnrolmentRecord, newer_observation
from services.identify.domain.scope import TenantPolicy
from shared import personnummer
from shared.contracts.events import PersonalDetails
from shared.contracts.feeds import (
    CompletionFeedMessage,
    FeedMessage,
    PopulationFeedMessage,
    PopulationRecord,
    Ss12000FeedMessage,
)
from shared.crypto import seal
from shared.pseudonym import person_key

UNSEALED = "unsealed."  # benchmarks only: what the details cost without sealing


def key_of(message: FeedMessage, pseudonym_key: str) -> str:
    """The keyed hash of the personnummer the record is about."""
    if isinstance(message, PopulationFeedMessage):
        number = message.record.personnummer
    elif isinstance(message, Ss12000FeedMessage):
        number = message.person.civicNo.value
    elif isinstance(message, CompletionFeedMessage):
        number = message.completion.personnummer
    return person_key(number, pseudonym_key)


def details_json(record: PopulationRecord) -> bytes:
    """A population record's `PersonalDetails` (no address under protection) as the model's
    `model_dump_json` writes them, byte for byte: the person keeps a digest of these bytes, and a
    record whose details did not change must give the digest it gave before. Written without
    building the model: a feed record's strings are `Text`, which refuses all that `StoredText`
    does (a test holds the two writers equal)."""
    address = None if record.protection_marking else record.address
    return orjson.dumps(
        {
            "personnummer": record.personnummer,
            "given_name": record.given_name,
            "family_name": record.family_name,
            "street": address.street if address else None,
            "postal_code": address.postal_code if address else None,
            "city": address.city if address else None,
            "protected": record.protection_marking,
        }
    )


class FeedFacts:
    """Records a feed message on its person; False when it adds nothing (a repeat, stale)."""

    def __init__(
        self,
        store: IdentifyStore,
        pseudonym_key: str,
        policy: Callable[[str], TenantPolicy],
        seal_personal_data: bool = True,
    ) -> None:
        self.store = store
        self.pseudonym_key = pseudonym_key
        self.policy = policy
        self.seal_personal_data = seal_personal_data  # False only in a benchmark (settings)

    @staticmethod
    def decided_at_once(message: FeedMessage) -> bool:
        """A change an organiser's system reported live is decided like a school's notification."""
        return isinstance(message, Ss12000FeedMessage) and message.live

    def record(
        self, person: Person, message: FeedMessage, observed: SourceObservations | None = None
    ) -> bool:
        """Record the message's facts on the person; False when it adds nothing. `observed`: when
        each SS 12000 source last observed the person without a change (`observations.py`), to
        refuse a stale file's record and to note this one's time when it changes nothing."""
        if isinstance(message, PopulationFeedMessage):
            return self._population(person, message)
        if isinstance(message, Ss12000FeedMessage):
            return self._enrolments(person, message, observed or SourceObservations())
        completion = message.completion
        return person.record_completion(
            completion.kind,
            completion.completed_on,
            personnummer.birth_date(completion.personnummer),
            message.record_id,
        )

    def _enrolments(
        self, person: Person, message: Ss12000FeedMessage, observed: SourceObservations
    ) -> bool:
        at, source = message.observed_at, message.source
        last = observed.last(person.id, source)
        if last is not None and at <= last:
            return False  # a newer observation of the source changed nothing: this one is stale
        zone = ZoneInfo(self.policy(message.tenant).time_zone)
        changed = person.observe_enrolments(
            [
                EnrolmentRecord(
                    school_type=e.schoolType,
                    school_unit=e.enroledAt.id,
                    cancelled=e.cancelled,
                    start_date=e.startDate,
                    end_date=e.endDate,
                    education_code=e.educationCode,
                )
                for e in message.person.enrolments
            ],
            observed_at=at,
            observed_on=at.astimezone(zone).date(),
            birth_date=personnummer.birth_date(message.person.civicNo.value),
            source=source,
        )
        if not changed and newer_observation(person.enrolments_observed, source, at):
            observed.saw(person.id, source, at)  # newer than the events say, and the same
        return changed

    def _population(self, person: Person, message: PopulationFeedMessage) -> bool:
        record = message.record
        details = details_json(record)
        tenant = message.tenant

        def sealed(youth_id: uuid.UUID) -> str:
            if not self.seal_personal_data:
                return UNSEALED + base64.b64encode(details).decode()
            key = self.store.data_key(tenant, youth_id, person.person_key)
            return seal(key, details, tenant, youth_id, PersonalDetails.PURPOSE)

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
            seal=sealed,
        )
