"""The events outreach publishes on `kaa.outreach.events.v1`: contact with the youth (attempts,
contact established, informed), their contact details, occupation, and who holds the case."""

from __future__ import annotations

import uuid
from datetime import date
from typing import ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.contracts import topics
from shared.contracts.envelope import IntegrationEvent
from shared.contracts.events.corrections import CorrectionFields, Withdrawal
from shared.contracts.text import StoredText, Text

ContactChannel = Literal[
    "letter", "sms", "phone", "email", "home_visit", "via_school", "via_guardian", "other"
]


ContactOutcome = Literal["reached", "not_reached", "wrong_contact_details", "declined_contact"]


class ContactDetails(BaseModel):
    """How to reach a youth (förordning 2006:39 § 4 p. 1: e-mail address, telephone number).

    Never travels in the clear: events carry it sealed with the youth's own data key."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    email: Text | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: Text | None = Field(default=None, max_length=20, pattern=r"^\+?[0-9 ()-]{6,20}$")

    PURPOSE: ClassVar[str] = "contact-details"


class ContactDetailsRecorded(CorrectionFields, IntegrationEvent):
    """A caseworker recorded how to reach the youth; sealed like the personal details."""

    topic = topics.OUTREACH_EVENTS
    event_type: Literal["ContactDetailsRecorded"] = "ContactDetailsRecorded"
    schema_version: Literal[1] = 1
    contact_details: StoredText


class ContactAttempted(CorrectionFields, IntegrationEvent):
    """A caseworker tried to reach the youth (kontaktförsök)."""

    topic = topics.OUTREACH_EVENTS
    event_type: Literal["ContactAttempted"] = "ContactAttempted"
    schema_version: Literal[1] = 1
    contact_attempt_id: uuid.UUID
    channel: ContactChannel
    outcome: ContactOutcome
    attempted_at: AwareDatetime


class ContactEstablished(CorrectionFields, IntegrationEvent):
    """The caseworker and the youth are in contact (a conversation, a meeting)."""

    topic = topics.OUTREACH_EVENTS
    event_type: Literal["ContactEstablished"] = "ContactEstablished"
    schema_version: Literal[1] = 1
    established_at: AwareDatetime
    channel: ContactChannel


class YouthInformed(CorrectionFields, IntegrationEvent):
    """The youth was told about the municipality's offer (what the activity responsibility gives)."""

    topic = topics.OUTREACH_EVENTS
    event_type: Literal["YouthInformed"] = "YouthInformed"
    schema_version: Literal[1] = 1
    informed_at: AwareDatetime
    channel: ContactChannel


OccupationTense = Literal["previous", "current", "planned"]


class OccupationRecorded(CorrectionFields, IntegrationEvent):
    """What the youth does, did or will do (sysselsättning), coded in a versioned code list."""

    topic = topics.OUTREACH_EVENTS
    event_type: Literal["OccupationRecorded"] = "OccupationRecorded"
    schema_version: Literal[1] = 1
    occupation_id: uuid.UUID
    category: StoredText = Field(description="Code of the occupation code list.")
    code_list_version: StoredText
    tense: OccupationTense
    from_date: date
    to_date: date | None = None
    confirmed_on: date = Field(description="When the caseworker learnt or confirmed it.")


class CaseAssigned(CorrectionFields, IntegrationEvent):
    """The youth's case was given to a caseworker or a team (a reassignment is a new event)."""

    topic = topics.OUTREACH_EVENTS
    event_type: Literal["CaseAssigned"] = "CaseAssigned"
    schema_version: Literal[1] = 1
    assignee_kind: Literal["caseworker", "team"]
    assignee: StoredText
    previous_assignee: StoredText | None = None


class OutreachEntryWithdrawn(Withdrawal):
    """A caseworker withdrew an outreach entry (contact attempt, contact, information, occupation,
    contact details, assignment): it did not happen."""

    topic = topics.OUTREACH_EVENTS
    event_type: Literal["OutreachEntryWithdrawn"] = "OutreachEntryWithdrawn"
    schema_version: Literal[1] = 1
