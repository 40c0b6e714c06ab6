"""When a youth's personal data is due for retention (gallring, DOMAIN.md section 7), and the
event that says it was purged.

A youth is due when their last scope episode ended at least the municipality's retention period
ago (default 730 days) and the SCB half-year containing that end has closed.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta

from services.register.domain.period import half_year_end
from shared.contracts.events import PersonalDataPurged

DEFAULT_RETENTION_DAYS = 730
_NAMESPACE = uuid.UUID("5b0d7c1e-2f9a-4f53-a1e8-6c7d0e9b3a21")


def retention_days(tenant: str, days: Mapping[str, int]) -> int:
    """The municipality's retention period in days (its own, or the default)."""
    return days.get(tenant, DEFAULT_RETENTION_DAYS)


def purge_event_id(tenant: str, youth_id: uuid.UUID) -> uuid.UUID:
    """The same for every run, so a repeated run publishes the same event (applied once)."""
    return uuid.uuid5(_NAMESPACE, f"{tenant}:{youth_id}:purged")


def is_due(left_on: date, retention_days: int, today: date) -> bool:
    return left_on + timedelta(days=retention_days) <= today and half_year_end(left_on) < today


def purged(
    tenant: str, youth_id: uuid.UUID, left_on: date, days: Mapping[str, int], now: datetime
) -> PersonalDataPurged:
    """The event that says the youth's personal data was purged (its data key destroyed)."""
    event_id = purge_event_id(tenant, youth_id)
    return PersonalDataPurged(
        event_id=event_id,
        tenant=tenant,
        youth_id=youth_id,
        occurred_at=now,
        recorded_at=now,
        actor="system:retention",
        correlation_id=event_id,
        left_on=left_on,
        retention_days=retention_days(tenant, days),
    )
