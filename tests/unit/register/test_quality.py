"""The data-quality figures from what the register holds (no database: `domain/quality.py`)."""

from __future__ import annotations

import uuid
from datetime import date

from services.register.domain.period import half_year
from services.register.domain.quality import EpisodeBegun, InScope, QualityFacts, figures

H1 = half_year("2026H1")
KNOWN, STALE, LEFT = uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)


def facts() -> QualityFacts:
    """Three youths: one confirmed recently and contacted, one confirmed too long ago and still
    in scope, one who left in March, confirmed shortly before and never contacted."""
    return QualityFacts(
        youths={
            KNOWN: InScope(date(2026, 6, 30), at_end=True),
            STALE: InScope(date(2026, 6, 30), at_end=True),
            LEFT: InScope(date(2026, 3, 15), at_end=False),
        },
        contacted_in_period={KNOWN},
        ever_contacted={KNOWN, STALE},
        offered_in_period={KNOWN},
        confirmations={
            KNOWN: [date(2026, 6, 1)],
            STALE: [date(2026, 1, 2)],
            LEFT: [date(2026, 3, 1)],
        },
        begun=[
            EpisodeBegun(date(2026, 2, 2), date(2026, 2, 4)),  # Monday to Wednesday: 2
            EpisodeBegun(date(2026, 2, 9), date(2026, 2, 16)),  # a week: 5
            EpisodeBegun(date(2026, 3, 2), None),
        ],
    )


def test_shares_count_the_youths_in_scope_in_the_half_year() -> None:
    found = figures(facts(), "0180", H1, date(2026, 6, 30), 90)
    assert found["youths_in_scope"] == 3
    assert found["known_occupation_share"] == round(2 / 3, 4), "known at their last day in scope"
    assert found["contacted_share"] == round(1 / 3, 4)
    assert found["measure_share"] == round(1 / 3, 4)
    assert (found["stale_records"], found["never_contacted"]) == (1, 1)


def test_the_response_is_the_median_of_working_days_to_a_first_attempt() -> None:
    found = figures(facts(), "0180", H1, date(2026, 6, 30), 90)
    assert found["median_working_days_to_first_attempt"] == 3.5
    assert (found["episodes_begun"], found["episodes_begun_without_attempt"]) == (3, 1)


def test_an_occupation_is_known_for_the_currency_days_and_not_one_more() -> None:
    # Confirmed on 1 June, 29 days before the half-year's end.
    assert figures(facts(), "0180", H1, date(2026, 6, 30), 29)["stale_records"] == 1
    assert figures(facts(), "0180", H1, date(2026, 6, 30), 28)["stale_records"] == 2


def test_an_empty_half_year_has_no_shares() -> None:
    found = figures(QualityFacts(youths={}), "0180", H1, date(2026, 3, 2), 90)
    assert found["known_occupation_share"] is None
    assert found["median_working_days_to_first_attempt"] is None
    assert (found["period"], found["from"], found["to"]) == ("2026H1", H1.start, date(2026, 3, 2))
