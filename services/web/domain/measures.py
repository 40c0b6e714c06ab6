"""A measure (insats) as the pages show it: its state in Swedish, and which lifecycle buttons it
has. A button exists only for a step the measures service allows from the measure's state
(DOMAIN.md section 4; the service's table is `services/measures/domain/lifecycle.py`):

    (ny) ──erbjud──▶ erbjuden ──tacka ja──▶ accepterad ──starta──▶ pågår ──avsluta──▶ avslutad
                     erbjuden ──tacka nej─▶ avböjd ──erbjud igen──▶ erbjuden

The service decides again and refuses what is not allowed (409); the page then says so in Swedish
(`refusal_said`) — a page left open while someone else took the step shows its buttons stale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from services.web.domain import forms


class Action(StrEnum):
    """A step a caseworker takes on an existing measure; the value is the web's path for it."""

    ACCEPT = "tacka-ja"
    DECLINE = "tacka-nej"
    REOFFER = "erbjud-igen"
    START = "starta"
    END = "avsluta"


@dataclass(frozen=True)
class ActionShown:
    action: Action
    label: str  # the button's words
    service_path: str  # the measures service's step (`/measures/{id}/<path>`), or "" for an offer
    needs_reason: bool = False  # an end: a reason and the occupation after


ACTIONS: dict[Action, ActionShown] = {
    Action.ACCEPT: ActionShown(Action.ACCEPT, "Ungdomen tackade ja", "acceptance"),
    Action.DECLINE: ActionShown(Action.DECLINE, "Ungdomen tackade nej", "decline"),
    Action.REOFFER: ActionShown(Action.REOFFER, "Erbjud igen", ""),
    Action.START: ActionShown(Action.START, "Insatsen har startat", "start"),
    Action.END: ActionShown(Action.END, "Avsluta insatsen", "end", needs_reason=True),
}

# The lifecycle: the steps each state allows. A state not here (ended, or none: every step
# withdrawn) allows none.
ALLOWED: dict[str, tuple[Action, ...]] = {
    "offered": (Action.ACCEPT, Action.DECLINE),
    "accepted": (Action.START,),
    "declined": (Action.REOFFER,),
    "started": (Action.END,),
}

STATES: dict[str, str] = {
    "offered": "Erbjuden",
    "accepted": "Accepterad",
    "declined": "Avböjd",
    "started": "Pågår",
    "ended": "Avslutad",
}

# Each state's day, in the order a measure takes them (what the page lists as its history).
DAYS: tuple[tuple[str, str], ...] = (
    ("offered_on", "Erbjuden"),
    ("declined_on", "Avböjd"),
    ("accepted_on", "Accepterad"),
    ("started_on", "Startade"),
    ("ended_on", "Avslutades"),
)


def actions(state: str | None) -> tuple[ActionShown, ...]:
    """The buttons a measure in `state` has: exactly the steps the lifecycle allows from it."""
    if state is None:
        return ()
    return tuple(ACTIONS[a] for a in ALLOWED.get(state, ()))


def allowed(state: str | None, action: Action) -> bool:
    return any(shown.action is action for shown in actions(state))


def state_label(state: str | None) -> str:
    """The state in Swedish; none (every step withdrawn) as "Struken"; an unknown one as itself."""
    if state is None:
        return "Struken"
    return STATES.get(state, state)


def days_of(measure: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The days the measure's steps were taken on, as (what, ISO day), in lifecycle order."""
    return [(label, str(measure[key])) for key, label in DAYS if measure.get(key)]


CONFLICT = "Steget går inte att ta i insatsens nuvarande läge. Sidan visar läget nu."


def refusal_said(status: int, problem: str) -> str | None:
    """What a refusal of a step on a measure means for the caseworker, when it is about the
    measure itself (a 409 of the lifecycle, a measure not found); None to say it by field."""
    if status == 409 and "the measure is" in problem:
        return CONFLICT
    if status == 409 and "is taken by" in problem:
        return "Formuläret har redan skickats med annat innehåll. Ladda om sidan och försök igen."
    if "no such measure" in problem:
        return "Insatsen finns inte (längre) för den här ungdomen."
    if "re-offer is of the same measure type" in problem:
        return "En insats erbjuds igen som samma slags insats."
    return None


# The measures service's problems with a plan or a measure, said in Swedish (the first that
# matches; the more particular first). Others are said by `forms.swedish_problem`.
PROBLEMS: tuple[tuple[str, str], ...] = (
    ("latest revision", "får inte vara före datumet då planens senaste version började gälla"),
    ("is before valid_from", "får inte vara före datumet planen gäller från"),
    ("is before start_date", "får inte vara före startdatumet"),
    ("is before offered_on", "får inte vara före datumet insatsen erbjöds"),
    ("was declined", "får inte vara före datumet insatsen avböjdes"),
    ("is before", "får inte vara före föregående steg i insatsen"),
    ("needs its end date", "måste fyllas i när insatsen har ett avslutsskäl"),
    ("name the actor", "måste fyllas i när en annan aktör ansvarar"),
    ("not in the municipality's measure catalogue", "finns inte i kommunens insatskatalog"),
    ("unknown code", "finns inte i kodlistan"),
)


def said_errors(
    errors: Sequence[Mapping[str, str]], labels: Mapping[str, str], detail: str = ""
) -> dict[str, str]:
    """Messages by form field (`labels`: field → its Swedish label), as `forms.field_errors`
    says them, but the plan's and the measures' own problems said as they are meant."""
    shown: dict[str, str] = {}
    rest: list[Mapping[str, str]] = []
    for error in errors:
        name = forms.field_of(str(error.get("field", "")))
        problem = str(error.get("problem", ""))
        message = next((m for said, m in PROBLEMS if said.lower() in problem.lower()), None)
        if message is not None and name in labels:
            shown.setdefault(name, f"{labels[name]} {message}")
        else:
            rest.append(error)
    if rest or not shown:
        for name, message in forms.field_errors(rest, labels, detail).items():
            shown.setdefault(name, message)
    return shown
