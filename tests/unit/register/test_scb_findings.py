"""The occupation an SCB record shows on a day, coding through the code list, and how a finding of
the checks reads (a pseudonymous youth id, never a personnummer)."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from services.register.adapters.scb_codes import scb_codes
from services.register.domain.scb.checks import Checks, Finding, occupation_on
from services.register.domain.scb.rows import Occupation

Y = uuid.UUID("00000000-0000-4000-8000-000000000007")
d = date.fromisoformat


def maybe(day: str | None) -> date | None:
    return None if day is None else d(day)


def held(category: str, since: str, until: str | None, confirmed: str, n: int) -> Occupation:
    return Occupation(Y, category, d(since), maybe(until), d(confirmed), uuid.UUID(int=n))


def test_the_occupation_on_a_day_is_the_latest_confirmed_that_covers_it() -> None:
    rows = [
        held("work", "2026-01-01", "2026-03-31", "2026-01-05", 1),
        held("internship", "2026-02-01", None, "2026-02-10", 2),
    ]
    assert occupation_on(rows, d("2025-12-31")) == "unknown"
    assert occupation_on(rows, d("2026-01-15")) == "work"
    assert occupation_on(rows, d("2026-02-15")) == "internship"
    assert occupation_on(rows, d("2026-05-01")) == "internship"


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2026-02-28", "unknown"),  # the day before it began
        ("2026-03-01", "work"),  # the day it began
        ("2026-03-31", "work"),  # the day it ended
        ("2026-04-01", "unknown"),  # the day after
    ],
)
def test_an_occupation_covers_its_first_and_last_day(day: str, expected: str) -> None:
    assert occupation_on([held("work", "2026-03-01", "2026-03-31", "2026-03-01", 1)], d(day)) == (
        expected
    )


def test_no_occupation_is_unknown() -> None:
    assert occupation_on([], d("2026-03-01")) == "unknown"


@pytest.mark.parametrize("order", [1, -1], ids=["as recorded", "reversed"])
def test_of_two_covering_the_day_the_later_confirmed_wins_then_the_later_begun(order: int) -> None:
    confirmed_later = [
        held("internship", "2026-01-01", None, "2026-02-10", 1),
        held("work", "2026-02-01", None, "2026-02-09", 2),  # begun later, confirmed earlier
    ][::order]
    assert occupation_on(confirmed_later, d("2026-03-01")) == "internship"
    begun_later = [
        held("internship", "2026-01-01", None, "2026-02-10", 1),
        held("work", "2026-02-01", None, "2026-02-10", 2),
    ][::order]
    assert occupation_on(begun_later, d("2026-03-01")) == "work"
    same_day = [
        held("work", "2026-02-01", None, "2026-02-10", 9),
        held("internship", "2026-02-01", None, "2026-02-10", 10),  # '...0a' > '...09'
    ][::order]
    assert occupation_on(same_day, d("2026-03-01")) == "internship"


def test_coding_names_the_field_and_the_list_version() -> None:
    checks = Checks(scb_codes(d("2026-01-01")))
    assert checks.code("occupation", "work", Y, 2, "occupation_at_contact") == "01"
    assert checks.code("occupation", None, Y, 2, "occupation_at_contact") == "99"
    assert checks.code("measure_type", None, Y, 3, "measure_type") == "90"
    assert checks.findings == [], "a missing value falls back without a warning"
    assert checks.code("measure_type", "own_mentoring", Y, 3, "measure_type") == "90"
    assert checks.code("leaving_reason", "went_abroad", Y, 5, "leaving_reason") == ""
    assert checks.code("leaving_reason", None, Y, 5, "leaving_reason") == ""
    assert checks.findings == [
        Finding("warning", "measure_type",
                "'own_mentoring' has no code of its own in scb-report 2026-1; reported as 90",
                Y, 3),
        Finding("error", "leaving_reason", "'went_abroad' has no code in scb-report 2026-1", Y, 5),
        Finding("error", "leaving_reason", "None has no code in scb-report 2026-1", Y, 5),
    ]  # fmt: skip


def test_a_finding_of_the_whole_report_has_no_youth_and_no_block() -> None:
    checks = Checks(scb_codes(d("2026-01-01")))
    checks.add("warning", "period", "2026H1 has not ended; figures may change")
    assert checks.findings == [
        Finding("warning", "period", "2026H1 has not ended; figures may change", None, None)
    ]


def test_a_finding_reads_without_personal_data() -> None:
    line = Finding("error", "personnummer", "is not valid", Y, 1).line()
    assert line == f"error   youth {Y} block 1: personnummer: is not valid"
    assert Finding("warning", "period", "has not ended").line() == (
        "warning report: period: has not ended"
    )
    assert Finding("warning", "measure_type", "other", Y, 3).line() == (
        f"warning youth {Y} block 3: measure_type: other"
    )


def test_a_finding_as_json() -> None:
    assert Finding("error", "contact_date", "outside", Y, 2).as_dict() == {
        "severity": "error", "youth_id": str(Y), "block": 2, "field": "contact_date",
        "problem": "outside",
    }  # fmt: skip
    assert Finding("warning", "period", "has not ended").as_dict() == {
        "severity": "warning", "youth_id": None, "block": None, "field": "period",
        "problem": "has not ended",
    }  # fmt: skip
