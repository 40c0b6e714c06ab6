"""Correcting and withdrawing what was recorded on a measures case: a plan revision or a measure's
step (offer, acceptance, decline, start, end), and the follow-ups they scheduled worked out again
(`follow_ups`: a withdrawn decline's re-offer reminder closed, a corrected one's moved). The rules are the record's (`record.Record`): the
entry named must be this youth's (404 naming the field), the latest of its corrections and not
withdrawn (409); a correction is checked against the lifecycle as recording it would be; a step
others depend on cannot be withdrawn while they stand (409 naming them). A correction of a
correction names the correction. The same request again (the same values, the same reason) is a
retry: nothing new is recorded.

`Corrections` holds the case's commands; the events they record are the case's own
(`MeasuresCase`), so their stored topics name it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from services.measures.domain import lifecycle, plan
from services.measures.domain.lifecycle import Step
from services.measures.domain.record import STEP_FIELDS, EntryIds, Record
from services.measures.domain.values import CONTENT
from shared.casework.domain import CommandRefused, Why
from shared.contracts.events import PlanText
from shared.crypto import YouthSealer


@dataclass(frozen=True)
class StepGiven:
    """A step's new values as the caller gives them (an offer's `on` is its `offered_on`)."""

    on: date
    measure_type: str | None = None
    can_start_on: date | None = None
    content: str | None = None
    end_reason: str | None = None
    occupation_after: str | None = None


_OWN_FIELDS: Mapping[Step, frozenset[str]] = {
    Step.OFFER: frozenset({"measure_type", "can_start_on", "content"}),
    Step.END: frozenset({"end_reason", "occupation_after"}),
}


def step_values(step: Step, given: StepGiven, sealer: YouthSealer | None) -> dict[str, Any]:
    """What a corrected `step` records, or the refusal naming a field it does not take or lacks."""
    own = _OWN_FIELDS.get(step, frozenset())
    for name in ("measure_type", "can_start_on", "content", "end_reason", "occupation_after"):
        if name not in own and getattr(given, name) is not None:
            raise CommandRefused(name, f"is not part of a measure's {step.value}")
    day = lifecycle.TRANSITIONS[step].day
    if step is Step.OFFER:
        if given.measure_type is None:
            raise CommandRefused("measure_type", "is required to correct an offer")
        content = digest = None
        if given.content is not None:
            if sealer is None:
                raise ValueError("content: free text is recorded sealed; a sealer is needed")
            content = sealer.seal(given.content.encode(), CONTENT)
            digest = sealer.digest(given.content.encode(), CONTENT)
        values = (given.measure_type, given.on, given.can_start_on, content, digest)
        return dict(zip(STEP_FIELDS[step], values, strict=True))
    if step is Step.END:
        if given.end_reason is None:
            raise CommandRefused("end_reason", "is required to correct an end")
        lifecycle.check_end_codes(given.on, given.end_reason, given.occupation_after)
        return {day: given.on, "end_reason": given.end_reason,
                "occupation_after": given.occupation_after}  # fmt: skip
    return {day: given.on}


class Corrections:
    """The commands that correct or withdraw an entry of the case (mixed into `MeasuresCase`)."""

    if TYPE_CHECKING:
        record: Record
        tenant: str

        def _step_corrected(
            self, tenant: str, corrects: int, measure_id: str, step: str,
            values: dict[str, Any], actor: str, correlation_id: uuid.UUID, reason: str,
            sealed_note: str | None, corrected_at: datetime,
        ) -> None: ...  # fmt: skip

        def _plan_revision_corrected(
            self, tenant: str, corrects: int, revision: int, valid_from: date,
            efforts: list[dict[str, Any]], follow_up_on: date | None,
            evaluation_on: date | None, actor: str, correlation_id: uuid.UUID,
            revision_id: str | None, sealed_text: str, text_digest: str, reason: str,
            sealed_note: str | None, corrected_at: datetime,
        ) -> None: ...  # fmt: skip

        def _entry_withdrawn(
            self, tenant: str, withdraws: int, withdrawn_event_type: str, actor: str,
            correlation_id: uuid.UUID, reason: str, sealed_note: str | None,
            withdrawn_at: datetime,
        ) -> None: ...  # fmt: skip

        def reminder_derived(self, measure_id: str, why: Why) -> None: ...
        def plan_follow_ups_derived(
            self, actor: str, correlation_id: uuid.UUID, on: date
        ) -> None: ...

    def correct_step(
        self,
        measure_id: uuid.UUID,
        corrects: uuid.UUID,
        given: StepGiven,
        why: Why,
        ids: EntryIds,
        sealer: YouthSealer | None = None,
    ) -> bool:
        """Record the step `corrects` names again with new values; False for a retry."""
        version = self.record.named(corrects, "corrects", ids, str(measure_id))
        step = Step(self.record.entries[version]["step"])
        values = step_values(step, given, sealer)
        if self.record.retried(version, why.reason, values):
            return False
        self.record.check_standing(version, "corrects", ids)
        self.record.check_step_corrected(version, values, ids)
        self._step_corrected(
            self.tenant, version, str(measure_id), step.value, values, why.actor,
            why.correlation_id, why.reason, why.sealed_note, why.at,
        )  # fmt: skip
        self.reminder_derived(str(measure_id), why)
        return True

    def correct_plan_revision(
        self,
        corrects: uuid.UUID,
        revision: Mapping[str, Any],
        why: Why,
        ids: EntryIds,
        sealer: YouthSealer,
    ) -> bool:
        """Record the plan revision `corrects` names again with new content (the same number;
        `valid_from` None keeps its day); False for a retry."""
        version = self.record.named(corrects, "corrects", ids, None)
        known = self.record.entries[version]["values"]
        valid_from = revision.get("valid_from") or known["valid_from"]
        efforts, follow_up_on = revision["efforts"], revision.get("follow_up_on")
        evaluation_on = revision.get("evaluation_on")
        plain = plan.plan_text(revision["goal"], dict(revision["mapping"]), efforts)
        digest = sealer.digest(plain, PlanText.PURPOSE)
        structure = plan.effort_structure(efforts)
        values = {"revision": known["revision"], "valid_from": valid_from, "efforts": structure,
                  "follow_up_on": follow_up_on, "evaluation_on": evaluation_on,
                  "text_digest": digest, "mapping": None}  # fmt: skip
        if self.record.retried(version, why.reason, values):
            return False
        self.record.check_standing(version, "corrects", ids)
        self.record.check_revision_corrected(
            version, valid_from, efforts, follow_up_on, evaluation_on, ids
        )
        self._plan_revision_corrected(
            self.tenant, version, known["revision"], valid_from, structure, follow_up_on,
            evaluation_on, why.actor, why.correlation_id, known.get("revision_id"),
            sealer.seal(plain, PlanText.PURPOSE), digest, why.reason, why.sealed_note, why.at,
        )  # fmt: skip
        self.plan_follow_ups_derived(why.actor, why.correlation_id, why.at.date())
        return True

    def withdraw(
        self, withdraws: uuid.UUID, measure_id: uuid.UUID | None, why: Why, ids: EntryIds
    ) -> bool:
        """Withdraw the step of the measure (`measure_id`), or with None the plan revision, that
        `withdraws` names: it did not happen. False for a retry."""
        version = self.record.named(
            withdraws, "withdraws", ids, str(measure_id) if measure_id is not None else None
        )
        if self.record.retried(version, why.reason, None):
            return False
        self.record.check_standing(version, "withdraws", ids)
        self.record.check_withdrawable(version, "withdraws", ids)
        self._entry_withdrawn(
            self.tenant, version, self.record.entries[version]["event_type"], why.actor,
            why.correlation_id, why.reason, why.sealed_note, why.at,
        )  # fmt: skip
        if measure_id is not None:
            self.reminder_derived(str(measure_id), why)
        else:
            self.plan_follow_ups_derived(why.actor, why.correlation_id, why.at.date())
        return True
