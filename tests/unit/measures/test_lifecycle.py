"""The measure lifecycle, decided once in the measures domain (`lifecycle.TRANSITIONS`): which
step a measure may take from which state, and the day it may not precede. The register applies a
youth's measure events in their order and trusts this table, so every rule it once checked itself
(a step needs the state before it; a step on a measure never offered is refused) is pinned here."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest

from kaa.dev.synthetic import generate
from services.measures.domain.lifecycle import (
    TRANSITIONS,
    MeasureState,
    Step,
    repeated,
    state_of,
    take_step,
)
from shared.casework.domain import CommandRefused
from shared.contracts.events import (
    MeasureAccepted,
    MeasureDeclined,
    MeasureEnded,
    MeasureOffered,
    MeasureStarted,
)

OFFERED, ACCEPTED, DECLINED = MeasureState.OFFERED, MeasureState.ACCEPTED, MeasureState.DECLINED
STARTED, ENDED = MeasureState.STARTED, MeasureState.ENDED

# The lifecycle as DOMAIN.md section 4 tells it, written out here independently of the table:
# offered → accepted | declined; accepted → started → ended; a declined measure offered again.
ALLOWED: dict[tuple[MeasureState | None, Step], MeasureState] = {
    (None, Step.OFFER): OFFERED,
    (OFFERED, Step.ACCEPT): ACCEPTED,
    (OFFERED, Step.DECLINE): DECLINED,
    (DECLINED, Step.OFFER): OFFERED,
    (ACCEPTED, Step.START): STARTED,
    (STARTED, Step.END): ENDED,
}
EVERY_PAIR = [(state, step) for state in (None, *MeasureState) for step in Step]
DAY = date(2026, 3, 10)
# The day each state was reached on a measure that got there (its own date field).
REACHED = {OFFERED: "offered_on", ACCEPTED: "accepted_on", DECLINED: "declined_on",
           STARTED: "started_on", ENDED: "ended_on"}  # fmt: skip


def measure_in(state: MeasureState | None, on: date = DAY) -> dict[str, Any] | None:
    """A recorded measure that reached `state` on `on` (every earlier step the same day)."""
    if state is None:
        return None
    return {"state": state.value, **{field: on for field in REACHED.values()}}


def test_the_table_is_the_lifecycle_and_nothing_else() -> None:
    table = {
        (state, step): transition.to
        for step, transition in TRANSITIONS.items()
        for state in transition.allowed_from
    }
    assert table == ALLOWED


@pytest.mark.parametrize(("state", "step"), [p for p in EVERY_PAIR if p in ALLOWED])
def test_an_allowed_step_leads_to_its_state(state: MeasureState | None, step: Step) -> None:
    assert take_step(measure_in(state), step, DAY) is ALLOWED[state, step]


@pytest.mark.parametrize(("state", "step"), [p for p in EVERY_PAIR if p not in ALLOWED])
def test_every_other_step_is_refused_naming_the_measure(
    state: MeasureState | None, step: Step
) -> None:
    with pytest.raises(CommandRefused) as refused:
        take_step(measure_in(state), step, DAY)
    assert refused.value.field == "measure_id"
    if state is None:  # never offered: the id names nothing (422)
        assert not refused.value.conflict
        assert refused.value.reason == "no such measure for this youth"
    else:  # a step its state does not allow: 409, saying the state
        assert refused.value.conflict
        assert refused.value.reason.startswith(f"the measure is {state.value}; ")


def test_the_refusal_says_what_the_step_needs() -> None:
    cases = [(ACCEPTED, Step.ACCEPT, "the measure is accepted; this needs it offered"),
             (DECLINED, Step.START, "the measure is declined; this needs it accepted"),
             (ACCEPTED, Step.END, "the measure is accepted; this needs it started"),
             (STARTED, Step.OFFER, "the measure is started; only a declined one is offered again")]  # fmt: skip
    for state, step, reason in cases:
        with pytest.raises(CommandRefused) as refused:
            take_step(measure_in(state), step, DAY)
        assert refused.value.reason == reason


@pytest.mark.parametrize(("state", "step"), [p for p in ALLOWED if p[0] is not None])
def test_a_step_dated_before_the_step_it_follows_is_refused_naming_its_day(
    state: MeasureState, step: Step
) -> None:
    measure = measure_in(state)
    own_day = TRANSITIONS[step].day
    with pytest.raises(CommandRefused) as refused:
        take_step(measure, step, DAY - timedelta(days=1))
    assert (refused.value.field, refused.value.conflict) == (own_day, False)
    assert take_step(measure, step, DAY) is ALLOWED[state, step], "the same day is allowed"


def test_the_day_refusals_name_the_earlier_day() -> None:
    with pytest.raises(CommandRefused) as refused:
        take_step(measure_in(STARTED), Step.END, date(2026, 3, 9))
    assert refused.value.reason == "is before started_on (2026-03-10)"
    with pytest.raises(CommandRefused) as reoffer:
        take_step(measure_in(DECLINED), Step.OFFER, date(2026, 3, 9))
    assert reoffer.value.reason == "is before the measure was declined"


def test_a_step_is_repeated_only_with_the_state_and_the_day_it_recorded() -> None:
    accepted = measure_in(ACCEPTED)
    assert repeated(accepted, Step.ACCEPT, DAY)
    assert not repeated(accepted, Step.ACCEPT, DAY + timedelta(days=1))
    assert not repeated(accepted, Step.START, DAY)
    assert not repeated(None, Step.OFFER, DAY)


def test_a_measure_walks_the_whole_lifecycle_and_no_further() -> None:
    measure: dict[str, Any] | None = None
    walk = [Step.OFFER, Step.DECLINE, Step.OFFER, Step.ACCEPT, Step.START, Step.END]
    for n, step in enumerate(walk):
        on = DAY + timedelta(days=n)
        state = take_step(measure, step, on)
        measure = {**(measure or {}), "state": state.value, TRANSITIONS[step].day: on}
    assert state_of(measure) is ENDED
    for step in Step:  # an ended measure takes no step: not even an offer again
        with pytest.raises(CommandRefused):
            take_step(measure, step, DAY + timedelta(days=30))


def test_the_synthetic_histories_the_benchmarks_publish_follow_the_lifecycle() -> None:
    """The register trusts the order of a youth's measure events: the histories the generator
    publishes beside the measures service (`kaa/dev/synthetic.py`) must be ones it could record."""
    steps: dict[type[Any], Step] = {
        MeasureOffered: Step.OFFER,
        MeasureAccepted: Step.ACCEPT,
        MeasureDeclined: Step.DECLINE,
        MeasureStarted: Step.START,
        MeasureEnded: Step.END,
    }
    measures: dict[tuple[uuid.UUID, uuid.UUID], dict[str, Any]] = {}
    taken = Counter[Step]()
    for event in generate(3000, "synthetic-master-key-0123456789abcdef").events:
        if type(event) not in steps:
            continue
        step = steps[type(event)]
        day_field = TRANSITIONS[step].day  # the public events name their days alike
        key = (event.youth_id, getattr(event, "measure_id"))  # noqa: B009 - measure events only
        on: date = getattr(event, day_field)
        state = take_step(measures.get(key), step, on)
        measures[key] = {**measures.get(key, {}), "state": state.value, day_field: on}
        taken[step] += 1
    assert set(taken) == set(Step), "every step is exercised"
