"""When retention is due, and the event that says a youth's personal data was purged."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from services.register.domain.period import half_year_end
from services.register.domain.retention import (
    DEFAULT_RETENTION_DAYS,
    is_due,
    purge_event_id,
    purged,
    retention_days,
)


@pytest.mark.parametrize(
    ("left_on", "days", "today", "due"),
    [
        (date(2024, 2, 29), 730, date(2026, 2, 27), False),  # one day short
        (date(2024, 2, 29), 730, date(2026, 2, 28), True),  # 730 days on (2024 was a leap year)
        (date(2026, 3, 1), 30, date(2026, 4, 15), False),  # the half-year has not closed
        (date(2026, 3, 1), 30, date(2026, 7, 1), True),
    ],
)
def test_retention_is_due_after_the_period_and_once_the_half_year_closed(
    left_on: date, days: int, today: date, due: bool
) -> None:
    assert is_due(left_on, days, today) is due


def test_half_year_ends_and_purge_ids_are_stable() -> None:
    assert half_year_end(date(2026, 6, 30)) == date(2026, 6, 30)
    assert half_year_end(date(2026, 7, 1)) == date(2026, 12, 31)
    youth = uuid.UUID(int=9)
    assert purge_event_id("0180", youth) == purge_event_id("0180", youth)
    assert purge_event_id("0180", youth) != purge_event_id("0181", youth)


def test_a_municipality_without_its_own_period_keeps_the_default() -> None:
    assert retention_days("0180", {"0181": 365}) == DEFAULT_RETENTION_DAYS == 730
    assert retention_days("0181", {"0181": 365}) == 365


def test_the_purge_event_names_the_youth_its_period_and_no_person() -> None:
    youth, now = uuid.UUID(int=9), datetime(2026, 7, 1, 3, tzinfo=UTC)
    event = purged("0181", youth, date(2024, 2, 29), {"0181": 365}, now)
    assert (event.event_id, event.correlation_id) == (purge_event_id("0181", youth),) * 2
    assert (event.tenant, event.youth_id, event.left_on) == ("0181", youth, date(2024, 2, 29))
    assert (event.retention_days, event.actor, event.recorded_at) == (365, "system:retention", now)
