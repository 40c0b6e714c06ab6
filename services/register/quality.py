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
- stale records: in scope at the end of the half-year (or today, if sooner) with no occupation
  confirmed within the currency limit;
- never contacted: no contact attempt at all.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.register.access import Database
from shared.workdays import working_days_between

PERIOD = re.compile(r"^(\d{4})H([12])$")
DEFAULT_CURRENCY_DAYS = 90


@dataclass(frozen=True)
class Period:
    name: str
    start: date
    end: date


def half_year(name: str) -> Period:
    """`2026H1` → 1 January to 30 June 2026; `2026H2` → 1 July to 31 December."""
    match = PERIOD.match(name)
    if match is None:
        raise ValueError("period: not a half-year such as 2026H1 or 2026H2")
    year, half = int(match[1]), int(match[2])
    if not 2015 <= year <= 2100:
        raise ValueError("period: a year the register cannot hold (2015-2100)")
    if half == 1:
        return Period(name, date(year, 1, 1), date(year, 6, 30))
    return Period(name, date(year, 7, 1), date(year, 12, 31))


_IN_PERIOD = """
SELECT e.youth_id,
       min(e.entered_on) AS first_entered,
       max(LEAST(COALESCE(e.left_on, $3::date), $3::date)) AS last_day,
       bool_or(e.left_on IS NULL OR e.left_on > $3::date) AS in_scope_at_end
FROM scope_episodes e
WHERE e.tenant = $1 AND e.entered_on <= $3::date AND (e.left_on IS NULL OR e.left_on >= $2::date)
GROUP BY e.youth_id
"""
_EPISODES_BEGUN = """
SELECT youth_id, known_on,
       (SELECT min((c.attempted_at AT TIME ZONE 'Europe/Stockholm')::date)
          FROM contacts c
         WHERE c.tenant = e.tenant AND c.youth_id = e.youth_id
           AND (c.attempted_at AT TIME ZONE 'Europe/Stockholm')::date >= e.entered_on
       ) AS first_attempt
FROM (SELECT *, GREATEST(entered_on, COALESCE(identified_on, entered_on)) AS known_on
        FROM scope_episodes) e
WHERE e.tenant = $1 AND e.known_on BETWEEN $2::date AND $3::date
"""


async def quality(
    pool: Database,
    tenant: str,
    period: Period,
    today: date,
    currency_days: int = DEFAULT_CURRENCY_DAYS,
) -> dict[str, Any]:
    end = min(period.end, today)
    async with pool.acquire() as conn:
        youths = {r["youth_id"]: r for r in await conn.fetch(_IN_PERIOD, tenant, period.start, end)}
        ids = list(youths)
        contacted_in_period = {
            r["youth_id"]
            for r in await conn.fetch(
                "SELECT DISTINCT youth_id FROM contacts WHERE tenant = $1"
                " AND youth_id = ANY($2::uuid[])"
                " AND (attempted_at AT TIME ZONE 'Europe/Stockholm')::date BETWEEN $3 AND $4",
                tenant, ids, period.start, end,
            )
        }  # fmt: skip
        ever_contacted = {
            r["youth_id"]
            for r in await conn.fetch(
                "SELECT DISTINCT youth_id FROM contacts WHERE tenant = $1"
                " AND youth_id = ANY($2::uuid[])",
                tenant, ids,
            )
        }  # fmt: skip
        offered = {
            r["youth_id"]
            for r in await conn.fetch(
                "SELECT DISTINCT youth_id FROM measures WHERE tenant = $1"
                " AND youth_id = ANY($2::uuid[]) AND offered_on BETWEEN $3 AND $4",
                tenant, ids, period.start, end,
            )
        }  # fmt: skip
        confirmations: dict[Any, list[date]] = {}
        for r in await conn.fetch(
            "SELECT youth_id, confirmed_on FROM occupations WHERE tenant = $1"
            " AND youth_id = ANY($2::uuid[]) AND confirmed_on <= $3",
            tenant, ids, end,
        ):  # fmt: skip
            confirmations.setdefault(r["youth_id"], []).append(r["confirmed_on"])
        begun = await conn.fetch(_EPISODES_BEGUN, tenant, period.start, end)

    def known_on(youth_id: Any, day: date) -> bool:
        return any(0 <= (day - c).days <= currency_days for c in confirmations.get(youth_id, []))

    total = len(youths)
    known = sum(1 for y, r in youths.items() if known_on(y, r["last_day"]))
    at_end = [y for y, r in youths.items() if r["in_scope_at_end"]]
    waits = [
        working_days_between(r["known_on"], r["first_attempt"])
        for r in begun
        if r["first_attempt"] is not None
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
        "known_occupation_share": share(known),
        "contacted_share": share(len(contacted_in_period)),
        "measure_share": share(len(offered)),
        "median_working_days_to_first_attempt": statistics.median(waits) if waits else None,
        "episodes_begun": len(begun),
        "episodes_begun_without_attempt": len(begun) - len(waits),
        "stale_records": sum(1 for y in at_end if not known_on(y, end)),
        "never_contacted": sum(1 for y in youths if y not in ever_contacted),
    }
