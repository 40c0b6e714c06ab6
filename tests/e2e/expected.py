"""What the register must say for a generated municipality, computed from the feed files alone.

Deliberately independent of the identify service's code: ages, municipality and enrolments are read
straight from the JSON lines, with the rule for these youths written out again here: folkbokförd in
the municipality, past 30 June of the year they turn 16, under 20, no current GY/GYS enrolment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path


@dataclass(frozen=True)
class Expected:
    identified: int
    in_scope: int
    left_scope: int


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _enrolled(enrolments: list[dict[str, object]], on: date) -> bool:
    for e in enrolments:
        if e["schoolType"] not in ("GY", "GYS") or e.get("cancelled"):
            continue
        start, end = e.get("startDate"), e.get("endDate")
        if start and date.fromisoformat(str(start)) > on:
            continue
        if end and date.fromisoformat(str(end)) < on:
            continue
        return True
    return False


def expected_register(
    population: Path, ss12000: Path, tenant: str, on: date, *, as_read: bool = True
) -> Expected:
    """`as_read`: each record decided as it is read, school data loaded (and processed) before
    the population records (a deployment that waits for no watermark). Otherwise each person is
    decided once, when both feeds are complete, on their last record: the first load is the
    municipality's go-live, so a youth who moved out before it never had an episode in kaa."""
    if not as_read:
        last: dict[str, str] = {}
        for line in population.read_text().splitlines():
            last[json.loads(line)["record"]["personnummer"]] = line
        decided = population.with_name(population.name + ".last")
        decided.write_text("\n".join(last.values()) + "\n")
        population = decided
    enrolled = {}
    for line in ss12000.read_text().splitlines():
        person = json.loads(line)["person"]
        enrolled[person["civicNo"]["value"]] = _enrolled(person["enrolments"], on)
    identified: set[str] = set()
    left: set[str] = set()
    for line in population.read_text().splitlines():
        record = json.loads(line)["record"]
        number = record["personnummer"]
        born = date.fromisoformat(record["birth_date"])
        in_scope_now = (
            record["kommunkod"] == tenant
            and on > date(born.year + 16, 6, 30)  # compulsory school is over
            and _age(born, on) < 20
            and not enrolled.get(number, False)
        )
        if in_scope_now:
            identified.add(number)
            left.discard(number)
        elif number in identified:
            left.add(number)
    return Expected(len(identified), len(identified) - len(left), len(left))
