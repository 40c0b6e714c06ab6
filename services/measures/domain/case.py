"""The measures case: the youth's individual plan and the measures offered (DOMAIN.md sections 3
and 4). Participation is voluntary: a decline is recorded and schedules a re-offer reminder, an
objection is recorded and changes nothing in the register.

A measure's steps follow the lifecycle (`lifecycle.TRANSITIONS`, the one place it is decided);
a declined measure may be offered again. Every plan revision is kept (`plan`); the plan in force
on any day can be shown. A client-chosen id records a thing once: the same id with the same
content again is a retry (False, nothing new), with other content a conflict (the id is taken).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from eventsourcing.domain import event

from services.measures.domain import lifecycle, plan
from services.measures.domain.corrections import Corrections
from services.measures.domain.follow_ups import FollowUpBook, FollowUps
from services.measures.domain.lifecycle import Step
from services.measures.domain.record import Record
from services.measures.domain.values import CONTENT, FollowUpSubject, follow_up_id, taken
from shared.casework.domain import ScopedYouthCase
from shared.contracts.events import PlanText
from shared.crypto import YouthSealer

REOFFER = FollowUpSubject.MEASURE_REOFFER


class MeasuresCase(Corrections, FollowUps, ScopedYouthCase):
    # Stored events name their class by topic (module:qualname), and the outbox relay selects
    # what it publishes by topic: the case's topics stay those recorded before the domain became
    # a package (`services.measures.domain` exports the class).
    __module__ = "services.measures.domain"

    @event("Opened")
    def __init__(self, youth_id: uuid.UUID, tenant: str) -> None:
        self._start_case(tenant)
        self.measure_ids: tuple[str, ...] = ()
        self.measures: dict[str, dict[str, Any]] = {}
        self.plan_revisions: list[dict[str, Any]] = []
        self.follow_ups: dict[str, dict[str, Any]] = {}
        self.objections: list[date] = []
        # Every step and revision as an entry (by its event's version), to correct or withdraw.
        self.record = Record(self.measures, self.plan_revisions)
        # Follow-ups and objections, with every completion and objection as an entry.
        self.book = FollowUpBook(self.follow_ups, self.objections)

    # -- measures -------------------------------------------------------------------------------

    def offer_measure(
        self,
        measure_id: uuid.UUID,
        measure_type: str,
        offered_on: date,
        can_start_on: date | None,
        actor: str,
        correlation_id: uuid.UUID,
        content: str | None = None,
        sealer: YouthSealer | None = None,
    ) -> bool:
        """Offer a measure, or offer a declined one again; False for a repeated request (the same
        id with the same content), 409 for the id taken by an offer of different content. The
        content is recorded sealed with the youth's data key (`sealer`)."""
        digest = sealed = None
        if content is not None:
            if sealer is None:
                raise ValueError("content: free text is recorded sealed; a sealer is needed")
            digest = sealer.digest(content.encode(), CONTENT)
        known = self.measures.get(str(measure_id))
        if not lifecycle.decide_offer(
            known, measure_type, offered_on, can_start_on, digest, sealer
        ):
            return False
        if content is not None and sealer is not None:
            sealed = sealer.seal(content.encode(), CONTENT)
        self._measure_offered(
            self.tenant, str(measure_id), measure_type, offered_on, can_start_on, actor,
            correlation_id, sealed, digest,
        )  # fmt: skip
        reminder = follow_up_id(self.id, REOFFER, str(measure_id))
        pending = self.follow_ups.get(reminder)
        if known is not None and pending is not None and pending["completed_on"] is None:
            self._follow_up_completed(
                self.tenant, reminder, offered_on, actor, correlation_id, self.version
            )
        return True

    @event("MeasureOffered")
    def _measure_offered(
        self,
        tenant: str,
        measure_id: str,
        measure_type: str,
        offered_on: date,
        can_start_on: date | None,
        actor: str,
        correlation_id: uuid.UUID,
        content: str | None = None,
        content_digest: str | None = None,
    ) -> None:
        # `content` is sealed when `content_digest` is given (clear only in events recorded
        # before free text was sealed).
        if measure_id not in self.measure_ids:
            self.measure_ids = (*self.measure_ids, measure_id)
        self._stepped(measure_id, Step.OFFER, actor, measure_type=measure_type,
                      offered_on=offered_on, can_start_on=can_start_on, content=content,
                      content_digest=content_digest)  # fmt: skip

    def _stepped(self, measure_id: str, step: Step, actor: str, **values: Any) -> None:
        """A step recorded (inside its event's apply: this event's version is the next)."""
        self.record.step_recorded(self.version + 1, measure_id, step, values, actor)

    def _step(self, measure_id: uuid.UUID, step: Step, on: date) -> bool:
        """Check `step` on `on` against the lifecycle: False for a retry, else True (to record),
        or the refusal."""
        measure = self.measures.get(str(measure_id))
        if lifecycle.repeated(measure, step, on):
            return False
        lifecycle.take_step(measure, step, on)
        return True

    def accept(
        self, measure_id: uuid.UUID, on: date, actor: str, correlation_id: uuid.UUID
    ) -> bool:
        if not self._step(measure_id, Step.ACCEPT, on):
            return False
        self._measure_accepted(self.tenant, str(measure_id), on, actor, correlation_id)
        return True

    @event("MeasureAccepted")
    def _measure_accepted(
        self, tenant: str, measure_id: str, accepted_on: date, actor: str, correlation_id: uuid.UUID
    ) -> None:
        self._stepped(measure_id, Step.ACCEPT, actor, accepted_on=accepted_on)

    def decline(
        self,
        measure_id: uuid.UUID,
        on: date,
        reoffer_after_days: int,
        actor: str,
        correlation_id: uuid.UUID,
    ) -> bool:
        """The youth declined; a re-offer reminder falls due `reoffer_after_days` later."""
        if not self._step(measure_id, Step.DECLINE, on):
            return False
        self._measure_declined(self.tenant, str(measure_id), on, actor, correlation_id)
        self._follow_up_scheduled(
            self.tenant, follow_up_id(self.id, REOFFER, str(measure_id)), REOFFER.value,
            on + timedelta(days=reoffer_after_days), str(measure_id), actor, correlation_id,
        )  # fmt: skip
        return True

    @event("MeasureDeclined")
    def _measure_declined(
        self, tenant: str, measure_id: str, declined_on: date, actor: str, correlation_id: uuid.UUID
    ) -> None:
        self._stepped(measure_id, Step.DECLINE, actor, declined_on=declined_on)

    def start(self, measure_id: uuid.UUID, on: date, actor: str, correlation_id: uuid.UUID) -> bool:
        if not self._step(measure_id, Step.START, on):
            return False
        self._measure_started(self.tenant, str(measure_id), on, actor, correlation_id)
        return True

    @event("MeasureStarted")
    def _measure_started(
        self, tenant: str, measure_id: str, started_on: date, actor: str, correlation_id: uuid.UUID
    ) -> None:
        self._stepped(measure_id, Step.START, actor, started_on=started_on)

    def end(
        self,
        measure_id: uuid.UUID,
        on: date,
        end_reason: str,
        occupation_after: str | None,
        actor: str,
        correlation_id: uuid.UUID,
    ) -> bool:
        """The started measure ended: why (a code of the day's `measure-end-reason` list) and what
        the youth does after it (an `occupation` code)."""
        if not lifecycle.decide_end(
            self.measures.get(str(measure_id)), on, end_reason, occupation_after
        ):
            return False
        self._measure_ended(
            self.tenant, str(measure_id), on, end_reason, occupation_after, actor, correlation_id
        )
        return True

    @event("MeasureEnded")
    def _measure_ended(
        self,
        tenant: str,
        measure_id: str,
        ended_on: date,
        end_reason: str,
        occupation_after: str | None,
        actor: str,
        correlation_id: uuid.UUID,
    ) -> None:
        self._stepped(measure_id, Step.END, actor, ended_on=ended_on, end_reason=end_reason,
                      occupation_after=occupation_after)  # fmt: skip

    # -- the individual plan --------------------------------------------------------------------

    def revise_plan(
        self,
        *,
        valid_from: date,
        goal: str,
        mapping: dict[str, list[str]],
        efforts: list[dict[str, Any]],
        follow_up_on: date | None,
        evaluation_on: date | None,
        actor: str,
        correlation_id: uuid.UUID,
        sealer: YouthSealer,
        revision_id: uuid.UUID | None = None,
        valid_from_given: bool = True,
    ) -> int:
        """Record a new revision of the plan; returns its number. The same client `revision_id`
        with the same content again records nothing and returns that revision's number; with
        other content it is refused (409). A `valid_from` the client left to its default (today)
        is not part of the content: a retry the next day is the same request.

        What the caseworker wrote (the goal, the mapping, the efforts' words) is recorded sealed
        with the youth's data key (`sealer`), and compared by a digest keyed with it."""
        plain = plan.plan_text(goal, mapping, efforts)
        digest = sealer.digest(plain, PlanText.PURPOSE)
        structure = plan.effort_structure(efforts)
        earlier = plan.revision_with_id(self.plan_revisions, revision_id) if revision_id else None
        if earlier is not None:
            if not plan.same_revision(
                earlier, valid_from=valid_from if valid_from_given else None,
                follow_up_on=follow_up_on, evaluation_on=evaluation_on, digest=digest,
                structure=structure, sealer=sealer,
            ):  # fmt: skip
                raise taken("revision_id", "a plan revision")
            return int(earlier["revision"])
        plan.check_revision(self.plan_revisions, valid_from, efforts, follow_up_on, evaluation_on)
        revision = self.record.revisions_made() + 1
        self._plan_revised(
            self.tenant, revision, valid_from, None, None, structure, follow_up_on,
            evaluation_on, actor, correlation_id,
            str(revision_id) if revision_id is not None else None,
            sealer.seal(plain, PlanText.PURPOSE), digest,
        )  # fmt: skip
        self.plan_follow_ups_derived(actor, correlation_id, valid_from)
        return revision

    @event("IndividualPlanRevised")
    def _plan_revised(
        self, tenant: str, revision: int, valid_from: date, goal: str | None,
        mapping: dict[str, list[str]] | None, efforts: list[dict[str, Any]],
        follow_up_on: date | None, evaluation_on: date | None, actor: str,
        correlation_id: uuid.UUID, revision_id: str | None = None,
        sealed_text: str | None = None, text_digest: str | None = None,
    ) -> None:  # fmt: skip
        # The words are in `sealed_text` (`PlanText`); `goal`, `mapping` and the efforts' words
        # are clear only in events recorded before free text was sealed.
        self.record.revision_recorded(self.version + 1, {
            "revision": revision, "revision_id": revision_id, "valid_from": valid_from,
            "goal": goal, "mapping": mapping, "efforts": efforts, "follow_up_on": follow_up_on,
            "evaluation_on": evaluation_on, "actor": actor, "sealed_text": sealed_text,
            "text_digest": text_digest,
        })  # fmt: skip

    # -- corrections and withdrawals (the commands: `Corrections`) ------------------------------

    @event("MeasureStepCorrected")
    def _step_corrected(
        self, tenant: str, corrects: int, measure_id: str, step: str, values: dict[str, Any],
        actor: str, correlation_id: uuid.UUID, reason: str, sealed_note: str | None,
        corrected_at: datetime,
    ) -> None:  # fmt: skip
        why = {"reason": reason, "sealed_note": sealed_note, "at": corrected_at}
        self.record.step_recorded(
            self.version + 1, measure_id, Step(step), values, actor, corrects, why
        )

    @event("IndividualPlanRevisionCorrected")
    def _plan_revision_corrected(
        self, tenant: str, corrects: int, revision: int, valid_from: date,
        efforts: list[dict[str, Any]], follow_up_on: date | None, evaluation_on: date | None,
        actor: str, correlation_id: uuid.UUID, revision_id: str | None, sealed_text: str,
        text_digest: str, reason: str, sealed_note: str | None, corrected_at: datetime,
    ) -> None:  # fmt: skip
        self.record.revision_recorded(self.version + 1, {
            "revision": revision, "revision_id": revision_id, "valid_from": valid_from,
            "goal": None, "mapping": None, "efforts": efforts, "follow_up_on": follow_up_on,
            "evaluation_on": evaluation_on, "actor": actor, "sealed_text": sealed_text,
            "text_digest": text_digest,
        }, corrects, {"reason": reason, "sealed_note": sealed_note, "at": corrected_at})  # fmt: skip

    @event("EntryWithdrawn")
    def _entry_withdrawn(
        self, tenant: str, withdraws: int, withdrawn_event_type: str, actor: str,
        correlation_id: uuid.UUID, reason: str, sealed_note: str | None, withdrawn_at: datetime,
    ) -> None:  # fmt: skip
        how = {"actor": actor, "reason": reason, "sealed_note": sealed_note, "at": withdrawn_at}
        entries = self.record if withdraws in self.record.entries else self.book
        entries.withdrawn(self.version + 1, withdraws, how)

    def plan_on(self, day: date) -> dict[str, Any] | None:
        """The revision in force on `day` (the latest one valid from then or earlier)."""
        return plan.plan_on(self.plan_revisions, day)

    # -- follow-ups and objections (the commands: `FollowUps`) ---------------------------------

    @event("FollowUpScheduled")
    def _follow_up_scheduled(
        self, tenant: str, follow_up_id: str, subject: str, due_on: date,
        measure_id: str | None, actor: str, correlation_id: uuid.UUID,
    ) -> None:  # fmt: skip
        measure = self.measures.get(measure_id) if measure_id is not None else None
        self.book.scheduled(follow_up_id, subject, due_on, measure_id, measure)

    @event("FollowUpCompleted")
    def _follow_up_completed(
        self, tenant: str, follow_up_id: str, completed_on: date, actor: str,
        correlation_id: uuid.UUID, reoffer: int | None = None,
    ) -> None:  # fmt: skip
        # `reoffer`: the version of the offer again that closed a re-offer reminder.
        self.book.completed(self.version + 1, follow_up_id, completed_on, actor, reoffer)

    @event("FollowUpCancelled")
    def _follow_up_cancelled(
        self, tenant: str, follow_up_id: str, on: date, actor: str, correlation_id: uuid.UUID
    ) -> None:
        # What scheduled it was withdrawn or corrected: no longer due (published as closed `on`).
        self.book.cancelled(follow_up_id)

    @event("FollowUpCompletionCorrected")
    def _completion_corrected(
        self, tenant: str, corrects: int, follow_up_id: str, completed_on: date, actor: str,
        correlation_id: uuid.UUID, reason: str, sealed_note: str | None, corrected_at: datetime,
    ) -> None:  # fmt: skip
        why = {"reason": reason, "sealed_note": sealed_note, "at": corrected_at}
        self.book.completed(
            self.version + 1, follow_up_id, completed_on, actor, None, corrects, why
        )

    @event("ObjectionRecorded")
    def _objection_recorded(
        self, tenant: str, objected_on: date, actor: str, correlation_id: uuid.UUID,
        objection_id: str | None = None,
    ) -> None:  # fmt: skip
        self.book.objected(self.version + 1, objected_on, actor)
        if objection_id is not None:
            self.objection_ids = {**self.objection_days(), objection_id: objected_on}

    @event("ObjectionCorrected")
    def _objection_corrected(
        self, tenant: str, corrects: int, objected_on: date, actor: str,
        correlation_id: uuid.UUID, reason: str, sealed_note: str | None, corrected_at: datetime,
    ) -> None:  # fmt: skip
        why = {"reason": reason, "sealed_note": sealed_note, "at": corrected_at}
        self.book.objected(self.version + 1, objected_on, actor, corrects, why)
