"""What day it is for casework, and the dates a recording of something that happened may carry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from shared.casework.commands import CaseClock
from shared.casework.domain import CommandRefused
from shared.dates import ImplausibleDate


def test_the_day_is_the_fixed_one_when_the_settings_fix_it() -> None:
    assert CaseClock(date(2026, 3, 2)).today() == date(2026, 3, 2)
    assert abs(CaseClock().today() - datetime.now(UTC).date()) <= timedelta(days=1)


def test_a_moment_more_than_five_minutes_ahead_is_in_the_future() -> None:
    clock = CaseClock()
    clock.check_past("attempted_at", datetime.now(UTC) + timedelta(minutes=4))  # clock skew
    with pytest.raises(CommandRefused) as refused:
        clock.check_past("attempted_at", datetime.now(UTC) + timedelta(minutes=6))
    assert (refused.value.field, refused.value.reason) == ("attempted_at", "is in the future")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (date(2026, 3, 3), "is in the future"),
        (datetime(2026, 3, 3, 9, tzinfo=UTC), "is in the future"),
        (date(2014, 12, 31), "is before 2015-01-01, when the activity responsibility began"),
        (date(1899, 12, 31), "is before 1900"),
    ],
)
def test_a_day_after_the_fixed_today_or_before_the_law_is_refused(
    value: date | datetime, reason: str
) -> None:
    with pytest.raises(ImplausibleDate) as refused:
        CaseClock(date(2026, 3, 2)).check_past("on", value)
    assert (refused.value.field, refused.value.reason) == ("on", reason)


def test_planned_casework_may_lie_ahead_but_not_before_the_law() -> None:
    CaseClock.check_dates({"follow_up_on": date(2031, 1, 1), "evaluation_on": None})
    with pytest.raises(ImplausibleDate) as refused:
        CaseClock.check_dates({"follow_up_on": date(2026, 4, 1), "valid_from": date(2014, 1, 1)})
    assert refused.value.field == "valid_from"


def test_now_is_on_the_fixed_day_and_passes_its_own_check() -> None:
    # Before: letters' e-mail and "sent" defaulted to the machine's clock, which a fixed earlier
    # day refused as "in the future" (tests, demos).
    clock = CaseClock(date(2026, 3, 2))
    now = clock.now()
    assert now.date() == date(2026, 3, 2)
    assert now.tzinfo is not None
    clock.check_past("at", now)
    assert abs(CaseClock().now() - datetime.now(UTC)) < timedelta(seconds=5)
