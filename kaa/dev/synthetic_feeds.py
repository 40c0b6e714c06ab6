"""Synthetic feed files for demos, tests and benchmarks (development only; not in the wheel).

`generate` writes a realistic municipality: ages 15–21, most 16–19-year-olds enrolled in
gymnasieskola, some dropped out (cancelled or ended enrolment), some never started, a few moved out
during the period. The population baseline is an extract dated 30 days before `today`; each record
says since when the person has been folkbokförd in the municipality (most since birth, some moved
in later), as Navet does, so nobody looks as if they arrived on the extract's date. Personnummer are synthetic but valid (check digit), so nothing real is exposed.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from shared import personnummer

GIVEN = [
    "Alva",
    "Elsa",
    "Maja",
    "Wilma",
    "Ebba",
    "Noah",
    "Hugo",
    "Liam",
    "William",
    "Elias",
    "Sara",
    "Ali",
]
FAMILY = [
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Larsson",
    "Olsson",
    "Persson",
]
STREETS = ["Storgatan", "Skolvägen", "Kyrkogatan", "Björkvägen", "Järnvägsgatan"]
OTHER_MUNICIPALITY = "1480"  # Göteborg: where movers go


@dataclass(frozen=True)
class GeneratedFeeds:
    population: Path
    ss12000: Path
    youths: int
    population_records: int
    ss12000_records: int


def _birth_date(rng: random.Random, today: date) -> date:
    age_days = rng.randint(15 * 365 + 10, 21 * 365 + 300)
    return today - timedelta(days=age_days)


def _enrolments(rng: random.Random, today: date, age: int) -> list[dict[str, object]]:
    unit = {"id": str(uuid.UUID(int=rng.getrandbits(128))), "displayName": "Gymnasium"}
    programme = {"id": str(uuid.UUID(int=rng.getrandbits(128))), "displayName": "Programme"}
    roll = rng.random()
    if age < 16:
        return [{"enroledAt": unit, "schoolType": "GR", "schoolYear": 9, "cancelled": False}]
    if roll < 0.70:  # enrolled now (reference subset: no dates, observation time counts)
        return [
            {
                "enroledAt": unit,
                "schoolType": rng.choice(["GY", "GY", "GY", "GYS"]),
                "schoolYear": rng.randint(1, 3),
                "cancelled": False,
                "educationCode": "NA",
                "programme": programme,
            }
        ]
    if roll < 0.80:  # dropped out: the enrolment was cancelled
        return [
            {
                "enroledAt": unit,
                "schoolType": "GY",
                "cancelled": True,
                "educationCode": "EK",
                "programme": programme,
            }
        ]
    if roll < 0.88:  # SS 12000:2020 enrolment that ended before today
        return [
            {
                "enroledAt": unit,
                "schoolType": "GY",
                "cancelled": False,
                "educationCode": "SA",
                "startDate": (today - timedelta(days=700)).isoformat(),
                "endDate": (today - timedelta(days=rng.randint(1, 300))).isoformat(),
            }
        ]
    return []  # never started upper-secondary school


def generate(youths: int, tenant: str, seed: int, out: Path, today: date) -> GeneratedFeeds:
    """Write `population.jsonl` and `ss12000.jsonl` (feed envelopes, one per line) into `out`."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    out.mkdir(parents=True, exist_ok=True)
    observed = datetime.combine(today, datetime.min.time(), tzinfo=UTC).isoformat()
    pop_path, ss_path = out / "population.jsonl", out / "ss12000.jsonl"
    pop_count = ss_count = 0
    used: set[str] = set()
    with pop_path.open("w") as pop, ss_path.open("w") as ss:
        for _ in range(youths):
            born = _birth_date(rng, today)
            number = personnummer.generate(born, rng)
            while number in used:
                number = personnummer.generate(born, rng)
            used.add(number)
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            extract = today - timedelta(days=30)
            registered = born  # folkbokförd in the municipality since birth
            if rng.random() < 0.2:  # moved in some day between birth and the extract
                registered = born + timedelta(days=rng.randrange((extract - born).days + 1))
            record = {
                "personnummer": number,
                "given_name": given,
                "family_name": family,
                "address": {
                    "street": f"{rng.choice(STREETS)} {rng.randint(1, 80)}",
                    "postal_code": f"{rng.randint(100, 989)} {rng.randint(10, 99)}",
                    "city": "Stockholm",
                },
                "kommunkod": tenant,
                "birth_date": born.isoformat(),
                "protection_marking": rng.random() < 0.01,
                "change_type": "baseline",
                "effective_date": extract.isoformat(),
                "registered_in_municipality_on": registered.isoformat(),
            }
            if record["protection_marking"]:
                record["address"] = None
            pop.write(
                json.dumps(_envelope("population", tenant, observed, rng, record=record)) + "\n"
            )
            pop_count += 1
            if rng.random() < 0.03:  # moved to another municipality after the baseline
                moved = dict(
                    record,
                    kommunkod=OTHER_MUNICIPALITY,
                    change_type="moved_out",
                    registered_in_municipality_on=None,
                    effective_date=(today - timedelta(days=rng.randint(0, 20))).isoformat(),
                )
                pop.write(
                    json.dumps(_envelope("population", tenant, observed, rng, record=moved)) + "\n"
                )
                pop_count += 1
            age = personnummer.age_on(born, today)
            person = {
                "id": str(uuid.UUID(int=rng.getrandbits(128))),
                "givenName": given,
                "familyName": family,
                "civicNo": {"value": number, "nationality": "SE"},
                "enrolments": _enrolments(rng, today, age),
            }
            ss.write(json.dumps(_envelope("ss12000", tenant, observed, rng, person=person)) + "\n")
            ss_count += 1
    return GeneratedFeeds(pop_path, ss_path, youths, pop_count, ss_count)


def _envelope(
    feed: str, tenant: str, observed: str, rng: random.Random, **body: object
) -> dict[str, object]:
    return {
        "feed": feed,
        "schema_version": 1,
        "record_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "tenant": tenant,
        "observed_at": observed,
        **body,
    }
