"""The measure lifecycle, decided here once (DOMAIN.md section 4): which step a measure may take
from which state, and the day it may not precede.

    (new) ──offer──▶ offered ──accept──▶ accepted ──start──▶ started ──end──▶ ended
                     offered ──decline─▶ declined ──offer again──▶ offered

Every other step is refused: a step on a measure in a state the table does not allow is a
conflict (409, `measure_id`); a step on a measure never offered names `measure_id` (422); a step
dated before the step it follows names its own date field (422). A step repeated with the day it
recorded is a retry (`repeated`): nothing new is recorded. An offer and an end have rules of their
own besides (`decide_offer`, `decide_end`).

The register applies one youth's measure events in their order and trusts this table: it does
not decide the lifecycle a second time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from services.measures.domain.values import content_digest, taken
from shared.casework.domain import CommandRefused
from shared.codelists import code_list
from shared.crypto import YouthSealer


class MeasureState(StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    STARTED = "started"
    ENDED = "ended"


class Step(StrEnum):
    OFFER = "offer"
    ACCEPT = "accept"
    DECLINE = "decline"
    START = "start"
    END = "end"


@dataclass(frozen=True)
class Transition:
    """One step: the states it is allowed from (None: a measure not offered yet), the state it
    leads to, its own date field (recorded on the measure), and the recorded date that day may
    not precede. `refused_from` and `before` say why a refusal refuses, when the default words
    ("this needs it offered", "is before offered_on (…)") do not fit."""

    allowed_from: frozenset[MeasureState | None]
    to: MeasureState
    day: str
    not_before: str
    refused_from: str | None = None
    before: str | None = None


TRANSITIONS: Mapping[Step, Transition] = {
    Step.OFFER: Transition(
        frozenset({None, MeasureState.DECLINED}), MeasureState.OFFERED, "offered_on",
        "declined_on", refused_from="only a declined one is offered again",
        before="is before the measure was declined",
    ),
    Step.ACCEPT: Transition(
        frozenset({MeasureState.OFFERED}), MeasureState.ACCEPTED, "accepted_on", "offered_on"
    ),
    Step.DECLINE: Transition(
        frozenset({MeasureState.OFFERED}), MeasureState.DECLINED, "declined_on", "offered_on"
    ),
    Step.START: Transition(
        frozenset({MeasureState.ACCEPTED}), MeasureState.STARTED, "started_on", "accepted_on"
    ),
    Step.END: Transition(
        frozenset({MeasureState.STARTED}), MeasureState.ENDED, "ended_on", "started_on"
    ),
}  # fmt: skip
"""The whole lifecycle: every step a measure can take. What is not here is refused."""


def state_of(measure: Mapping[str, Any] | None) -> MeasureState | None:
    """The state a recorded measure is in; None for a measure not offered."""
    return None if measure is None else MeasureState(measure["state"])


def repeated(measure: Mapping[str, Any] | None, step: Step, on: date) -> bool:
    """Whether the measure's last step was `step` on `on`: the request is a retry."""
    transition = TRANSITIONS[step]
    return (
        state_of(measure) is transition.to
        and measure is not None
        and (measure.get(transition.day) == on)
    )


def take_step(measure: Mapping[str, Any] | None, step: Step, on: date) -> MeasureState:
    """The state `step` on `on` takes the measure to (None: not offered yet), or the refusal.

    Raises `CommandRefused`: `measure_id` for a measure never offered (422) or in a state the step
    is not allowed from (409); the step's own date field when it is before the step it follows."""
    transition = TRANSITIONS[step]
    state = state_of(measure)
    if state not in transition.allowed_from:
        if state is None:
            raise CommandRefused("measure_id", "no such measure for this youth")
        needs = " or ".join(sorted(s for s in transition.allowed_from if s is not None))
        reason = transition.refused_from or f"this needs it {needs}"
        raise CommandRefused("measure_id", f"the measure is {state}; {reason}", conflict=True)
    if measure is not None:
        earlier: date = measure[transition.not_before]
        if on < earlier:
            before = transition.before or f"is before {transition.not_before} ({earlier})"
            raise CommandRefused(transition.day, before)
    return transition.to


def decide_offer(
    known: Mapping[str, Any] | None,
    measure_type: str,
    offered_on: date,
    can_start_on: date | None,
    digest: str | None,
    sealer: YouthSealer | None,
) -> bool:
    """Whether an offer (or a declined measure's offer again) is to be recorded: False for a
    retry (the offer recorded with the same content: type, start, the content's keyed `digest`),
    else True, or the refusal: the id taken by an offer of other content (409), a re-offer of
    another measure type, a step the lifecycle does not allow, a start before the offer."""
    if known is not None and repeated(known, Step.OFFER, offered_on):
        offered = (known["measure_type"], known["can_start_on"], content_digest(known, sealer))
        if offered != (measure_type, can_start_on, digest):
            raise taken("measure_id", "an offer")
        return False
    declined = state_of(known) is MeasureState.DECLINED
    if declined and known is not None and measure_type != known["measure_type"]:
        raise CommandRefused("measure_type", "a re-offer is of the same measure type")
    take_step(known, Step.OFFER, offered_on)
    if can_start_on is not None and can_start_on < offered_on:
        raise CommandRefused("can_start_on", "is before offered_on")
    return True


def decide_end(
    measure: Mapping[str, Any] | None, on: date, end_reason: str, occupation_after: str | None
) -> bool:
    """Whether a measure's end is to be recorded: False for a retry (the end recorded that day
    with the same reason and occupation after), else True, or the refusal: the end taken by other
    content (409), a code not in the day's `measure-end-reason` list or the `occupation` list, a
    step the lifecycle does not allow."""
    if measure is not None and repeated(measure, Step.END, on):
        if (measure["end_reason"], measure["occupation_after"]) != (end_reason, occupation_after):
            raise taken("measure_id", "an end")
        return False
    check_end_codes(on, end_reason, occupation_after)
    take_step(measure, Step.END, on)
    return True


def check_end_codes(on: date, end_reason: str, occupation_after: str | None) -> None:
    """Refuse an end's code not in the day's `measure-end-reason` list or the `occupation` list."""
    reasons = code_list("measure-end-reason", on=on)
    if end_reason not in reasons.codes:
        raise CommandRefused("end_reason", f"unknown code (code list {reasons.name})")
    if occupation_after is not None and occupation_after not in code_list("occupation").codes:
        raise CommandRefused("occupation_after", "unknown code (code list occupation)")
