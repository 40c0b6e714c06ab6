"""Every integration event in one union, and how a consumer parses a message of a topic.

The documents (`shared/contracts/export.py`) are read off the same union, so an event cannot be
parsable and missing from them, or the other way round."""

from __future__ import annotations

import typing
from typing import Annotated

from pydantic import Field, TypeAdapter

from shared.contracts import topics
from shared.contracts.envelope import IntegrationEvent
from shared.contracts.events.identify import (
    AbsenceReported,
    PersonalDetailsRecorded,
    SchoolNotificationReceived,
    YouthIdentified,
    YouthLeftScope,
)
from shared.contracts.events.measures import (
    FollowUpCancelled,
    FollowUpCompleted,
    FollowUpScheduled,
    IndividualPlanRevised,
    MeasureAccepted,
    MeasureDeclined,
    MeasureEnded,
    MeasureOffered,
    MeasuresEntryWithdrawn,
    MeasureStarted,
    ObjectionRecorded,
)
from shared.contracts.events.outreach import (
    CaseAssigned,
    ContactAttempted,
    ContactDetailsRecorded,
    ContactEstablished,
    OccupationRecorded,
    OutreachEntryWithdrawn,
    YouthInformed,
)
from shared.contracts.events.retention import PersonalDataPurged

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
    | FollowUpCancelled
    | ObjectionRecorded
    | PersonalDataPurged
    | OutreachEntryWithdrawn
    | MeasuresEntryWithdrawn
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
