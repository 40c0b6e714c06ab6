"""The integration events of the platform, version 1.

A change that breaks a consumer gets a new `schema_version` (and, if needed, a new topic `…v2`);
adding an optional field does not.
"""

from __future__ import annotations

import typing
import uuid
from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from shared.contracts import topics
from shared.contracts.envelope import IntegrationEvent
from shared.contracts.text import StoredText, Text

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


class ContactDetails(BaseModel):
    """How to reach a youth (förordning 2006:39 § 4 p. 1: e-mail address, telephone number).

    Never travels in the clear: events carry it sealed with the youth's own data key."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    email: Text | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: Text | None = Field(default=None, max_length=20, pattern=r"^\+?[0-9 ()-]{6,20}$")

    PURPOSE: ClassVar[str] = "contact-details"


class ContactDetailsRecorded(IntegrationEvent):
    """A caseworker recorded how to reach the youth; sealed like the personal details."""

    topic = topics.OUTREACH_EVENTS
    event_type: Literal["ContactDetailsRecorded"] = "ContactDetailsRecorded"
    schema_version: Literal[1] = 1
    contact_details: StoredText


class YouthLeftScope(IntegrationEvent):
    """The activity responsibility ended for the youth (the scope episode closes)."""

    topic = topics.IDENTIFY_EVENTS
    event_type: Literal["YouthLeftScope"] = "YouthLeftScope"
    schema_version: Literal[1] = 1
    scope_episode_id: uuid.UUID
    left_on: date
    reason: LeavingReason
    rule_version: StoredText


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
    measure_type: StoredText = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9_]+$",
        description="Code from the measure catalogue.",
    )
    offered_on: date
    can_start_on: date | None = None
    sealed_content: StoredText | None = Field(
        default=None,
        description="What the measure holds for this youth, as the caseworker wrote it (UTF-8), "
        "sealed with the youth's data key (AES-256-GCM, `kaa1.` + base64url, purpose "
        "`measure-content`); unreadable once retention destroyed the key. None without content.",
    )

    CONTENT_PURPOSE: ClassVar[str] = "measure-content"


class ContactEstablished(IntegrationEvent):
    """The caseworker and the youth are in contact (a conversation, a meeting)."""

    topic = topics.OUTREACH_EVENTS
    event_type: Literal["ContactEstablished"] = "ContactEstablished"
    schema_version: Literal[1] = 1
    established_at: AwareDatetime
    channel: ContactChannel


class YouthInformed(IntegrationEvent):
    """The youth was told about the municipality's offer (what the activity responsibility gives)."""

    topic = topics.OUTREACH_EVENTS
    event_type: Literal["YouthInformed"] = "YouthInformed"
    schema_version: Literal[1] = 1
    informed_at: AwareDatetime
    channel: ContactChannel


OccupationTense = Literal["previous", "current", "planned"]


class OccupationRecorded(IntegrationEvent):
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


class CaseAssigned(IntegrationEvent):
    """The youth's case was given to a caseworker or a team (a reassignment is a new event)."""

    topic = topics.OUTREACH_EVENTS
    event_type: Literal["CaseAssigned"] = "CaseAssigned"
    schema_version: Literal[1] = 1
    assignee_kind: Literal["caseworker", "team"]
    assignee: StoredText
    previous_assignee: StoredText | None = None


EffortResponsible = Literal["youth", "municipality", "other_actor"]


_UNSEALED = (
    "Only in events recorded before a plan's text was sealed; now None (the text is in the "
    "revision's `sealed_text`)."
)


class PlanEffort(BaseModel):
    """One effort of an individual plan (DOMAIN.md section 3, points 2–6): who is responsible and
    when, in the clear; what the caseworker wrote about it is sealed in the revision's
    `sealed_text` (`EffortText`, in the order of the efforts)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    effort_id: uuid.UUID
    description: StoredText | None = Field(default=None, description=_UNSEALED)
    responsible: EffortResponsible
    other_actor: StoredText | None = Field(default=None, description=_UNSEALED)
    start_date: date | None = None
    end_date: date | None = None
    end_reason: StoredText | None = Field(default=None, description=_UNSEALED)


class PlanMapping(BaseModel):
    """Kartläggning: the youth's goals, needs and expectations, as short structured items."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    goals: list[StoredText] = Field(default_factory=list)
    needs: list[StoredText] = Field(default_factory=list)
    expectations: list[StoredText] = Field(default_factory=list)
    interests: list[StoredText] = Field(default_factory=list)


class EffortText(BaseModel):
    """What a caseworker wrote about one effort of a plan."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    description: StoredText
    other_actor: StoredText | None = None
    end_reason: StoredText | None = None


class PlanText(BaseModel):
    """What a caseworker wrote in a plan revision: the goal, the mapping's items, and each
    effort's description, other actor and end reason (in the order of the revision's efforts).

    Free text about one youth is personal data: never travels in the clear. Events carry it
    sealed with the youth's own data key, so retention shreds it with their other details."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    goal: StoredText
    mapping: PlanMapping = Field(default_factory=PlanMapping)
    efforts: list[EffortText] = Field(default_factory=list)

    PURPOSE: ClassVar[str] = "plan-text"


class IndividualPlanRevised(IntegrationEvent):
    """A new revision of the youth's individual plan; earlier revisions stay as they were.

    Dates, who is responsible for each effort and the follow-up days travel in the clear; the
    caseworker's words (`PlanText`) only sealed, in `sealed_text`."""

    topic = topics.MEASURES_EVENTS
    event_type: Literal["IndividualPlanRevised"] = "IndividualPlanRevised"
    schema_version: Literal[1] = 1
    revision: int = Field(ge=1)
    valid_from: date
    goal: StoredText | None = Field(default=None, description=_UNSEALED)
    mapping: PlanMapping = Field(
        default_factory=PlanMapping,
        description="Empty but in events recorded before a plan's text was sealed (the items "
        "are in `sealed_text`).",
    )
    efforts: list[PlanEffort]
    follow_up_on: date | None = None
    evaluation_on: date | None = None
    sealed_text: StoredText | None = Field(
        default=None,
        description="`PlanText` as JSON (the goal, the mapping's items, each effort's "
        "description, other actor and end reason), sealed with the youth's data key "
        "(AES-256-GCM, `kaa1.` + base64url, purpose `plan-text`); unreadable once retention "
        "destroyed the key. None only in events recorded before it was sealed.",
    )


class MeasureAccepted(IntegrationEvent):
    topic = topics.MEASURES_EVENTS
    event_type: Literal["MeasureAccepted"] = "MeasureAccepted"
    schema_version: Literal[1] = 1
    measure_id: uuid.UUID
    accepted_on: date


class MeasureDeclined(IntegrationEvent):
    """The youth said no; measures are voluntary. A re-offer reminder is scheduled."""

    topic = topics.MEASURES_EVENTS
    event_type: Literal["MeasureDeclined"] = "MeasureDeclined"
    schema_version: Literal[1] = 1
    measure_id: uuid.UUID
    declined_on: date


class MeasureStarted(IntegrationEvent):
    topic = topics.MEASURES_EVENTS
    event_type: Literal["MeasureStarted"] = "MeasureStarted"
    schema_version: Literal[1] = 1
    measure_id: uuid.UUID
    started_on: date


class MeasureEnded(IntegrationEvent):
    topic = topics.MEASURES_EVENTS
    event_type: Literal["MeasureEnded"] = "MeasureEnded"
    schema_version: Literal[1] = 1
    measure_id: uuid.UUID
    ended_on: date
    end_reason: StoredText = Field(description="Code of the measure-end-reason code list.")
    occupation_after: StoredText | None = Field(
        default=None, description="Code of the occupation code list: what the youth does next."
    )


FollowUpSubject = Literal["plan_follow_up", "plan_evaluation", "measure_reoffer"]


class FollowUpScheduled(IntegrationEvent):
    """Something to come back to on a date; it appears on the caseworker's worklist when due."""

    topic = topics.MEASURES_EVENTS
    event_type: Literal["FollowUpScheduled"] = "FollowUpScheduled"
    schema_version: Literal[1] = 1
    follow_up_id: uuid.UUID
    subject: FollowUpSubject
    due_on: date
    measure_id: uuid.UUID | None = None


class FollowUpCompleted(IntegrationEvent):
    topic = topics.MEASURES_EVENTS
    event_type: Literal["FollowUpCompleted"] = "FollowUpCompleted"
    schema_version: Literal[1] = 1
    follow_up_id: uuid.UUID
    completed_on: date


class ObjectionRecorded(IntegrationEvent):
    """The youth objected to being in the register or to the municipality's efforts. Processing
    is lawful all the same (förordning 2006:39 § 1): the youth stays in the register; measures
    remain voluntary."""

    topic = topics.MEASURES_EVENTS
    event_type: Literal["ObjectionRecorded"] = "ObjectionRecorded"
    schema_version: Literal[1] = 1
    objected_on: date


class PersonalDataPurged(IntegrationEvent):
    """Retention (gallring): the youth's personal data is purged. Their data key is destroyed, so
    every sealed copy of their details (events, topics, backups) is unreadable; the register keeps
    the non-identifying record (dates, codes, actors, rule versions) for audit."""

    topic = topics.RETENTION_EVENTS
    event_type: Literal["PersonalDataPurged"] = "PersonalDataPurged"
    schema_version: Literal[1] = 1
    left_on: date = Field(description="When the youth's last scope episode ended.")
    retention_days: int = Field(ge=1, description="The municipality's retention period.")


_EVENTS = (
    YouthIdentified
    | YouthLeftScope
    | PersonalDetailsRecorded
    | ContactDetailsRecorded
    | SchoolNotificationReceived
    | AbsenceReported
    | ContactAttempted
    | ContactEstablished
    | YouthInformed
    | OccupationRecorded
    | CaseAssigned
    | IndividualPlanRevised
    | MeasureOffered
    | MeasureAccepted
    | MeasureDeclined
    | MeasureStarted
    | MeasureEnded
    | FollowUpScheduled
    | FollowUpCompleted
    | ObjectionRecorded
    | PersonalDataPurged
)
AnyEvent = Annotated[_EVENTS, Field(discriminator="event_type")]
# Every event of the contract, read off the union consumers parse with: an event cannot be
# parsable and missing from the documents (export.py), or the other way round.
ALL_EVENTS: tuple[type[IntegrationEvent], ...] = typing.get_args(_EVENTS)
EVENTS_BY_TOPIC: dict[str, tuple[type[IntegrationEvent], ...]] = {
    topic: tuple(event for event in ALL_EVENTS if event.topic == topic)
    for topic in topics.EVENT_TOPICS
}


def topic_adapter(topic: str) -> TypeAdapter[AnyEvent]:
    """What a message on `topic` may be: only the events declared for it (an event on another
    topic's channel is refused, as the documents say)."""
    events = EVENTS_BY_TOPIC[topic]
    if len(events) == 1:
        return TypeAdapter(events[0])  # type: ignore[arg-type]
    union = typing.Union[events]  # type: ignore[valid-type]  # noqa: UP007
    return TypeAdapter(Annotated[union, Field(discriminator="event_type")])


_any_event: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)


def parse_event(raw: bytes) -> AnyEvent:
    """Validate a Kafka message value as one of the integration events (raises ValidationError)."""
    return _any_event.validate_json(raw)
