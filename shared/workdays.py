"""Swedish working days: the calendar the casework clocks count in (DOMAIN.md section 4).

Public holidays are those of lag (1989:253) om allmänna helgdagar; midsommarafton, julafton and
nyårsafton are not holidays in law but are days off under the municipal collective agreements, so
they do not count as working days either. Saturdays and Sundays never do.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache, lru_cache


def easter_sunday(year: int) -> date:
    """Påskdagen (the anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _weekday_between(year: int, month: int, first_day: int, weekday: int) -> date:
    """The first `weekday` (0 = Monday) on or after the given day."""
    start = date(year, month, first_day)
    return start + timedelta(days=(weekday - start.weekday()) % 7)


@cache
def days_off(year: int) -> dict[date, str]:
    """Public holidays and the three eves that are days off, with their Swedish names."""
    easter = easter_sunday(year)
    midsummer_day = _weekday_between(year, 6, 20, 5)
    return {
        date(year, 1, 1): "nyårsdagen",
        date(year, 1, 6): "trettondedag jul",
        easter - timedelta(days=2): "långfredagen",
        easter: "påskdagen",
        easter + timedelta(days=1): "annandag påsk",
        date(year, 5, 1): "första maj",
        easter + timedelta(days=39): "Kristi himmelsfärdsdag",
        easter + timedelta(days=49): "pingstdagen",
        date(year, 6, 6): "Sveriges nationaldag",
        midsummer_day - timedelta(days=1): "midsommarafton",
        midsummer_day: "midsommardagen",
        _weekday_between(year, 10, 31, 5): "alla helgons dag",
        date(year, 12, 24): "julafton",
        date(year, 12, 25): "juldagen",
        date(year, 12, 26): "annandag jul",
        date(year, 12, 31): "nyårsafton",
    }


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in days_off(day.year)


@lru_cache(maxsize=65_536)
def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (0 when end is not after start).

    A contact attempt on the day of the scope entry took 0 working days; on the next working day, 1.
    """
    if end <= start:
        return 0
    full_weeks, rest = divmod((end - start).days, 7)
    count = full_weeks * 5
    day = start + timedelta(days=full_weeks * 7)
    for _ in range(rest):
        day += timedelta(days=1)
        if day.weekday() < 5:
            count += 1
    holidays = sum(
        1
        for year in range(start.year, end.year + 1)
        for off in days_off(year)
        if start < off <= end and off.weekday() < 5
    )
    return count - holidays


@lru_cache(maxsize=65_536)
def add_working_days(start: date, days: int) -> date:
    """The day `days` working days after `start`."""
    day = start
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day
