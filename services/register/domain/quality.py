"""Data-quality figures of a municipality's register for a half-year (DOMAIN.md sections 4 and 6).

The youths counted are those in scope at any time during the half-year. Figures:
- youths in scope;
- share with a known occupation: an occupation confirmed within the currency limit before the end
  of their time in scope in the half-year;
- share contacted: at least one contact attempt during the half-year;
- share with a measure: at least one measure offered during the half-year;
- median working days from when the municipality could know of an episode (its identification;
  the entry date where the episode began later, or for events from before identification was
  dated) to the first contact attempt, for episodes known in the half-year that have had an
  attempt (and how many have had none) — the municipality's response, not how long ago the youth
  became entitled;
- the distribution of those working days (`first_attempt_waits`: how many episodes had their
  first attempt after each number of working days), to draw against the municipality's limit;
- stale records: in scope at the end of the half-year (or today, if sooner) with no occupation
  confirmed within the currency limit;
- never contacted: no contact attempt at all.
"""

from __future__ import annotations

import statistics
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.register.domain.period import Period
from shared.workdays import working_days_between

DEFAULT_CURRENCY_DAYS = 90


@dataclass(frozen=True)
class InScope:
    """A youth in scope at some time in the half-year."""

    last_day: date  # their last day in scope within it (or its end)
    at_end: bool  # still in scope at its end


@dataclass(frozen=True)
class EpisodeBegun:
    """An episode the municipality could know of in the half-year, from `known_on`."""

    known_on: date
    first_attempt: date | None


@dataclass(frozen=True)
class QualityFacts:
    """What the register holds that the figures count (read by `adapters/quality.py`)."""

    youths: dict[uuid.UUID, InScope]
    contacted_in_period: set[uuid.UUID] = field(default_factory=set)
    ever_contacted: set[uuid.UUID] = field(default_factory=set)
    offered_in_period: set[uuid.UUID] = field(default_factory=set)
    confirmations: dict[uuid.UUID, list[date]] = field(default_factory=dict)
    begun: list[EpisodeBegun] = field(default_factory=list)


def figures(
    facts: QualityFacts, tenant: str, period: Period, end: date, currency_days: int
) -> dict[str, Any]:
    """The half-year's figures up to `end` (its last day, or today if sooner)."""
    youths = facts.youths

    def known_on(youth_id: uuid.UUID, day: date) -> bool:
        confirmed = facts.confirmations.get(youth_id, [])
        return any(0 <= (day - c).days <= currency_days for c in confirmed)

    total = len(youths)
    waits = [
        working_days_between(e.known_on, e.first_attempt)
        for e in facts.begun
        if e.first_attempt is not None
    ]

    def share(count: int) -> float | None:
        return round(count / total, 4) if total else None

    return {
        "tenant": tenant,
        "period": period.name,
        "from": period.start,
        "to": end,
        "currency_days": currency_days,
        "youths_in_scope": total,
        "known_occupation_share": share(
            sum(1 for y, r in youths.items() if known_on(y, r.last_day))
        ),
        "contacted_share": share(len(facts.contacted_in_period)),
        "measure_share": share(len(facts.offered_in_period)),
        "median_working_days_to_first_attempt": statistics.median(waits) if waits else None,
        "first_attempt_waits": [
            {"working_days": days, "episodes": count}
            for days, count in sorted(Counter(waits).items())
        ],
        "episodes_begun": len(facts.begun),
        "episodes_begun_without_attempt": len(facts.begun) - len(waits),
        "stale_records": sum(1 for y, r in youths.items() if r.at_end and not known_on(y, end)),
        "never_contacted": sum(1 for y in youths if y not in facts.ever_contacted),
    }
