"""What the data-quality figures count, read from the register (`domain/quality.py` counts it).

A scope episode registered in error counts nowhere; corrected and withdrawn entries are gone from
the tables read here already (the projection keeps the corrected truth)."""

from __future__ import annotations

import uuid
from datetime import date

from services.register.adapters.access import Database
from services.register.domain.period import Period
from services.register.domain.quality import EpisodeBegun, InScope, QualityFacts

_IN_PERIOD = """
SELECT e.youth_id,
       min(e.entered_on) AS first_entered,
       max(LEAST(COALESCE(e.left_on, $3::date), $3::date)) AS last_day,
       bool_or(e.left_on IS NULL OR e.left_on > $3::date) AS in_scope_at_end
FROM scope_episodes e
WHERE e.tenant = $1 AND e.entered_on <= $3::date AND (e.left_on IS NULL OR e.left_on >= $2::date)
  AND e.left_reason IS DISTINCT FROM 'registered_in_error'
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
  AND e.left_reason IS DISTINCT FROM 'registered_in_error'
"""
_CONTACTED_IN_PERIOD = """
SELECT DISTINCT youth_id FROM contacts WHERE tenant = $1 AND youth_id = ANY($2::uuid[])
  AND (attempted_at AT TIME ZONE 'Europe/Stockholm')::date BETWEEN $3 AND $4
"""
_EVER_CONTACTED = (
    "SELECT DISTINCT youth_id FROM contacts WHERE tenant = $1 AND youth_id = ANY($2::uuid[])"
)
_OFFERED_IN_PERIOD = """
SELECT DISTINCT youth_id FROM measures WHERE tenant = $1 AND youth_id = ANY($2::uuid[])
  AND offered_on BETWEEN $3 AND $4
"""
_CONFIRMED = """
SELECT youth_id, confirmed_on FROM occupations WHERE tenant = $1 AND youth_id = ANY($2::uuid[])
  AND confirmed_on <= $3
"""


async def quality_facts(database: Database, tenant: str, period: Period, end: date) -> QualityFacts:
    """The youths in scope in the half-year up to `end`, and their contacts, offers,
    confirmations and the episodes the municipality learnt of."""
    async with database.acquire() as conn:
        rows = await conn.fetch(_IN_PERIOD, tenant, period.start, end)
        youths = {r["youth_id"]: InScope(r["last_day"], r["in_scope_at_end"]) for r in rows}
        ids = list(youths)

        async def youth_ids(statement: str, *args: object) -> set[uuid.UUID]:
            return {r["youth_id"] for r in await conn.fetch(statement, tenant, ids, *args)}

        contacted = await youth_ids(_CONTACTED_IN_PERIOD, period.start, end)
        ever = await youth_ids(_EVER_CONTACTED)
        offered = await youth_ids(_OFFERED_IN_PERIOD, period.start, end)
        confirmations: dict[uuid.UUID, list[date]] = {}
        for r in await conn.fetch(_CONFIRMED, tenant, ids, end):
            confirmations.setdefault(r["youth_id"], []).append(r["confirmed_on"])
        begun = [
            EpisodeBegun(r["known_on"], r["first_attempt"])
            for r in await conn.fetch(_EPISODES_BEGUN, tenant, period.start, end)
        ]
    return QualityFacts(youths, contacted, ever, offered, confirmations, begun)
