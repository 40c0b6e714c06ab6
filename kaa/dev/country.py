"""A synthetic country for the national benchmark (development only; not in the wheel).

`generate_country` writes the feed files of all 290 municipalities: persons of 15–20 years, each
folkbokförd in one municipality (sizes follow a Zipf curve: Stockholm, Göteborg and Malmö first),
everyone in SS 12000 (the school records), then a month of daily changes (moves between
municipalities, address changes, enrolments ending and starting) and the school notifications
sent over the month. The shares are near the country's: about 95 % of those past compulsory
school and under 20 are enrolled in gymnasieskola, so a few per cent of the persons are in the
activity responsibility's scope.

Files are written as the persons are made (never a list of them): `population/` and `ss12000/`
hold `00-baseline.jsonl` and one file per day (`day-01.jsonl` … `day-30.jsonl`, observed that
day), to be published in name order; `notifications.jsonl` holds school notifications (the HTTP
body of identify's `/v1/school-notifications` and the municipality it is sent to). The generator
also counts, per municipality, the youths in scope on `today` after the feeds
(`expected_after_feeds`) and after the notifications too (`expected_in_scope`): what the
register must hold. `expected.jsonl` says the same per person (their personnummer, where they
are expected in scope and the story of why), so a run that ends with other counts can name the
persons who differ (`kaa.dev.country_check`); it holds personnummer, so it stays in the run's
private directory. Record shapes are those of `kaa.dev.synthetic_feeds`. Deterministic for a
seed; personnummer are synthetic but valid.

The parts: the municipalities and their sizes (`country_places`), the scope rules as the
generator applies them (`country_rules`), the persons and their month (`country_persons`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from contextlib import ExitStack
from datetime import date
from pathlib import Path

from kaa.dev.country_persons import DAYS, Country, Files, Person, Shares
from kaa.dev.country_places import KOMMUNKODER, LARGEST, picker
from kaa.dev.country_rules import in_scope_on, scope_reason

__all__ = [
    "DAYS",
    "KOMMUNKODER",
    "LARGEST",
    "Country",
    "Shares",
    "generate_country",
    "in_scope_on",
    "scope_reason",
]


def generate_country(
    persons: int,
    seed: int,
    out: Path,
    today: date,
    *,
    shares: Shares | None = None,
    progress: Callable[[int], None] | None = None,
) -> Country:
    """Write the country's feeds and notifications into `out` (see the module's docstring);
    `progress` hears the count of persons written every 50,000."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    country = Country(out, persons, today)
    country.expected_after_feeds = dict.fromkeys(KOMMUNKODER, 0)
    country.expected_in_scope = dict.fromkeys(KOMMUNKODER, 0)
    pick = picker(rng)
    used: set[str] = set()
    with ExitStack() as stack:
        files = Files(stack, out)
        for n in range(persons):
            Person(rng, country, pick(), used, shares or Shares()).write(files, pick)
            if progress is not None and (n + 1) % 50_000 == 0:
                progress(n + 1)
    return country
