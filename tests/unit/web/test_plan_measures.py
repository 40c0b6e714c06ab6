"""Which lifecycle buttons a measure has, and how the measures service's refusals are said."""

from __future__ import annotations

import pytest

from services.web.domain import measures
from services.web.domain.measures import Action

# The measures service's lifecycle (services/measures/domain/lifecycle.py), from the state each
# step leaves: the web offers exactly these.
LIFECYCLE: dict[str | None, set[Action]] = {
    "offered": {Action.ACCEPT, Action.DECLINE},
    "accepted": {Action.START},
    "declined": {Action.REOFFER},
    "started": {Action.END},
    "ended": set(),
    None: set(),  # every step withdrawn
}


@pytest.mark.parametrize("state", list(LIFECYCLE))
def test_a_measure_has_a_button_for_each_step_its_state_allows_and_no_other(
    state: str | None,
) -> None:
    shown = {a.action for a in measures.actions(state)}
    assert shown == LIFECYCLE[state]
    for action in Action:
        assert measures.allowed(state, action) is (action in LIFECYCLE[state])


def test_an_unknown_state_has_no_buttons_and_is_shown_as_itself() -> None:
    assert measures.actions("paused") == ()
    assert measures.state_label("paused") == "paused"
    assert measures.state_label(None) == "Struken"
    assert measures.state_label("declined") == "Avböjd"


def test_only_an_end_asks_for_a_reason_and_each_step_names_the_services_path() -> None:
    assert [a.action for a in measures.ACTIONS.values() if a.needs_reason] == [Action.END]
    paths = {a.action: a.service_path for a in measures.ACTIONS.values()}
    assert paths == {Action.ACCEPT: "acceptance", Action.DECLINE: "decline",
                     Action.START: "start", Action.END: "end", Action.REOFFER: ""}  # fmt: skip


def test_the_days_of_a_measure_are_listed_in_lifecycle_order() -> None:
    measure = {"ended_on": "2026-03-05", "offered_on": "2026-02-27", "started_on": "2026-03-02",
               "declined_on": "2026-02-28", "accepted_on": None}  # fmt: skip
    assert measures.days_of(measure) == [
        ("Erbjuden", "2026-02-27"), ("Avböjd", "2026-02-28"),
        ("Startade", "2026-03-02"), ("Avslutades", "2026-03-05"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "problem", "said"),
    [
        (409, "the measure is declined; this needs it accepted", measures.CONFLICT),
        (409, "the measure is offered; only a declined one is offered again", measures.CONFLICT),
        (422, "no such measure for this youth", "Insatsen finns inte (längre) för den här ungdomen."),
        (409, "is taken by an offer with different content; use a new id",
         "Formuläret har redan skickats med annat innehåll. Ladda om sidan och försök igen."),
        (409, "the youth is not in scope", None),
        (422, "is before offered_on (2026-02-27)", None),
    ],
)  # fmt: skip
def test_a_refusal_about_the_measure_itself_is_said_for_the_measure(
    status: int, problem: str, said: str | None
) -> None:
    assert measures.refusal_said(status, problem) == said


LABELS = {"on": "Datum för steget", "end_reason": "Skäl till att insatsen avslutades"}


@pytest.mark.parametrize(
    ("field", "problem", "said"),
    [
        ("on", "is before offered_on (2026-02-27)",
         "Datum för steget får inte vara före datumet insatsen erbjöds"),
        ("on", "is before the measure was declined",
         "Datum för steget får inte vara före datumet insatsen avböjdes"),
        ("body.on", "Input should be a valid date", "Datum för steget måste vara ett datum (åååå-mm-dd)"),
        ("body.end_reason", "Field required", "Skäl till att insatsen avslutades måste fyllas i"),
        ("end_reason", "unknown code (code list measure-end-reason 2026-1)",
         "Skäl till att insatsen avslutades finns inte i kodlistan"),
        ("on", "is in the future", "Datum för steget får inte ligga i framtiden"),
    ],
)  # fmt: skip
def test_the_services_problems_are_said_in_swedish_next_to_the_field(
    field: str, problem: str, said: str
) -> None:
    assert measures.said_errors([{"field": field, "problem": problem}], LABELS) == {
        field.split(".")[-1]: said
    }


def test_a_problem_naming_no_field_of_the_form_goes_to_the_summary_and_no_english_shows() -> None:
    said = measures.said_errors([{"field": "youth_id", "problem": "the youth is not in scope"}],
                                LABELS)  # fmt: skip
    assert said == {"_form": "Det gick inte att spara: ungdomen är inte i aktivitetsansvaret"}
    assert measures.said_errors([], LABELS, "something odd") == {
        "_form": "Det gick inte att spara: har ett värde som inte godtogs"
    }
