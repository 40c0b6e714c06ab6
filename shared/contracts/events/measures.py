"""The events measures publishes on `kaa.measures.events.v1`: measures offered and their course, the
individual plan's revisions, follow-ups, and the youth's objection."""

from __future__ import annotations

import uuid
from datetime import date
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts import topics
from shared.contracts.envelope import IntegrationEvent
from shared.contracts.events.corrections import CorrectionFields, Withdrawal
from shared.contracts.text import StoredText


class MeasureOffered(CorrectionFields, IntegrationEvent):
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


class IndividualPlanRevised(CorrectionFields, IntegrationEvent):
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


class MeasureAccepted(CorrectionFields, IntegrationEvent):
    topic = topics.MEASURES_EVENTS
    event_type: Literal["MeasureAccepted"] = "MeasureAccepted"
    schema_version: Literal[1] = 1
    measure_id: uuid.UUID
    accepted_on: date


class MeasureDeclined(CorrectionFields, IntegrationEvent):
    """The youth said no; measures are voluntary. A re-offer reminder is scheduled."""

    topic = topics.MEASURES_EVENTS
    event_type: Literal["MeasureDeclined"] = "MeasureDeclined"
    schema_version: Literal[1] = 1
    measure_id: uuid.UUID
    declined_on: date


class MeasureStarted(CorrectionFields, IntegrationEvent):
    topic = topics.MEASURES_EVENTS
    event_type: Literal["MeasureStarted"] = "MeasureStarted"
    schema_version: Literal[1] = 1
    measure_id: uuid.UUID
    started_on: date


class MeasureEnded(CorrectionFields, IntegrationEvent):
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


class FollowUpCompleted(CorrectionFields, IntegrationEvent):
    topic = topics.MEASURES_EVENTS
    event_type: Literal["FollowUpCompleted"] = "FollowUpCompleted"
    schema_version: Literal[1] = 1
    follow_up_id: uuid.UUID
    completed_on: date


class FollowUpCancelled(IntegrationEvent):
    """A follow-up is no longer due: the plan revision or the decline that set it was corrected
    or withdrawn (not done: the worklists drop it all the same)."""

    topic = topics.MEASURES_EVENTS
    event_type: Literal["FollowUpCancelled"] = "FollowUpCancelled"
    schema_version: Literal[1] = 1
    follow_up_id: uuid.UUID
    cancelled_on: date


class ObjectionRecorded(CorrectionFields, IntegrationEvent):
    """The youth objected to being in the register or to the municipality's efforts. Processing
    is lawful all the same (förordning 2006:39 § 1): the youth stays in the register; measures
    remain voluntary."""

    topic = topics.MEASURES_EVENTS
    event_type: Literal["ObjectionRecorded"] = "ObjectionRecorded"
    schema_version: Literal[1] = 1
    objected_on: date


class MeasuresEntryWithdrawn(Withdrawal):
    """A caseworker withdrew a measures entry (a plan revision or a measure step): it did not
    happen. A step others depend on cannot be withdrawn while they stand."""

    topic = topics.MEASURES_EVENTS
    event_type: Literal["MeasuresEntryWithdrawn"] = "MeasuresEntryWithdrawn"
    schema_version: Literal[1] = 1
