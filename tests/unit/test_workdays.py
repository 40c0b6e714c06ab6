"""Swedish working days: holidays by law, the eves that are days off, and the clock arithmetic."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.workdays import (
    add_working_days,
    days_off,
    easter_sunday,
    is_working_day,
    working_days_between,
)


@pytest.mark.parametrize(
    ("year", "easter"),
    [(2019, date(2019, 4, 21)), (2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)),
     (2026, date(2026, 4, 5)), (2027, date(2027, 3, 28))],
)  # fmt: skip
def test_easter_sunday(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter


def test_the_days_off_of_2026() -> None:
    off = {d: name for d, name in days_off(2026).items()}
    assert off[date(2026, 4, 3)] == "långfredagen"
    assert off[date(2026, 4, 6)] == "annandag påsk"
    assert off[date(2026, 5, 14)] == "Kristi himmelsfärdsdag"
    assert off[date(2026, 6, 19)] == "midsommarafton"
    assert off[date(2026, 6, 20)] == "midsommardagen"
    assert off[date(2026, 10, 31)] == "alla helgons dag"
    assert len(off) == 16
    assert not is_working_day(date(2026, 6, 6))  # nationaldagen, a Saturday anyway
    assert not is_working_day(date(2026, 12, 24))
    assert is_working_day(date(2026, 12, 23))


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2026, 3, 2), date(2026, 3, 2), 0),  # the same day
        (date(2026, 3, 2), date(2026, 3, 9), 5),  # Monday to Monday
        (date(2026, 3, 6), date(2026, 3, 9), 1),  # Friday to Monday
        (date(2026, 4, 2), date(2026, 4, 7), 1),  # over Easter
        (date(2026, 12, 23), date(2027, 1, 4), 4),  # over Christmas and New Year
        (date(2026, 3, 9), date(2026, 3, 2), 0),  # backwards
    ],
)
def test_working_days_between(start: date, end: date, expected: int) -> None:
    assert working_days_between(start, end) == expected


@given(
    st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31)),
    st.integers(min_value=0, max_value=400),
)
def test_counting_agrees_with_walking_day_by_day(start: date, span: int) -> None:
    end = start + timedelta(days=span)
    walked = sum(1 for n in range(1, span + 1) if is_working_day(start + timedelta(days=n)))
    assert working_days_between(start, end) == walked


@given(
    st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31)),
    st.integers(min_value=0, max_value=60),
)
def test_adding_working_days_is_the_inverse_of_counting(start: date, days: int) -> None:
    later = add_working_days(start, days)
    assert working_days_between(start, later) == days
    assert days == 0 or is_working_day(later)
