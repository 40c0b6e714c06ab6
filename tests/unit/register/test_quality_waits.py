"""The distribution of working days to a first contact attempt in the data-quality figures (issue
19: the coordinator's quality page draws it against the municipality's limit)."""

from __future__ import annotations

import uuid
from datetime import date

from services.register.domain.period import half_year
from services.register.domain.quality import EpisodeBegun, InScope, QualityFacts, figures

H1 = half_year("2026H1")


def test_each_number_of_working_days_counts_the_episodes_first_attempted_after_it() -> None:
    facts = QualityFacts(
        youths={uuid.uuid4(): InScope(date(2026, 6, 30), True)},
        begun=[
            EpisodeBegun(date(2026, 2, 2), date(2026, 2, 4)),  # Monday to Wednesday: 2
            EpisodeBegun(date(2026, 2, 9), date(2026, 2, 11)),  # 2
            EpisodeBegun(date(2026, 2, 9), date(2026, 2, 16)),  # a week: 5
            EpisodeBegun(date(2026, 3, 2), None),  # no attempt yet: not in the distribution
        ],
    )
    found = figures(facts, "0180", H1, date(2026, 6, 30), 90)
    assert found["first_attempt_waits"] == [
        {"working_days": 2, "episodes": 2},
        {"working_days": 5, "episodes": 1},
    ]
    assert sum(w["episodes"] for w in found["first_attempt_waits"]) == (
        found["episodes_begun"] - found["episodes_begun_without_attempt"]
    )


def test_a_half_year_without_attempts_has_an_empty_distribution() -> None:
    found = figures(QualityFacts(youths={}), "0180", H1, date(2026, 3, 2), 90)
    assert found["first_attempt_waits"] == []
