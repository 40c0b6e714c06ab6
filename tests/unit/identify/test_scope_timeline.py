"""When scope changes over time: the change points, the next one, since when a decision holds and
the closed periods in scope. Every expected date is worked out by hand from the facts (skollagen
29 kap. 9 §; compulsory school ends 30 June of the year the youth turns 16 unless a policy says
otherwise), never computed with the functions under test."""

from __future__ import annotations

from datetime import date

from services.identify.domain.scope import (
    Completion,
    Enrolment,
    Residence,
    TenantPolicy,
    YouthFacts,
    change_points,
    closed_periods,
    next_change,
    status_since,
)

BORN = date(2008, 5, 1)  # turns 16 in 2024: compulsory school ends 2024-06-30; turns 20 2028-05-01
HOME = Residence(BORN, "0180")
JULY_END = TenantPolicy(compulsory_school_ends_month=7, compulsory_school_ends_day=31)
GY_YEAR = Enrolment("GY", start_date=date(2024, 8, 19), end_date=date(2025, 6, 13))
MOVED = Residence(date(2025, 10, 1), "1480")


def youth(*enrolments: Enrolment, residences: tuple[Residence, ...] = (HOME,)) -> YouthFacts:
    return YouthFacts(BORN, residences=residences, enrolments=enrolments)


# -- change_points ----------------------------------------------------------------------------


def test_every_kind_of_fact_gives_its_change_point() -> None:
    facts = YouthFacts(
        BORN,
        residences=(HOME, Residence(date(2025, 3, 10), "1480")),
        enrolments=(
            Enrolment(
                "GY",
                start_date=date(2024, 8, 19),
                end_date=date(2025, 6, 13),
                observed_on=date(2024, 9, 1),
            ),  # start, first seen, the day after its end
            Enrolment("VUX", observed_on=date(2025, 9, 1)),  # undated: the day it was seen
        ),
        completions=(Completion("studiebevis", date(2025, 6, 12)),),
        registered_in_sweden_on=date(2010, 2, 1),
    )
    assert change_points(facts) == [
        date(2008, 5, 1),  # folkbokförd since birth
        date(2010, 2, 1),  # registered in Sweden
        date(2015, 1, 1),  # rule kaa-2015-01-01
        date(2018, 7, 1),  # rule kaa-2018-07-01
        date(2024, 7, 1),  # the day after compulsory school ended
        date(2024, 8, 19),  # GY starts
        date(2024, 9, 1),  # GY first observed
        date(2025, 3, 10),  # moved to 1480
        date(2025, 6, 12),  # studiebevis
        date(2025, 6, 14),  # the day after GY ended
        date(2025, 9, 1),  # VUX observed
        date(2028, 5, 1),  # 20th birthday
    ]


def test_the_policy_moves_the_end_of_compulsory_school() -> None:
    assert change_points(youth(), JULY_END) == [
        date(2008, 5, 1), date(2015, 1, 1), date(2018, 7, 1), date(2024, 8, 1), date(2028, 5, 1),
    ]  # fmt: skip


# -- next_change ------------------------------------------------------------------------------


def test_the_next_change_is_strictly_after_the_day() -> None:
    facts = youth(GY_YEAR)
    assert next_change(facts, date(2000, 1, 1)) == date(2008, 5, 1)
    assert next_change(facts, date(2024, 6, 30)) == date(2024, 7, 1)
    assert next_change(facts, date(2024, 7, 1)) == date(2024, 8, 19), "not the day itself"
    assert next_change(facts, date(2025, 6, 13)) == date(2025, 6, 14)
    assert next_change(facts, date(2025, 6, 14)) == date(2028, 5, 1)
    assert next_change(facts, date(2028, 5, 1)) is None


def test_the_next_change_follows_the_policy() -> None:
    assert next_change(youth(GY_YEAR), date(2024, 7, 15), JULY_END) == date(2024, 8, 1)
    assert next_change(youth(GY_YEAR), date(2024, 7, 15)) == date(2024, 8, 19)


# -- status_since -----------------------------------------------------------------------------


def test_in_scope_since_compulsory_school_ended() -> None:
    assert status_since(youth(), "0180", date(2026, 3, 2)) == date(2024, 7, 1)
    assert status_since(youth(), "0180", date(2024, 7, 1)) == date(2024, 7, 1), "on the day"
    assert status_since(youth(), "0180", date(2024, 7, 2)) == date(2024, 7, 1)


def test_out_of_scope_since_the_first_day_the_facts_know_of() -> None:
    """Before compulsory school ended the youth was out of scope all along: before 2015 no rule,
    before birth no residence, all out for other reasons, so the period starts at birth."""
    assert status_since(youth(), "0180", date(2024, 3, 1)) == date(2008, 5, 1)
    assert status_since(youth(), "0180", date(2024, 6, 30)) == date(2008, 5, 1)


def test_with_no_change_point_up_to_the_day_the_period_starts_that_day() -> None:
    """No residence known and 2014: the first change point is 2015-01-01, the first rule."""
    assert status_since(YouthFacts(BORN), "0180", date(2014, 6, 1)) == date(2014, 6, 1)


def test_a_one_day_enrolment_is_a_period_of_its_own() -> None:
    """GY on 2025-01-10 only: out that day, in scope before and again from 2025-01-11."""
    facts = youth(Enrolment("GY", start_date=date(2025, 1, 10), end_date=date(2025, 1, 10)))
    assert status_since(facts, "0180", date(2025, 1, 11)) == date(2025, 1, 11)
    assert status_since(facts, "0180", date(2025, 1, 10)) == date(2025, 1, 10)
    assert status_since(facts, "0180", date(2025, 1, 9)) == date(2024, 7, 1)
    assert status_since(facts, "0180", date(2026, 1, 1)) == date(2025, 1, 11)


def test_out_since_enrolled_and_since_moved() -> None:
    assert status_since(youth(GY_YEAR), "0180", date(2025, 3, 1)) == date(2024, 8, 19)
    facts = youth(GY_YEAR, residences=(HOME, MOVED))
    assert status_since(facts, "0180", date(2026, 1, 1)) == date(2025, 10, 1)
    assert status_since(facts, "1480", date(2026, 1, 1)) == date(2025, 10, 1), "in scope there"
    assert status_since(facts, "1480", date(2025, 9, 30)) == date(2008, 5, 1)


def test_since_follows_the_policy() -> None:
    assert status_since(youth(), "0180", date(2026, 3, 2), JULY_END) == date(2024, 8, 1)
    assert status_since(youth(), "0180", date(2024, 7, 15), JULY_END) == date(2008, 5, 1)


# -- closed_periods ---------------------------------------------------------------------------

MOVED_AFTER_GY = youth(GY_YEAR, residences=(HOME, MOVED))
# In 0180: in scope 2024-07-01 until GY starts 2024-08-19; again from 2025-06-14 (GY ended
# 2025-06-13) until the move to 1480 on 2025-10-01.
BOTH_PERIODS = [
    (date(2024, 7, 1), date(2024, 8, 19), "enrolled"),
    (date(2025, 6, 14), date(2025, 10, 1), "moved_out"),
]


def test_closed_periods_in_order_with_their_reasons() -> None:
    assert closed_periods(MOVED_AFTER_GY, "0180", date(2024, 1, 1), date(2026, 3, 1)) == (
        BOTH_PERIODS
    )
    assert closed_periods(MOVED_AFTER_GY, "0180", date(2024, 1, 1), date(2025, 10, 1)) == (
        BOTH_PERIODS
    ), "a period that ends on the last day counts"


def test_a_period_still_open_or_ended_before_since_is_not_one() -> None:
    assert closed_periods(MOVED_AFTER_GY, "0180", date(2024, 1, 1), date(2025, 9, 30)) == [
        BOTH_PERIODS[0]
    ], "the second is still open on 2025-09-30"
    assert closed_periods(MOVED_AFTER_GY, "0180", date(2024, 9, 1), date(2026, 3, 1)) == [
        BOTH_PERIODS[1]
    ]
    assert closed_periods(MOVED_AFTER_GY, "1480", date(2024, 1, 1), date(2026, 3, 1)) == []


def test_a_period_open_on_since_starts_on_its_real_date() -> None:
    assert closed_periods(MOVED_AFTER_GY, "0180", date(2024, 8, 1), date(2024, 12, 31)) == [
        BOTH_PERIODS[0]
    ]
    assert closed_periods(MOVED_AFTER_GY, "0180", date(2025, 8, 1), date(2025, 12, 31)) == [
        BOTH_PERIODS[1]
    ]


def test_a_period_ended_without_a_leaving_reason_was_registered_in_error() -> None:
    """Back in grundskola from 2024-07-15: not in scope, and the law names no leaving reason."""
    facts = youth(Enrolment("GR", start_date=date(2024, 7, 15)))
    assert closed_periods(facts, "0180", date(2024, 1, 1), date(2024, 12, 31)) == [
        (date(2024, 7, 1), date(2024, 7, 15), "registered_in_error")
    ]


def test_closed_periods_follow_the_policy() -> None:
    """Compulsory school ending 31 July: out on 2024-07-10, in scope from 2024-08-01."""
    assert closed_periods(youth(GY_YEAR), "0180", date(2024, 7, 10), date(2024, 12, 31),
                          JULY_END) == [(date(2024, 8, 1), date(2024, 8, 19), "enrolled")]  # fmt: skip
