"""The integration events of the first slice, version 1.

A change that breaks a consumer gets a new `schema_version` (and, if needed, a new topic `…v2`);
adding an optional field does not.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, TypeAdapter

from shared.contracts import topics
from shared.contracts.envelope import IntegrationEvent

LeavingReason = Literal[
    "turned_20",
    "enrolled",
    "completed",
    "moved_out",
    "emigrated",
    "deceased",
    "registered_in_error",
]
ContactChannel = Literal[
    "letter", "sms", "phone", "email", "home_visit", "via_school", "via_guardian", "other"
]
ContactOutcome = Literal["reached", "not_reached", "wrong_contact_details", "declined_contact"]


class YouthIdentified(IntegrationEvent):
    """The municipality's activity responsibility now applies to the youth (a scope episode starts)."""

    topic = topics.IDENTIFY_EVENTS
    event_type: Literal["YouthIdentified"] = "YouthIdentified"
    schema_version: Literal[1] = 1
    scope_episode_id: uuid.UUID
    entered_on: date = Field(description="First day in scope.")
    scope_ends_on: date = Field(description="The 20th birthday, when scope ends at the latest.")
    rule_version: str = Field(description="The scope rule version that decided it.")
    facts: dict[str, str] = Field(
        description="The non-identifying facts the decision used (e.g. age, enrolment status)."
    )


class YouthLeftScope(IntegrationEvent):
    """The activity responsibility ended for the youth (the scope episode closes)."""

    topic = topics.IDENTIFY_EVENTS
    event_type: Literal["YouthLeftScope"] = "YouthLeftScope"
    schema_version: Literal[1] = 1
    scope_episode_id: uuid.UUID
    left_on: date
    reason: LeavingReason
    rule_version: str


NotificationKind = Literal["started", "left", "absence"]


class SchoolNotificationReceived(IntegrationEvent):
    """A school told the hemkommun that a student started, left, or is absent (skollagen 15 kap.
    15 §). A leaver is re-evaluated at once, so a dropout reaches a caseworker within a second."""

    topic = topics.IDENTIFY_EVENTS
    event_type: Literal["SchoolNotificationReceived"] = "SchoolNotificationReceived"
    schema_version: Literal[1] = 1
    notification_id: uuid.UUID
    kind: NotificationKind
    on: date = Field(description="The day the student started or left, or the absence began.")
    school_type: str
    school_unit: str = Field(description="SS 12000 id of the school unit (not personal data).")


class AbsenceReported(IntegrationEvent):
    """Significant unjustified absence (betydande ogiltig frånvaro) of a student under 20."""

    topic = topics.IDENTIFY_EVENTS
    event_type: Literal["AbsenceReported"] = "AbsenceReported"
    schema_version: Literal[1] = 1
    notification_id: uuid.UUID
    absent_from: date
    school_type: str
    school_unit: str


class ContactAttempted(IntegrationEvent):
    """A caseworker tried to reach the youth (kontaktförsök)."""

    topic = topics.OUTREACH_EVENTS
    event_type: Literal["ContactAttempted"] = "ContactAttempted"
    schema_version: Literal[1] = 1
    contact_attempt_id: uuid.UUID
    channel: ContactChannel
    outcome: ContactOutcome
    attempted_at: AwareDatetime


class MeasureOffered(IntegrationEvent):
    """A measure (åtgärd) was offered to the youth; taking it up is voluntary."""

    topic = topics.MEASURES_EVENTS
    event_type: Literal["MeasureOffered"] = "MeasureOffered"
    schema_version: Literal[1] = 1
    measure_id: uuid.UUID
    measure_type: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9_]+$",
        description="Code from the measure catalogue.",
    )
    offered_on: date
    can_start_on: date | None = None


ALL_EVENTS: tuple[type[IntegrationEvent], ...] = (
    YouthIdentified,
    YouthLeftScope,
    SchoolNotificationReceived,
    AbsenceReported,
    ContactAttempted,
    MeasureOffered,
)

AnyEvent = Annotated[
    YouthIdentified
    | YouthLeftScope
    | SchoolNotificationReceived
    | AbsenceReported
    | ContactAttempted
    | MeasureOffered,
    Field(discriminator="event_type"),
]
_any_event: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)


def parse_event(raw: bytes) -> AnyEvent:
    """Validate a Kafka message value as one of the integration events (raises ValidationError)."""
    return _any_event.validate_json(raw)
