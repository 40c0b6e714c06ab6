"""Outbound: the measures domain events → the public events on `kaa.measures.events.v1` (the
outbox relay's mapper). A fact about a day happened at its start; the words only sealed.

A corrected step or plan revision is its public event again, naming the event it corrects
(`corrects`, the event id of the entry's version) and why (`correction`); a withdrawn entry is
`MeasuresEntryWithdrawn`. A follow-up's completion and an objection are corrected the same way. A
follow-up no longer due (what scheduled it was withdrawn or corrected) is `FollowUpCancelled` on
the day it was closed (the worklists drop it; it was not done); one due again is its
`FollowUpScheduled` again."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any

from services.measures.domain import MeasuresCase
from shared.contracts.envelope import IntegrationEvent
from shared.contracts.events import (
    Correction,
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
    PlanEffort,
    PlanMapping,
)
from shared.messaging.relay import envelope_of, event_id_for

Case: Any = MeasuresCase
RELAYED = (
    Case.MeasureOffered,
    Case.MeasureAccepted,
    Case.MeasureDeclined,
    Case.MeasureStarted,
    Case.MeasureEnded,
    Case.IndividualPlanRevised,
    Case.FollowUpScheduled,
    Case.FollowUpCompleted,
    Case.ObjectionRecorded,
    Case.MeasureStepCorrected,
    Case.IndividualPlanRevisionCorrected,
    Case.EntryWithdrawn,
    Case.FollowUpCancelled,
    Case.FollowUpCompletionCorrected,
    Case.ObjectionCorrected,
)
SERVICE = "measures"
STEPS: dict[str, Any] = {
    "offer": MeasureOffered,
    "accept": MeasureAccepted,
    "decline": MeasureDeclined,
    "start": MeasureStarted,
    "end": MeasureEnded,
}


def entry_event_id(youth_id: uuid.UUID, version: int) -> uuid.UUID:
    """The event id callers know an entry of a youth's case by (its public event's id)."""
    return event_id_for(SERVICE, youth_id, version)


def _correction(e: Any) -> dict[str, Any]:
    return {
        "corrects": entry_event_id(e.originator_id, e.corrects),
        "correction": Correction(reason=e.reason, sealed_note=e.sealed_note),
    }


def _step_corrected(e: Any) -> IntegrationEvent:
    """A corrected step: its public event with the new values, naming the step it corrects."""
    values = dict(e.values)
    if e.step == "offer":
        values["sealed_content"] = values.pop("content")
        values.pop("content_digest", None)
    day = next(v for k, v in values.items() if k.endswith("_on") and k != "can_start_on")
    return STEPS[e.step](  # type: ignore[no-any-return]
        **_envelope(e, day), measure_id=uuid.UUID(e.measure_id), **values, **_correction(e)
    )


def _envelope(e: Any, day: date | None = None) -> dict[str, Any]:
    """A fact about a day happened at its start (UTC); others when they were recorded."""
    return envelope_of(SERVICE, e, datetime.combine(day, time.min, tzinfo=UTC) if day else None)


def to_integration_event(e: Any) -> IntegrationEvent | None:
    if isinstance(e, Case.MeasureOffered):
        return MeasureOffered(
            **_envelope(e, e.offered_on),
            measure_id=uuid.UUID(e.measure_id),
            measure_type=e.measure_type,
            offered_on=e.offered_on,
            can_start_on=e.can_start_on,
            # Sealed content only: one recorded before free text was sealed stays out (as then).
            sealed_content=e.content if getattr(e, "content_digest", None) else None,
        )
    if isinstance(e, Case.MeasureAccepted):
        return MeasureAccepted(
            **_envelope(e, e.accepted_on),
            measure_id=uuid.UUID(e.measure_id),
            accepted_on=e.accepted_on,
        )
    if isinstance(e, Case.MeasureDeclined):
        return MeasureDeclined(
            **_envelope(e, e.declined_on),
            measure_id=uuid.UUID(e.measure_id),
            declined_on=e.declined_on,
        )
    if isinstance(e, Case.MeasureStarted):
        return MeasureStarted(
            **_envelope(e, e.started_on),
            measure_id=uuid.UUID(e.measure_id),
            started_on=e.started_on,
        )
    if isinstance(e, Case.MeasureEnded):
        return MeasureEnded(
            **_envelope(e, e.ended_on),
            measure_id=uuid.UUID(e.measure_id),
            ended_on=e.ended_on,
            end_reason=e.end_reason,
            occupation_after=e.occupation_after,
        )
    if isinstance(e, Case.MeasureStepCorrected):
        return _step_corrected(e)
    if isinstance(e, Case.IndividualPlanRevisionCorrected):
        return IndividualPlanRevised(
            **_envelope(e, e.valid_from), revision=e.revision, valid_from=e.valid_from,
            efforts=[PlanEffort(**effort) for effort in e.efforts], follow_up_on=e.follow_up_on,
            evaluation_on=e.evaluation_on, sealed_text=e.sealed_text, **_correction(e),
        )  # fmt: skip
    if isinstance(e, Case.EntryWithdrawn):
        return MeasuresEntryWithdrawn(
            **_envelope(e), withdraws=entry_event_id(e.originator_id, e.withdraws),
            withdrawn_event_type=e.withdrawn_event_type,
            correction=Correction(reason=e.reason, sealed_note=e.sealed_note),
        )  # fmt: skip
    if isinstance(e, Case.IndividualPlanRevised):
        sealed = getattr(e, "sealed_text", None)
        return IndividualPlanRevised(
            **_envelope(e, e.valid_from),
            revision=e.revision,
            valid_from=e.valid_from,
            # The words only sealed; clear in revisions recorded before free text was sealed.
            goal=e.goal if sealed is None else None,
            mapping=PlanMapping(**e.mapping) if sealed is None else PlanMapping(),
            efforts=[PlanEffort(**effort) for effort in e.efforts],
            follow_up_on=e.follow_up_on,
            evaluation_on=e.evaluation_on,
            sealed_text=sealed,
        )
    if isinstance(e, Case.FollowUpScheduled):
        return FollowUpScheduled(
            **_envelope(e),
            follow_up_id=uuid.UUID(e.follow_up_id),
            subject=e.subject,
            due_on=e.due_on,
            measure_id=uuid.UUID(e.measure_id) if e.measure_id else None,
        )
    if isinstance(e, Case.FollowUpCompleted):
        return FollowUpCompleted(
            **_envelope(e, e.completed_on),
            follow_up_id=uuid.UUID(e.follow_up_id),
            completed_on=e.completed_on,
        )
    if isinstance(e, Case.ObjectionRecorded):
        return ObjectionRecorded(**_envelope(e, e.objected_on), objected_on=e.objected_on)
    if isinstance(e, Case.FollowUpCancelled):
        return FollowUpCancelled(
            **_envelope(e, e.on), follow_up_id=uuid.UUID(e.follow_up_id), cancelled_on=e.on
        )
    if isinstance(e, Case.FollowUpCompletionCorrected):
        return FollowUpCompleted(
            **_envelope(e, e.completed_on), follow_up_id=uuid.UUID(e.follow_up_id),
            completed_on=e.completed_on, **_correction(e),
        )  # fmt: skip
    if isinstance(e, Case.ObjectionCorrected):
        return ObjectionRecorded(
            **_envelope(e, e.objected_on), objected_on=e.objected_on, **_correction(e)
        )
    return None
