"""The local logical checks of the SCB report and one youth's records, blocks 1-5 (DOMAIN.md 6).

A youth in scope during the half-year 2026H1 (1 January - 30 June) is reported with: 1 the
registration (entry date, occupation and school background on that day), 2 each contact (date,
occupation that day), 3 each measure started in the half-year, 4 each measure ended in it
(occupation after), 5 each responsibility that ended in it (reason). Codes are those of
`shared/codelists/scb-report.json` version 2026-1 (work 01, komvux studies 02, internship measure
03, unknown occupation 99, gymnasieskola 21, introduktionsprogram 22, other measure 90, moved out 4).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

import pytest

from services.register.adapters.scb_codes import scb_codes
from services.register.domain.period import half_year
from services.register.domain.scb.checks import (
    Checks,
    Finding,
    Record,
    youth_records,
)
from services.register.domain.scb.rows import ContactDay, Episode, Measure, Occupation, YouthRows

Y = uuid.UUID("00000000-0000-4000-8000-000000000001")
H1 = half_year("2026H1")
d = date.fromisoformat


def maybe(day: str | None) -> date | None:
    return None if day is None else d(day)


def episode(entered: str, left: str | None = None, reason: str | None = None,
            background: str | None = "GY", n: int = 1) -> Episode:  # fmt: skip
    return Episode(Y, uuid.UUID(int=n), d(entered), maybe(left), reason, background)


def occupation(category: str, since: str, until: str | None = None,
               confirmed: str = "2026-01-01", n: int = 1) -> Occupation:  # fmt: skip
    return Occupation(Y, category, d(since), maybe(until), d(confirmed), uuid.UUID(int=n))


def measure(started: str | None, ended: str | None = None, kind: str = "internship",
            after: str | None = None) -> Measure:  # fmt: skip
    return Measure(Y, uuid.UUID(int=1), kind, maybe(started), maybe(ended), after)


ENTERED = episode("2025-09-01")  # in scope all half-year, gymnasieskola behind them


def records(
    episodes: Sequence[Episode] = (ENTERED,),
    contacts: Sequence[str] = (),
    occupations: Sequence[Occupation] = (),
    measures: Sequence[Measure] = (),
) -> tuple[list[Record], list[Finding]]:
    """This youth's records in 2026H1, and the findings of the checks."""
    checks = Checks(scb_codes(H1.start))
    rows = YouthRows(Y, tuple(episodes), tuple(ContactDay(Y, d(c)) for c in contacts),
                     tuple(occupations), tuple(measures))  # fmt: skip
    return youth_records(rows, H1, checks), checks.findings


def rest(found: tuple[list[Record], list[Finding]]) -> list[Record]:
    """The records after block 1, when the checks found nothing."""
    out, findings = found
    assert findings == []
    return out[1:]


# -- block 1: the registration --------------------------------------------------------------------


def test_block_1_is_the_entry_date_with_the_occupation_and_school_background_of_that_day() -> None:
    held = [occupation("work", "2025-09-01")]
    assert records(occupations=held) == ([(1, d("2025-09-01"), "01;21")], [])


def test_block_1_is_from_the_first_episode() -> None:
    first = episode("2026-01-10", "2026-02-01", "moved_out", "IM", n=1)
    again = episode("2026-04-01", background="GY", n=2)
    out, _ = records(episodes=[first, again])
    assert out[0] == (1, d("2026-01-10"), "99;22")


def test_no_occupation_on_the_entry_day_is_unknown_and_no_school_is_none() -> None:
    held = [occupation("work", "2025-09-02")]  # begun the day after the entry
    assert records([episode("2025-09-01", background=None)], occupations=held) == (
        [(1, d("2025-09-01"), "99;99")],
        [],
    )


def test_a_school_type_without_its_own_code_is_reported_as_none_with_a_warning() -> None:
    out, findings = records([episode("2025-09-01", background="XX")])
    assert out == [(1, d("2025-09-01"), "99;99")]
    assert findings == [
        Finding("warning", "school_background",
                "'XX' has no code of its own in scb-report 2026-1; reported as 99", Y, 1)
    ]  # fmt: skip


def test_an_occupation_at_registration_without_its_own_code_is_a_warning() -> None:
    out, findings = records(occupations=[occupation("gap_year", "2025-01-01")])
    assert out == [(1, d("2025-09-01"), "99;21")]
    assert findings == [
        Finding("warning", "occupation_at_registration",
                "'gap_year' has no code of its own in scb-report 2026-1; reported as 99", Y, 1)
    ]  # fmt: skip


# -- block 2: contacts ----------------------------------------------------------------------------

BETWEEN = [episode("2026-02-01", "2026-03-31", "moved_out", n=1), episode("2026-05-01", n=2)]


@pytest.mark.parametrize(
    ("day", "inside"),
    [
        ("2026-01-31", False),  # the day before the first episode
        ("2026-02-01", True),  # its entry day
        ("2026-03-31", True),  # the day it ended
        ("2026-04-01", False),  # between the episodes
        ("2026-04-30", False),
        ("2026-05-01", True),
        ("2026-06-30", True),  # the second is still open
    ],
)
def test_a_contact_must_fall_in_a_scope_episode(day: str, inside: bool) -> None:
    out, findings = records(BETWEEN, contacts=[day])
    assert out[1:] == [(2, d(day), "99"), (5, d("2026-03-31"), "4")], "reported either way"
    outside = Finding("error", "contact_date",
                      f"{day} is outside every scope episode of the youth", Y, 2)  # fmt: skip
    assert findings == ([] if inside else [outside])


def test_a_contact_carries_the_occupation_of_its_day() -> None:
    held = [occupation("work", "2026-03-01", "2026-03-31")]
    days = ["2026-02-28", "2026-03-01", "2026-03-31", "2026-04-01"]
    assert rest(records(contacts=days, occupations=held)) == [
        (2, d("2026-02-28"), "99"),
        (2, d("2026-03-01"), "01"),
        (2, d("2026-03-31"), "01"),
        (2, d("2026-04-01"), "99"),
    ]


def test_an_occupation_without_its_own_code_at_a_contact_is_a_warning() -> None:
    out, findings = records(
        contacts=["2026-03-01"], occupations=[occupation("gap_year", "2025-01-01")]
    )
    assert out[1] == (2, d("2026-03-01"), "99")
    assert findings[1:] == [
        Finding("warning", "occupation_at_contact",
                "'gap_year' has no code of its own in scb-report 2026-1; reported as 99", Y, 2)
    ]  # fmt: skip


# -- blocks 3 and 4: measures started and ended ----------------------------------------------------


@pytest.mark.parametrize(
    ("started", "reported"),
    [("2025-12-31", False), ("2026-01-01", True), ("2026-06-30", True), ("2026-07-01", False)],
)
def test_a_measure_started_in_the_half_year_is_block_3(started: str, reported: bool) -> None:
    expected = [(3, d(started), "03")] if reported else []
    assert rest(records(measures=[measure(started)])) == expected


def test_a_measure_never_started_has_no_block_3() -> None:
    assert rest(records(measures=[measure(None)])) == []


def test_a_measure_type_without_its_own_code_is_other_with_a_warning() -> None:
    out, findings = records(measures=[measure("2026-03-01", kind="own_mentoring")])
    assert out[1:] == [(3, d("2026-03-01"), "90")]
    assert findings == [
        Finding("warning", "measure_type",
                "'own_mentoring' has no code of its own in scb-report 2026-1; reported as 90",
                Y, 3)
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("ended", "reported"),
    [("2025-12-31", False), ("2026-01-01", True), ("2026-06-30", True), ("2026-07-01", False)],
)
def test_a_measure_ended_in_the_half_year_is_block_4(ended: str, reported: bool) -> None:
    begun = measure("2025-11-01", ended, after="studies_komvux")
    expected = [(4, d(ended), "02")] if reported else []
    assert rest(records(measures=[begun])) == expected


def test_no_occupation_after_a_measure_is_unknown() -> None:
    ended = measure("2026-02-01", "2026-03-01")
    assert rest(records(measures=[ended])) == [
        (3, d("2026-02-01"), "03"),
        (4, d("2026-03-01"), "99"),
    ]


def test_an_occupation_after_without_its_own_code_is_a_warning() -> None:
    out, findings = records(measures=[measure("2025-12-01", "2026-03-01", after="gap_year")])
    assert out[1:] == [(4, d("2026-03-01"), "99")]
    assert findings == [
        Finding("warning", "occupation_after",
                "'gap_year' has no code of its own in scb-report 2026-1; reported as 99", Y, 4)
    ]  # fmt: skip


def test_a_measure_may_end_the_day_it_started() -> None:
    same = measure("2026-03-10", "2026-03-10", after="work")
    assert rest(records(measures=[same])) == [
        (3, d("2026-03-10"), "03"),
        (4, d("2026-03-10"), "01"),
    ]


@pytest.mark.parametrize("started", ["2026-03-10", None])
def test_a_measure_cannot_end_before_it_started(started: str | None) -> None:
    out, findings = records(measures=[measure(started, "2026-03-09", after="work")])
    assert out[-1] == (4, d("2026-03-09"), "01"), "reported, and refused by the error"
    assert len(out) == (3 if started else 2)
    assert findings == [
        Finding("error", "measure_end_date",
                f"2026-03-09 is before the measure started ({maybe(started)})", Y, 4)
    ]  # fmt: skip


# -- block 5: responsibility ended ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "reported"),
    [("2025-12-31", False), ("2026-01-01", True), ("2026-06-30", True), ("2026-07-01", False)],
)
def test_responsibility_ended_in_the_half_year_is_block_5(left: str, reported: bool) -> None:
    ended = episode("2025-09-01", left, "moved_out")
    assert rest(records([ended])) == ([(5, d(left), "4")] if reported else [])


def test_every_episode_that_ended_in_the_half_year_is_reported() -> None:
    twice = [episode("2025-09-01", "2026-02-01", "moved_out", n=1),
             episode("2026-03-01", "2026-05-10", "turned_20", n=2)]  # fmt: skip
    assert rest(records(twice)) == [(5, d("2026-02-01"), "4"), (5, d("2026-05-10"), "1")]


def test_an_episode_not_ended_in_the_half_year_does_not_stop_the_next() -> None:
    episodes = [
        episode("2025-03-01", "2025-12-31", "moved_out", n=1),  # ended before the half-year
        episode("2026-01-10", "2026-02-01", None, n=2),  # ended without a reason: an error
        episode("2026-03-01", "2026-05-10", "turned_20", n=3),
    ]
    out, findings = records(episodes)
    assert out[1:] == [(5, d("2026-05-10"), "1")]
    assert [f.field for f in findings] == ["leaving_reason"]


def test_responsibility_ended_without_a_reason_is_an_error_and_not_reported() -> None:
    out, findings = records([episode("2025-09-01", "2026-03-15", None)])
    assert out[1:] == []
    assert findings == [
        Finding("error", "leaving_reason",
                "responsibility ended on 2026-03-15 without a reason", Y, 5)
    ]  # fmt: skip


def test_a_leaving_reason_without_a_code_is_an_error() -> None:
    out, findings = records([episode("2025-09-01", "2026-03-15", "went_abroad_to_study")])
    assert out[1:] == [(5, d("2026-03-15"), "")]
    assert findings == [
        Finding("error", "leaving_reason",
                "'went_abroad_to_study' has no code in scb-report 2026-1", Y, 5)
    ]  # fmt: skip
