"""The scope rule: is the municipality's activity responsibility in force for a youth on a date?

Skollagen 29 kap. 9 § and DOMAIN.md section 1. This is the first, simple rule of the backbone slice:
folkbokförd in the municipality, at least 16 and under 20, not enrolled in gymnasieskola (GY) or
anpassad gymnasieskola (GYS). The statutory, versioned rule set with effective dates replaces it in
the scope-engine work; every decision already names the rule version and the facts it used.
Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.contracts.events import LeavingReason
from shared.personnummer import age_on

RULE_VERSION = "simple-v1"
UPPER_SECONDARY = frozenset({"GY", "GYS"})


@dataclass(frozen=True)
class EnrolmentFact:
    school_type: str
    cancelled: bool
    start_date: date | None
    end_date: date | None

    def current_on(self, on: date) -> bool:
        if self.cancelled:
            return False
        if self.start_date is not None and self.start_date > on:
            return False
        return self.end_date is None or self.end_date >= on


@dataclass(frozen=True)
class PersonFacts:
    kommunkod: str | None
    birth_date: date | None
    status: str  # resident | emigrated | deceased
    enrolments: tuple[EnrolmentFact, ...]


@dataclass(frozen=True)
class Decision:
    in_scope: bool
    leaving_reason: LeavingReason | None
    facts: dict[str, str]
    rule_version: str = RULE_VERSION


def twentieth_birthday(birth_date: date) -> date:
    try:
        return birth_date.replace(year=birth_date.year + 20)
    except ValueError:  # born 29 February: the day after 28 February
        return date(birth_date.year + 20, 3, 1)


def decide(person: PersonFacts, tenant: str, on: date) -> Decision:
    facts: dict[str, str] = {"tenant": tenant, "on": on.isoformat()}
    if person.status == "deceased":
        return Decision(False, "deceased", facts | {"status": "deceased"})
    if person.status == "emigrated":
        return Decision(False, "emigrated", facts | {"status": "emigrated"})
    if person.kommunkod != tenant:
        return Decision(False, "moved_out", facts | {"folkbokford_in_tenant": "no"})
    facts["folkbokford_in_tenant"] = "yes"
    if person.birth_date is None:
        return Decision(False, None, facts | {"age": "unknown"})
    age = age_on(person.birth_date, on)
    facts["age"] = str(age)
    if age >= 20:
        return Decision(False, "turned_20", facts)
    if age < 16:
        return Decision(False, None, facts)
    current = sorted(
        {
            e.school_type
            for e in person.enrolments
            if e.current_on(on) and e.school_type in UPPER_SECONDARY
        }
    )
    if current:
        return Decision(False, "enrolled", facts | {"enrolled_in": ",".join(current)})
    facts["enrolled_in"] = "none"
    return Decision(True, None, facts)
