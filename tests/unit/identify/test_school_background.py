"""SCB block 1, school background: the school type of the enrolment that ended last before the day
the youth entered scope (`IM` for an introduction programme), or none."""

from __future__ import annotations

from datetime import date

import pytest

from services.identify.domain.scope import Enrolment, YouthFacts, school_background

ON = date(2026, 3, 1)  # the day the youth entered scope


def gr(**dates: date) -> Enrolment:
    return Enrolment("GR", **dates)  # type: ignore[arg-type]


def gy(code: str = "NA", **dates: date | bool) -> Enrolment:
    return Enrolment("GY", education_code=code, **dates)  # type: ignore[arg-type]


GR_DONE = gr(start_date=date(2015, 8, 20), end_date=date(2024, 6, 10))
GY_DROPPED = gy(start_date=date(2024, 8, 20), end_date=date(2025, 12, 31))
IM_DROPPED = gy("IMSPR", start_date=date(2024, 8, 20), end_date=date(2025, 12, 31))
# A komvux course taken alongside gymnasieskola: started later, ended earlier.
VUX_COURSE = Enrolment("VUXGY", start_date=date(2025, 1, 10), end_date=date(2025, 3, 31))

CASES = [
    ("no enrolments", (), None),
    ("compulsory school done", (GR_DONE,), "GR"),
    ("gymnasieskola dropped", (GR_DONE, GY_DROPPED), "GY"),
    ("dropped, listed first", (GY_DROPPED, GR_DONE), "GY"),
    ("introduktionsprogram dropped", (GR_DONE, IM_DROPPED), "IM"),
    ("ended last, though started first", (GY_DROPPED, VUX_COURSE), "GY"),
    ("ended last, listed last", (VUX_COURSE, GY_DROPPED), "GY"),
    ("ended the day before", (gy(start_date=date(2024, 8, 20), end_date=date(2026, 2, 28)),), "GY"),
    ("still enrolled on the day", (gy(start_date=date(2024, 8, 20), end_date=ON),), None),
    ("still enrolled, no end", (gy(start_date=date(2024, 8, 20)),), None),
    ("a current enrolment is not background", (GR_DONE, gy(start_date=date(2024, 8, 20))), "GR"),
    ("starts after the day", (gy(start_date=date(2026, 8, 20), end_date=date(2027, 6, 10)),), None),
    ("ended, start unknown", (gr(end_date=date(2024, 6, 10)),), "GR"),
    ("undated, first seen after the day", (GR_DONE, gy(observed_on=date(2026, 9, 1))), "GR"),
    ("undated, seen before the day", (GR_DONE, gy(observed_on=date(2025, 9, 1))), "GR"),
    ("cancelled, never happened", (GR_DONE, gy(cancelled=True, end_date=date(2025, 12, 31))), "GR"),
    ("only cancelled", (gy(cancelled=True, start_date=date(2024, 8, 20)),), None),
]


@pytest.mark.parametrize(("name", "enrolments", "expected"), CASES, ids=[c[0] for c in CASES])
def test_school_background(
    name: str, enrolments: tuple[Enrolment, ...], expected: str | None
) -> None:
    facts = YouthFacts(birth_date=date(2008, 5, 1), enrolments=enrolments)
    assert school_background(facts, ON) == expected
