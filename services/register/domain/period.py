"""The half-years the register reports by (SCB's periods): 2026H1 is 1 January to 30 June 2026."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

PERIOD = re.compile(r"^(\d{4})H([12])$")


@dataclass(frozen=True)
class Period:
    name: str
    start: date
    end: date


def half_year(name: str) -> Period:
    """`2026H1` → 1 January to 30 June 2026; `2026H2` → 1 July to 31 December; a ValueError
    naming the field (never the value) for anything else."""
    match = PERIOD.match(name)
    if match is None:
        raise ValueError("period: not a half-year such as 2026H1 or 2026H2")
    year, half = int(match[1]), int(match[2])
    if not 2015 <= year <= 2100:
        raise ValueError("period: a year the register cannot hold (2015-2100)")
    if half == 1:
        return Period(name, date(year, 1, 1), date(year, 6, 30))
    return Period(name, date(year, 7, 1), date(year, 12, 31))


def half_year_end(day: date) -> date:
    """The last day of the half-year `day` is in."""
    return half_year(f"{day.year}H{1 if day.month <= 6 else 2}").end
