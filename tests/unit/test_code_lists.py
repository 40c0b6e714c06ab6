"""Code lists are versioned data; free text that looks sensitive is warned about; a half-year names
its days."""

from __future__ import annotations

from datetime import date

import pytest

from services.register.domain.period import half_year
from shared.codelists import code_list, free_text_warnings, sensitive_categories


def test_free_text_that_looks_sensitive_gets_a_warning_naming_field_and_category() -> None:
    assert sensitive_categories("Har en ADHD-diagnos och går på BUP") == ["health"]
    assert sensitive_categories("Vill jobba med bilar") == []
    warnings = free_text_warnings({"goal": "Vill börja plugga", "note": "Troende muslim"})
    assert warnings == [
        "note: may contain sensitive personal data (religion); documentation under the activity "
        "responsibility must not hold it"
    ]
    assert "muslim" not in warnings[0].lower()  # the warning never repeats the text


def test_code_lists_are_versioned_data() -> None:
    occupations = code_list("occupation", on=date(2026, 3, 2))
    assert "work" in occupations.codes
    with pytest.raises(ValueError, match="no version"):
        code_list("occupation", version="1999-1")
    assert "astronaut" not in occupations.codes
    assert occupations.version == code_list("occupation", version="2026-1").version


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        ("2026H1", date(2026, 1, 1), date(2026, 6, 30)),
        ("2025H2", date(2025, 7, 1), date(2025, 12, 31)),
    ],
)
def test_a_half_year_names_its_days(name: str, start: date, end: date) -> None:
    period = half_year(name)
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize("name", ["2026H3", "26H1", "2026-1", "2026h1", "1999H1", ""])
def test_an_unknown_period_is_refused_naming_the_field(name: str) -> None:
    with pytest.raises(ValueError, match=r"^period: "):
        half_year(name)
