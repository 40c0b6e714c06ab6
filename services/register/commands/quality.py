"""Data quality: a municipality's figures for a half-year (the rules are `domain/quality.py`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.register.adapters.access import Database
from services.register.adapters.quality import quality_facts
from services.register.domain.period import Period
from services.register.domain.quality import DEFAULT_CURRENCY_DAYS, figures


async def quality(
    database: Database,
    tenant: str,
    period: Period,
    today: date,
    currency_days: int = DEFAULT_CURRENCY_DAYS,
) -> dict[str, Any]:
    """The municipality's data-quality figures for a half-year (up to today, if sooner)."""
    end = min(period.end, today)
    facts = await quality_facts(database, tenant, period, end)
    return figures(facts, tenant, period, end, currency_days)
