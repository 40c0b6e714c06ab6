"""The register's rows an SCB report is built from, for one municipality and half-year.

All are read in one repeatable-read, read-only transaction, so the report is built from one
consistent snapshot of the register; the youths' identities are opened in the same snapshot. A
scope episode registered in error is in no report (the youth is in none unless another episode
of theirs is); corrected and withdrawn entries are gone from the tables already.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from services.register.adapters.access import Database
from services.register.adapters.identity import identities
from services.register.domain.period import Period
from services.register.domain.scb.rows import (
    ContactDay,
    Episode,
    EventRange,
    Measure,
    Named,
    Occupation,
    ScbRows,
)
from shared import access_log
from shared.crypto import TenantKeys

EPISODES = """
SELECT youth_id, scope_episode_id, entered_on, left_on, left_reason, school_background
FROM scope_episodes
WHERE tenant = $1 AND entered_on <= $3 AND (left_on IS NULL OR left_on >= $2)
  AND left_reason IS DISTINCT FROM 'registered_in_error'
ORDER BY youth_id, entered_on, scope_episode_id
"""
CONTACT_DAYS = """
SELECT DISTINCT youth_id, day FROM (
    SELECT youth_id, (at AT TIME ZONE 'Europe/Stockholm')::date AS day
    FROM contact_log WHERE tenant = $1 AND kind = 'established' AND youth_id = ANY($2::uuid[])
    UNION ALL
    SELECT youth_id, (attempted_at AT TIME ZONE 'Europe/Stockholm')::date
    FROM contacts WHERE tenant = $1 AND outcome = 'reached' AND youth_id = ANY($2::uuid[])
) c
WHERE day BETWEEN $3 AND $4
ORDER BY youth_id, day
"""
OCCUPATIONS = """
SELECT youth_id, category, from_date, to_date, confirmed_on, event_id
FROM occupations WHERE tenant = $1 AND tense = 'current' AND youth_id = ANY($2::uuid[])
ORDER BY youth_id, event_id
"""
MEASURES = """
SELECT youth_id, measure_id, measure_type, started_on, ended_on, occupation_after
FROM measure_status
WHERE tenant = $1 AND youth_id = ANY($2::uuid[])
  AND (started_on BETWEEN $3 AND $4 OR ended_on BETWEEN $3 AND $4)
ORDER BY youth_id, measure_id
"""
POSITIONS = "SELECT topic, partition, next_offset FROM consumer_positions ORDER BY topic, partition"
APPLIED = "SELECT count(*) AS n, max(recorded_at) AS last FROM applied_events WHERE tenant = $1"
PURGED_IN_PERIOD = """
SELECT count(DISTINCT y.youth_id) FROM youths y JOIN scope_episodes e
    ON e.tenant = y.tenant AND e.youth_id = y.youth_id
WHERE y.tenant = $1 AND y.purged_at IS NOT NULL
  AND e.entered_on <= $3 AND (e.left_on IS NULL OR e.left_on >= $2)
  AND e.left_reason IS DISTINCT FROM 'registered_in_error'
"""


async def fetch_rows(pool: Database, keys: TenantKeys, tenant: str, period: Period) -> ScbRows:
    """The rows of every youth in scope at some time in `period`, with who they are."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        episodes = [
            Episode(**dict(r)) for r in await conn.fetch(EPISODES, tenant, period.start, period.end)
        ]
        youth_ids = sorted({e.youth_id for e in episodes})
        contacts = await conn.fetch(CONTACT_DAYS, tenant, youth_ids, period.start, period.end)
        occupations = await conn.fetch(OCCUPATIONS, tenant, youth_ids)
        measures = await conn.fetch(MEASURES, tenant, youth_ids, period.start, period.end)
        who = await identities(conn, keys, tenant, youth_ids)
        positions = await conn.fetch(POSITIONS)
        applied = await conn.fetchrow(APPLIED, tenant)
    assert applied is not None
    return ScbRows(
        episodes=tuple(episodes),
        contacts=tuple(ContactDay(**dict(r)) for r in contacts),
        occupations=tuple(Occupation(**dict(r)) for r in occupations),
        measures=tuple(Measure(**dict(r)) for r in measures),
        names={
            youth: Named(
                identity.state, identity.details.personnummer if identity.details else None
            )
            for youth, identity in who.items()
        },
        event_range=EventRange(
            positions={f"{r['topic']}/{r['partition']}": r["next_offset"] for r in positions},
            tenant_events=applied["n"],
            last_recorded_at=applied["last"].isoformat() if applied["last"] else None,
        ),
    )


async def record_reading(
    pool: Database, reader: access_log.Access, youth_ids: Sequence[uuid.UUID]
) -> None:
    """One access-log entry per youth whose identity was opened for the report."""
    async with pool.acquire() as conn:
        await access_log.record(conn, reader, youth_ids)


async def purged_in_period(pool: Database, tenant: str, period: Period) -> int:
    """How many youths in scope during `period` have had their personal data purged."""
    purged: int = await pool.fetchval(PURGED_IN_PERIOD, tenant, period.start, period.end)
    return purged
