"""The caseload (for the coordinator's team overview): how many open cases each caseworker and
team holds, and nobody — with how many of them wait past the municipality's first-contact limit
and have a stale occupation — and the open cases of one holder.

An open case is a youth in scope. Read from the cases table under row-level security; every value
from a request is a parameter.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from shared.isolation import TenantScoped
from shared.workdays import add_working_days


@dataclass
class Holding:
    """One holder's open cases (`assignee` None: the unassigned)."""

    assignee_kind: str | None
    assignee: str | None
    open: int = 0
    first_contact_overdue: int = 0
    stale_occupation: int = 0


@dataclass(frozen=True)
class HeldCase:
    youth_id: uuid.UUID
    entered_on: date | None
    assignee_kind: str | None
    assignee: str | None


def _holders_sql(schema: str) -> tuple[str, str]:
    table = f'"{schema}".cases'
    # The statements are assembled from the service's own schema name only.
    counted = (
        "SELECT assignee_kind, assignee, count(*) AS open, count(*) FILTER (WHERE"  # noqa: S608
        " occupation_confirmed_on IS NULL OR occupation_confirmed_on <= $2::date - $3::int)"
        f" AS stale FROM {table} WHERE tenant = $1 AND in_scope GROUP BY 1, 2"
    )
    waiting = (
        "SELECT assignee_kind, assignee, clock_from, count(*) AS waiting"  # noqa: S608
        f" FROM {table} WHERE tenant = $1 AND in_scope AND clock_from IS NOT NULL"
        " AND first_attempt_on IS NULL GROUP BY 1, 2, 3"
    )
    return counted, waiting


async def caseload(
    pool: asyncpg.Pool | TenantScoped, schema: str, tenant: str, today: date, rules: dict[str, int]
) -> list[Holding]:
    """Every holder's open cases, the most first (the unassigned among them). A first contact is
    overdue when today is past its due day (`domain.clock.contact_clock`'s `within_limit`):
    the clocks are grouped by the day they started, so each day's due day is reckoned once."""
    counted, waiting = _holders_sql(schema)
    limit = rules["first_contact_working_days"]
    async with pool.acquire() as conn:
        rows = await conn.fetch(counted, tenant, today, rules["occupation_currency_days"])
        clocks = await conn.fetch(waiting, tenant)
    held: dict[tuple[Any, Any], Holding] = {
        (r["assignee_kind"], r["assignee"]): Holding(
            r["assignee_kind"], r["assignee"], r["open"], 0, r["stale"]
        )
        for r in rows
    }
    due: dict[date, date] = {}
    for r in clocks:
        started: date = r["clock_from"]
        due.setdefault(started, add_working_days(started, limit))
        if today > due[started]:
            key = (r["assignee_kind"], r["assignee"])
            held.setdefault(key, Holding(*key)).first_contact_overdue += r["waiting"]
    return sorted(held.values(), key=lambda h: (-h.open, h.assignee or ""))


async def held_cases(
    pool: asyncpg.Pool | TenantScoped,
    schema: str,
    tenant: str,
    *,
    assignee: str | None,
    limit: int,
    offset: int,
) -> tuple[int, list[HeldCase]]:
    """The open cases of one holder (`assignee` None: the unassigned), the earliest in scope
    first, one page, and how many there are."""
    who = "assignee IS NULL" if assignee is None else "assignee = $2"
    params: list[Any] = [tenant] if assignee is None else [tenant, assignee]
    where = f'FROM "{schema}".cases WHERE tenant = $1 AND in_scope AND {who}'
    n = len(params)
    async with pool.acquire() as conn:
        total = await conn.fetchval(f"SELECT count(*) {where}", *params)
        rows = await conn.fetch(
            f"SELECT youth_id, entered_on, assignee_kind, assignee {where}"
            f" ORDER BY entered_on NULLS LAST, youth_id LIMIT ${n + 1} OFFSET ${n + 2}",
            *params, limit, offset,
        )  # fmt: skip
    return int(total), [
        HeldCase(r["youth_id"], r["entered_on"], r["assignee_kind"], r["assignee"]) for r in rows
    ]
