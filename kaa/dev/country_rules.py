"""What the register must hold of a synthetic person: the scope rules as the generator applies
them (for persons with no completions, folkbokförda since birth), with the reason in words, and
the enrolments it makes. They agree with identify's engine (services/identify/domain/scope.py):
tests/unit/test_country.py checks it for every enrolment state the generator can make."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

UPPER_SECONDARY = ("GY", "GYS")
COMPULSORY = ("GR", "GRS", "SP", "SAM")


@dataclass
class Enrolment:
    school_type: str
    unit: str
    observed: date  # first observed: an undated enrolment counts from then
    cancelled: bool = False
    start: date | None = None
    end: date | None = None
    education_code: str | None = None
    year: int | None = None

    def current_on(self, on: date) -> bool:
        """As the scope engine reads it (services/identify/domain/scope.py)."""
        if self.cancelled or (self.start or self.observed) > on:
            return False
        return self.end is None or self.end >= on

    def describe(self) -> str:
        """The enrolment in a few words (codes and dates only), for the expectation's story."""
        when = f"from {self.start}" if self.start else f"undated, seen {self.observed}"
        ends = f" to {self.end}" if self.end else ""
        return f"{self.school_type}{' cancelled' if self.cancelled else ''} {when}{ends}"

    def ss12000(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "enroledAt": {"id": self.unit, "displayName": "Skolenhet"},
            "schoolType": self.school_type,
            "cancelled": self.cancelled,
        }
        if self.year is not None:
            out["schoolYear"] = self.year
        if self.education_code is not None:
            out["educationCode"] = self.education_code
        if self.start is not None:
            out["startDate"] = self.start.isoformat()
        if self.end is not None:
            out["endDate"] = self.end.isoformat()
        return out


def twentieth_birthday(born: date) -> date:
    return years_after(born, 20)


def years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a common year
        return date(day.year + years, 2, 28)


IN_SCOPE = "in scope: under 20, compulsory school over, no current enrolment"


def scope_reason(born: date, enrolments: list[Enrolment], on: date) -> str:
    """Why the person is or is not in scope on `on` where folkbokförd (`IN_SCOPE` if they are):
    under 20, compulsory school over (30 June of the year of 16), not in gymnasieskola (nor still
    in compulsory school). The persons made here have no completions and arrived at birth."""
    if on >= twentieth_birthday(born):
        return "not in scope: turned 20"
    if on <= date(born.year + 16, 6, 30):
        return "not in scope: compulsory school not over"
    schooled = UPPER_SECONDARY + COMPULSORY
    current = [e.school_type for e in enrolments if e.school_type in schooled and e.current_on(on)]
    return f"not in scope: enrolled in {','.join(current)}" if current else IN_SCOPE


def in_scope_on(born: date, enrolments: list[Enrolment], on: date) -> bool:
    """In the activity responsibility's scope on `on` (`scope_reason`)."""
    return scope_reason(born, enrolments, on) == IN_SCOPE
