"""The SCB code list, the occupation a report shows on a day, and when retention is due."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from services.register.retention import half_year_end, is_due, purge_event_id
from services.register.scb import Finding, _occupation_on, scb_codes


def test_codes_come_from_the_versioned_list_with_a_fallback_reported() -> None:
    codes = scb_codes(date(2026, 1, 1))
    assert codes.version == "2026-1"
    assert codes.code("occupation", "work") == ("01", False)
    assert codes.code("school_background", None) == ("99", False), "no known school: 'none'"
    assert codes.code("measure_type", "own_mentoring") == ("90", True), "own measure: other"
    assert codes.code("leaving_reason", "something_new") == (None, True), "no fallback: error"
    with pytest.raises(ValueError, match="no scb-report code list is in force"):
        scb_codes(date(2014, 12, 31))


def test_the_occupation_on_a_day_is_the_latest_confirmed_that_covers_it() -> None:
    rows = [
        {"category": "work", "from_date": date(2026, 1, 1), "to_date": date(2026, 3, 31),
         "confirmed_on": date(2026, 1, 5), "event_id": uuid.UUID(int=1)},
        {"category": "internship", "from_date": date(2026, 2, 1), "to_date": None,
         "confirmed_on": date(2026, 2, 10), "event_id": uuid.UUID(int=2)},
    ]  # fmt: skip
    assert _occupation_on(rows, date(2025, 12, 31)) == "unknown"  # type: ignore[arg-type]
    assert _occupation_on(rows, date(2026, 1, 15)) == "work"  # type: ignore[arg-type]
    assert _occupation_on(rows, date(2026, 2, 15)) == "internship"  # type: ignore[arg-type]
    assert _occupation_on(rows, date(2026, 5, 1)) == "internship"  # type: ignore[arg-type]


def test_a_finding_reads_without_personal_data() -> None:
    youth = uuid.UUID(int=7)
    line = Finding("error", "personnummer", "is not valid", youth, 1).line()
    assert line == f"error   youth {youth} block 1: personnummer: is not valid"
    assert Finding("warning", "period", "has not ended").line() == (
        "warning report: period: has not ended"
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
