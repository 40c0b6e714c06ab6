"""Read side of the register: every query is scoped to one tenant (the caller's)."""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal

import asyncpg

YouthStatus = Literal["in_scope", "out_of_scope"]

_LIST = """
SELECT y.youth_id, y.status, y.scope_episode_id, y.entered_on, y.scope_ends_on, y.left_on,
       y.left_reason, y.rule_version,
       (SELECT count(*) FROM contacts c
         WHERE c.tenant = y.tenant AND c.youth_id = y.youth_id) AS contacts,
       (SELECT count(*) FROM measures m
         WHERE m.tenant = y.tenant AND m.youth_id = y.youth_id) AS measures
FROM youths y
WHERE y.tenant = $1 AND ($2::text IS NULL OR y.status = $2)
ORDER BY y.entered_on, y.youth_id
LIMIT $3 OFFSET $4
"""


async def list_youths(
    pool: asyncpg.Pool, tenant: str, status: YouthStatus | None, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    total = await pool.fetchval(
        "SELECT count(*) FROM youths WHERE tenant = $1 AND ($2::text IS NULL OR status = $2)",
        tenant,
        status,
    )
    rows = await pool.fetch(_LIST, tenant, status, limit, offset)
    return int(total), [dict(row) for row in rows]


async def youth_timeline(
    pool: asyncpg.Pool, tenant: str, youth_id: uuid.UUID
) -> dict[str, Any] | None:
    async with pool.acquire() as conn:
        youth = await conn.fetchrow(
            "SELECT * FROM youths WHERE tenant = $1 AND youth_id = $2", tenant, youth_id
        )
        contacts = await conn.fetch(
            "SELECT contact_attempt_id, channel, outcome, attempted_at, actor FROM contacts "
            "WHERE tenant = $1 AND youth_id = $2 ORDER BY attempted_at",
            tenant,
            youth_id,
        )
        measures = await conn.fetch(
            "SELECT measure_id, measure_type, offered_on, can_start_on, actor FROM measures "
            "WHERE tenant = $1 AND youth_id = $2 ORDER BY offered_on",
            tenant,
            youth_id,
        )
        episodes = await conn.fetch(
            "SELECT scope_episode_id, entered_on, scope_ends_on, entered_rule_version, left_on, "
            "left_reason, left_rule_version FROM scope_episodes "
            "WHERE tenant = $1 AND youth_id = $2 ORDER BY entered_on",
            tenant,
            youth_id,
        )
        more = {
            name: [dict(r) for r in await conn.fetch(sql, tenant, youth_id)]
            for name, sql in _MORE.items()
        }
    if youth is None and not contacts and not measures:
        return None
    assignment = more.pop("assignment")
    for revision in more["plan_revisions"]:
        revision["mapping"] = json.loads(revision["mapping"])
        revision["efforts"] = json.loads(revision["efforts"])
    return {
        "youth_id": youth_id,
        "status": youth["status"] if youth else None,
        "scope_episodes": [dict(r) for r in episodes],
        "contacts": [dict(r) for r in contacts],
        "measures": [dict(r) for r in measures],
        "assignment": assignment[0] if assignment else None,
        **more,
    }


# The rest of a youth's register content, oldest first.
_MORE = {
    "contact_log": "SELECT kind, at, channel, actor FROM contact_log"
    " WHERE tenant = $1 AND youth_id = $2 ORDER BY at",
    "occupations": "SELECT occupation_id, category, code_list_version, tense, from_date, to_date,"
    " confirmed_on, actor FROM occupations WHERE tenant = $1 AND youth_id = $2"
    " ORDER BY confirmed_on, from_date",
    "measure_status": "SELECT measure_id, measure_type, state, offers, offered_on, accepted_on,"
    " declined_on, started_on, ended_on, end_reason, occupation_after FROM measure_status"
    " WHERE tenant = $1 AND youth_id = $2 ORDER BY offered_on",
    "plan_revisions": "SELECT revision, valid_from, goal, mapping::text AS mapping,"
    " efforts::text AS efforts, follow_up_on, evaluation_on, actor, recorded_at"
    " FROM plan_revisions WHERE tenant = $1 AND youth_id = $2 ORDER BY revision",
    "objections": "SELECT objected_on, actor FROM objections"
    " WHERE tenant = $1 AND youth_id = $2 ORDER BY objected_on",
    "assignment": "SELECT assignee_kind, assignee, assigned_at FROM assignments"
    " WHERE tenant = $1 AND youth_id = $2",
}


async def summary(pool: asyncpg.Pool, tenant: str) -> dict[str, int]:
    row = await pool.fetchrow(
        """
        SELECT
          (SELECT count(*) FROM youths WHERE tenant = $1) AS known,
          (SELECT count(*) FROM youths WHERE tenant = $1 AND status = 'in_scope') AS in_scope,
          (SELECT count(*) FROM youths WHERE tenant = $1 AND status = 'out_of_scope')
              AS left_scope,
          (SELECT count(*) FROM scope_episodes WHERE tenant = $1) AS scope_episodes,
          (SELECT count(DISTINCT youth_id) FROM contacts WHERE tenant = $1) AS contacted,
          (SELECT count(*) FROM contacts WHERE tenant = $1) AS contact_attempts,
          (SELECT count(DISTINCT youth_id) FROM measures WHERE tenant = $1) AS offered,
          (SELECT count(*) FROM measures WHERE tenant = $1) AS measure_offers
        """,
        tenant,
    )
    assert row is not None
    return {key: int(value) for key, value in dict(row).items()}
