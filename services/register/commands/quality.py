"""Data quality: a municipality's figures for a half-year (the rules are `domain/quality.py`).

The figures are a function of the register's content, the half-year and the day: kept for the
last few asks in this process, by what the register held (its schema, and the municipality's
applied events: their count and the last position; the table itself, so a rebuilt register
swapped in under the same name is another), so a coordinator's page asked again, or four
half-years asked at once again, costs a count rather than the queries.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import date
from typing import Any

from services.register.adapters.access import Database
from services.register.adapters.quality import quality_facts
from services.register.domain.period import Period
from services.register.domain.quality import DEFAULT_CURRENCY_DAYS, figures

KEPT = 64
_VERSION = (
    "SELECT current_database() || '.' || current_schema() AS place, "
    "'applied_events'::regclass::oid::bigint AS archive, count(*) AS n, "
    "coalesce(max(position), 0) AS last FROM applied_events WHERE tenant = $1"
)
_kept: OrderedDict[tuple[object, ...], dict[str, Any]] = OrderedDict()


async def quality(
    database: Database,
    tenant: str,
    period: Period,
    today: date,
    currency_days: int = DEFAULT_CURRENCY_DAYS,
) -> dict[str, Any]:
    """The municipality's data-quality figures for a half-year (up to today, if sooner)."""
    end = min(period.end, today)
    async with database.acquire() as conn:
        version = await conn.fetchrow(_VERSION, tenant)
    assert version is not None
    key = (tuple(version), tenant, period, end, currency_days)
    found = _kept.get(key)
    if found is not None:
        _kept.move_to_end(key)
        return found
    facts = await quality_facts(database, tenant, period, end)
    made = figures(facts, tenant, period, end, currency_days)
    _kept[key] = made
    while len(_kept) > KEPT:
        _kept.popitem(last=False)
    return made
