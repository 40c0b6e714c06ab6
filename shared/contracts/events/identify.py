"""The events identify publishes on `kaa.identify.events.v1`: a youth enters or leaves the
municipality's activity responsibility, their personal details, and what schools report."""

from __future__ import annotations

import uuid
from datetime import date
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts import topics
from shared.contracts.envelope import IntegrationEvent
from shared.contracts.events.corrections import Correction
from shared.contracts.text import StoredText

LeavingReason = Literal[
    "turned_20",
    "enrolled",
    "completed",
    "moved_out",
    "emigrated",
    "deceased",
    "registered_in_error",
]


class YouthIdentified(IntegrationEvent):
    """The municipality's activity responsibility now applies to the youth (a scope episode starts)."""

    topic = topics.IDENTIFY_EVENTS
    event_type: Literal["YouthIdentified"] = "YouthIdentified"
    schema_version: Literal[1] = 1
    scope_episode_id: uuid.UUID
    entered_on: date = Field(
        description="First day in scope, from the facts (the legal entry date of the episode)."
    )
    scope_ends_on: date = Field(description="The 20th birthday, when scope ends at the latest.")
    identified_on: date | None = Field(
        default=None,
        description="The day identify recorded the episode: when the municipality could first "
        "know of it, where the contact clock starts (None in events from before it was named).",
    )
    rule_version: StoredText = Field(description="The scope rule version that decided it.")
    facts: dict[StoredText, StoredText] = Field(
        description="The non-identifying facts the decision used (e.g. age, enrolment status)."
    )
    school_background: StoredText | None = Field(
        default=None,
        description="Latest school-related occupation before entry: the SS 12000 school type of "
        "the most recent enrolment that had ended (IM for an introduction programme); None when "
        "no enrolment is known.",
    )
    personal_details: StoredText | None = Field(
        default=None,
        description="`PersonalDetails` as JSON, sealed with the youth's data key (AES-256-GCM, "
        "`kaa1.` + base64url); None when no population record has named the youth.",
    )


class PersonalDetails(BaseModel):
    """What the register may hold to identify a youth (förordning 2006:39 § 4 p. 1).

    Never travels in the clear: events carry it sealed with the youth's own data key."""

    model_config = ConfigDict(frozen=True)
    personnummer: StoredText
    given_name: StoredText
    family_name: StoredText
    street: StoredText | None = None
    postal_code: StoredText | None = None
    city: StoredText | None = None
    protected: bool = Field(
        default=False, description="Skyddad folkbokföring / sekretessmarkering: no address."
    )

    PURPOSE: ClassVar[str] = "personal-details"


class PersonalDetailsRecorded(IntegrationEvent):
    """The municipality received new personal details of a youth in its scope (a move, a new
    address); sealed with the youth's data key like those of `YouthIdentified`."""

    topic = topics.IDENTIFY_EVENTS
    event_type: Literal["PersonalDetailsRecorded"] = "PersonalDetailsRecorded"
    schema_version: Literal[1] = 1
    personal_details: StoredText


class YouthLeftScope(IntegrationEvent):
    """The activity responsibility ended for the youth (the scope episode closes)."""

    topic = topics.IDENTIFY_EVENTS
    event_type: Literal["YouthLeftScope"] = "YouthLeftScope"
    schema_version: Literal[1] = 1
    scope_episode_id: uuid.UUID
    left_on: date
    reason: LeavingReason
    rule_version: StoredText
    correction: Correction | None = Field(
        default=None,
        description="Why a coordinator marked the episode registered in error (the reason code "
        "and the optional sealed note); absent on every other end, and on marks published "
        "before it was carried.",
    )


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
    school_type: StoredText
    school_unit: StoredText = Field(
        description="SS 12000 id of the school unit (not personal data)."
    )
    received_on: date | None = Field(
        default=None,
        description="The day the hemkommun received the notification: where the contact clock "
        "starts (None in events from before it was named).",
    )
    reporting_organisation: StoredText | None = Field(
        default=None,
        description="The school's huvudman as the reporter named it (organisationsnummer or SS "
        "12000 Organisation id); the reporter itself is the envelope's actor.",
    )


class AbsenceReported(IntegrationEvent):
    """Significant unjustified absence (betydande ogiltig frånvaro) of a student under 20."""

    topic = topics.IDENTIFY_EVENTS
    event_type: Literal["AbsenceReported"] = "AbsenceReported"
    schema_version: Literal[1] = 1
    notification_id: uuid.UUID
    absent_from: date
    school_type: StoredText
    school_unit: StoredText
    reporting_organisation: StoredText | None = None
