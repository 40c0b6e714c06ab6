"""What a caseworker recorded on a measures case, entry by entry, so that an entry can be corrected
or withdrawn (`shared/contracts/events/corrections.py`).

Every measure step and plan revision is an entry, known by the version of the event that recorded
it (callers know it by the event id made from that version: `EntryIds`). A correction is an entry
that takes the place of the one it corrects (a step keeps its place in the measure's order); a
withdrawal takes an entry out. Nothing is forgotten: every entry stays, marked corrected (by which
entry, who, when, why) or withdrawn.

What a measure is now is worked out again from the steps that stand (`fold`), and a correction is
checked by the lifecycle (`lifecycle.TRANSITIONS`) as recording it would be: a corrected step out
of order is refused, and a step that others depend on (the later steps of its measure) cannot be
withdrawn while they stand.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from services.measures.domain import lifecycle, plan
from services.measures.domain.lifecycle import TRANSITIONS, MeasureState, Step
from shared.casework.domain import CaseNotFound, CommandRefused

EntryIds = Callable[[int], uuid.UUID]
"""An entry's version → the event id callers know it by (the public event's id)."""

STEP_EVENTS: Mapping[Step, str] = {
    Step.OFFER: "MeasureOffered",
    Step.ACCEPT: "MeasureAccepted",
    Step.DECLINE: "MeasureDeclined",
    Step.START: "MeasureStarted",
    Step.END: "MeasureEnded",
}
PLAN_EVENT = "IndividualPlanRevised"

STEP_FIELDS: Mapping[Step, tuple[str, ...]] = {
    Step.OFFER: ("measure_type", "offered_on", "can_start_on", "content", "content_digest"),
    Step.ACCEPT: ("accepted_on",),
    Step.DECLINE: ("declined_on",),
    Step.START: ("started_on",),
    Step.END: ("ended_on", "end_reason", "occupation_after"),
}
"""What each step records on its measure (the offer's content sealed, with its keyed digest)."""

UNCOMPARED = frozenset({"content", "sealed_text", "actor", "version", "revision_id", "goal"})
"""Left out when a correction is compared with one recorded (sealed words by their digests)."""


class EntryNotFound(CaseNotFound):
    """The event id named is no entry of this youth's measures (or not of the measure named): 404,
    naming the field (`corrects`, `withdraws`). A refusal like the youth not found: it refuses
    its own command only."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field}: no such entry of this youth's measures")
        self.field = field
        self.reason = "no such entry of this youth's measures"


def apply_step(
    measure: Mapping[str, Any] | None, step: Step, values: Mapping[str, Any]
) -> dict[str, Any]:
    """The measure after `step` with its `values` (an offer counts the offers made)."""
    known = dict(measure or {})
    offers = known.get("offers", 0) + (1 if step is Step.OFFER else 0)
    return {**known, **values, "state": TRANSITIONS[step].to.value, "offers": offers}


def check_step(measure: Mapping[str, Any] | None, step: Step, values: Mapping[str, Any]) -> None:
    """Refuse `step` with `values` on `measure` as recording it would be refused."""
    if step is Step.OFFER and measure is not None:
        declined = lifecycle.state_of(measure) is MeasureState.DECLINED
        if declined and values["measure_type"] != measure["measure_type"]:
            raise CommandRefused("measure_type", "a re-offer is of the same measure type")
    lifecycle.take_step(measure, step, values[TRANSITIONS[step].day])
    starts = values.get("can_start_on") if step is Step.OFFER else None
    if starts is not None and starts < values["offered_on"]:
        raise CommandRefused("can_start_on", "is before offered_on")


def compared(values: Mapping[str, Any]) -> dict[str, Any]:
    """What makes two recordings the same (an effort's made-up id aside)."""
    kept = {k: v for k, v in values.items() if k not in UNCOMPARED}
    if "efforts" in kept:
        kept["efforts"] = [
            {k: v for k, v in e.items() if k != "effort_id"} for e in kept["efforts"]
        ]
    return kept


class Record:
    """The case's entries (`entries`: version → entry), each measure's standing steps in order
    (`steps`), and what they make: the measures now (`measures`) and the plan's standing
    revisions (`plan_revisions`), both the case's own dict and list."""

    def __init__(self, measures: dict[str, dict[str, Any]], revisions: list[dict[str, Any]]):
        self.measures = measures
        self.plan_revisions = revisions
        self.entries: dict[int, dict[str, Any]] = {}
        self.steps: dict[str, list[int]] = {}

    # -- applying what was recorded (never refuses: stored events replay) ----------------------

    def step_recorded(
        self,
        version: int,
        measure_id: str,
        step: Step,
        values: Mapping[str, Any],
        actor: str,
        corrects: int | None = None,
        correction: Mapping[str, Any] | None = None,
    ) -> None:
        self._entry(version, STEP_EVENTS[step], actor, corrects, correction,
                    measure_id=measure_id, step=step.value, values=dict(values))  # fmt: skip
        standing = self.steps.setdefault(measure_id, [])
        if corrects is None:
            standing.append(version)
        else:
            standing[standing.index(corrects)] = version
        self.measures[measure_id] = self.fold(measure_id)

    def revision_recorded(
        self,
        version: int,
        revision: dict[str, Any],
        corrects: int | None = None,
        correction: Mapping[str, Any] | None = None,
    ) -> None:
        revision["version"] = version
        self._entry(version, PLAN_EVENT, revision["actor"], corrects, correction,
                    measure_id=None, revision=revision["revision"], values=revision)  # fmt: skip
        if corrects is None:
            self.plan_revisions.append(revision)
        else:
            self.plan_revisions[self._revision_at(corrects)] = revision

    def withdrawn(self, version: int, withdraws: int, how: Mapping[str, Any]) -> None:
        entry = self.entries[withdraws]
        entry["withdrawn"] = {"by": version, **how}
        measure_id = entry["measure_id"]
        if measure_id is None:
            del self.plan_revisions[self._revision_at(withdraws)]
            return
        self.steps[measure_id].remove(withdraws)
        if self.steps[measure_id]:
            self.measures[measure_id] = self.fold(measure_id)
        else:  # nothing of it stands: no such measure (its entries stay, withdrawn)
            del self.measures[measure_id]

    def fold(self, measure_id: str) -> dict[str, Any]:
        """The measure as its standing steps make it, one by one."""
        measure: dict[str, Any] | None = None
        for version in self.steps[measure_id]:
            entry = self.entries[version]
            measure = apply_step(measure, Step(entry["step"]), entry["values"])
        return measure or {}

    def revisions_made(self) -> int:
        """How many revisions were recorded (not counting corrections): the last number given."""
        return sum(1 for e in self.entries.values() if e["revision"] and e["corrects"] is None)

    def _entry(
        self,
        version: int,
        event_type: str,
        actor: str,
        corrects: int | None,
        correction: Mapping[str, Any] | None,
        **kind: Any,
    ) -> None:
        self.entries[version] = {
            "version": version, "event_type": event_type, "actor": actor, "revision": None,
            **kind, "corrects": corrects, "correction": dict(correction) if correction else None,
            "corrected": None, "withdrawn": None,
        }  # fmt: skip
        if corrects is not None and correction is not None:
            self.entries[corrects]["corrected"] = {"by": version, "actor": actor, **correction}

    def _revision_at(self, version: int) -> int:
        return next(n for n, r in enumerate(self.plan_revisions) if r.get("version") == version)

    # -- deciding: the refusals, before anything is recorded -----------------------------------

    def named(self, event_id: uuid.UUID, field: str, ids: EntryIds, measure_id: str | None) -> int:
        """The version of the entry `event_id` names: one of this measure's steps (`measure_id`),
        or with None one of the plan's revisions; else `EntryNotFound` naming `field`."""
        for version, entry in self.entries.items():
            if ids(version) == event_id and entry["measure_id"] == measure_id:
                return version
        raise EntryNotFound(field)

    def retried(self, version: int, reason: str, values: Mapping[str, Any] | None) -> bool:
        """Whether the request was recorded already: the entry withdrawn (`values` None), or
        corrected with these values, for this reason."""
        entry = self.entries[version]
        done = entry["withdrawn"] if values is None else entry["corrected"]
        if done is None or done["reason"] != reason:
            return False
        return values is None or compared(self.entries[done["by"]]["values"]) == compared(values)

    def check_standing(self, version: int, field: str, ids: EntryIds) -> None:
        """Refuse (409) naming an entry withdrawn, or one corrected since (name the latest)."""
        entry = self.entries[version]
        if entry["withdrawn"] is not None:
            raise CommandRefused(field, "names an entry that was withdrawn", conflict=True)
        if entry["corrected"] is not None:
            latest = ids(entry["corrected"]["by"])
            raise CommandRefused(
                field, f"names an entry corrected since by {latest}; name the latest", conflict=True
            )

    def check_step_corrected(self, version: int, values: Mapping[str, Any], ids: EntryIds) -> None:
        """Refuse a step's correction that breaks its measure's order: at the step itself as
        recording it would be; a step after it that would then come before it, 409 naming it."""
        entry = self.entries[version]
        corrected = Step(entry["step"])
        standing = self.steps[entry["measure_id"]]
        at = standing.index(version)
        measure: dict[str, Any] | None = None
        for n, v in enumerate(standing):
            step = Step(self.entries[v]["step"])
            given = values if n == at else self.entries[v]["values"]
            try:
                check_step(measure, step, given)
            except CommandRefused as refusal:
                if n <= at:
                    raise
                day = TRANSITIONS[corrected].day
                later = f"{ids(v)} ({self.entries[v]['event_type']})"
                raise CommandRefused(
                    day, f"would be after the step that follows it: {later}", conflict=True
                ) from refusal
            measure = apply_step(measure, step, given)

    def check_withdrawable(self, version: int, field: str, ids: EntryIds) -> None:
        """Refuse (409) withdrawing a step while the later steps of its measure stand, naming
        them."""
        measure_id = self.entries[version]["measure_id"]
        if measure_id is None:
            return
        standing = self.steps[measure_id]
        after = standing[standing.index(version) + 1 :]
        if after:
            named = ", ".join(f"{ids(v)} ({self.entries[v]['event_type']})" for v in after)
            raise CommandRefused(
                field, f"steps depend on it: {named}; withdraw them first", conflict=True
            )

    def check_revision_corrected(
        self,
        version: int,
        valid_from: date,
        efforts: Sequence[Mapping[str, Any]],
        follow_up_on: date | None,
        evaluation_on: date | None,
        ids: EntryIds,
    ) -> None:
        """Refuse a revision's correction that does not add up (as recording it would be) or
        would be valid after the revision that follows it (409 naming it)."""
        at = self._revision_at(version)
        plan.check_revision(
            self.plan_revisions[:at], valid_from, efforts, follow_up_on, evaluation_on
        )
        after = self.plan_revisions[at + 1 : at + 2]
        if after and valid_from > after[0]["valid_from"]:
            raise CommandRefused(
                "valid_from",
                f"is after the valid_from of the revision that follows it: {ids(after[0]['version'])}",
                conflict=True,
            )
