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
     (2026, date(2026, 4, 5)), (2027, date(2027, 3, 28)),
     # The edges of the Gregorian computus: the earliest and latest Easter Sundays, and the years
     # where the lunar corrections decide (1954, 1981, 2049: the 19 and 18 April exceptions).
     (1700, date(1700, 4, 11)), (1818, date(1818, 3, 22)), (1886, date(1886, 4, 25)),
     (1943, date(1943, 4, 25)), (1954, date(1954, 4, 18)), (1981, date(1981, 4, 19)),
     (2038, date(2038, 4, 25)), (2049, date(2049, 4, 18)), (2285, date(2285, 3, 22)),
     (3165, date(3165, 4, 18))],
)  # fmt: skip
def test_easter_sunday(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter


# The days off of lag (1989:253) om allmänna helgdagar (Sundays aside) and the three eves, in this
# order; each year's dates written out from the almanac.
NAMES = (
    "nyårsdagen", "trettondedag jul", "långfredagen", "påskdagen", "annandag påsk", "första maj",
    "Kristi himmelsfärdsdag", "pingstdagen", "Sveriges nationaldag", "midsommarafton",
    "midsommardagen", "alla helgons dag", "julafton", "juldagen", "annandag jul", "nyårsafton",
)  # fmt: skip
ALMANAC = {
    2024: "01-01 01-06 03-29 03-31 04-01 05-01 05-09 05-19 06-06 06-21 06-22 11-02 12-24 12-25 12-26 12-31",
    2025: "01-01 01-06 04-18 04-20 04-21 05-01 05-29 06-08 06-06 06-20 06-21 11-01 12-24 12-25 12-26 12-31",
    2026: "01-01 01-06 04-03 04-05 04-06 05-01 05-14 05-24 06-06 06-19 06-20 10-31 12-24 12-25 12-26 12-31",
    2027: "01-01 01-06 03-26 03-28 03-29 05-01 05-06 05-16 06-06 06-25 06-26 11-06 12-24 12-25 12-26 12-31",
    2028: "01-01 01-06 04-14 04-16 04-17 05-01 05-25 06-04 06-06 06-23 06-24 11-04 12-24 12-25 12-26 12-31",
    2029: "01-01 01-06 03-30 04-01 04-02 05-01 05-10 05-20 06-06 06-22 06-23 11-03 12-24 12-25 12-26 12-31",
    2030: "01-01 01-06 04-19 04-21 04-22 05-01 05-30 06-09 06-06 06-21 06-22 11-02 12-24 12-25 12-26 12-31",
    2038: "01-01 01-06 04-23 04-25 04-26 05-01 06-03 06-13 06-06 06-25 06-26 11-06 12-24 12-25 12-26 12-31",
    # Pingstdagen falls on nationaldagen: one day off, named for the later entry.
    2049: "01-01 01-06 04-16 04-18 04-19 05-01 05-27 06-06 06-06 06-25 06-26 11-06 12-24 12-25 12-26 12-31",
}  # fmt: skip


def almanac(year: int) -> dict[date, str]:
    days = [date.fromisoformat(f"{year}-{day}") for day in ALMANAC[year].split()]
    return dict(zip(days, NAMES, strict=True))


@pytest.mark.parametrize("year", sorted(ALMANAC))
def test_every_day_off_of_the_year(year: int) -> None:
    assert days_off(year) == almanac(year)
    for day, name in almanac(year).items():
        assert not is_working_day(day), name


@pytest.mark.parametrize("year", sorted(ALMANAC))
def test_annandag_pingst_is_a_working_day_since_2005(year: int) -> None:
    pingst = date.fromisoformat(f"{year}-{ALMANAC[year].split()[NAMES.index('pingstdagen')]}")
    monday = pingst + timedelta(days=1)
    assert monday.weekday() == 0
    assert is_working_day(monday)
    assert working_days_between(pingst - timedelta(days=2), monday) == 1, "Friday to Monday"


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
