"""Personnummer validation and synthetic generation."""

from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared import personnummer


def test_a_valid_number_is_normalised_to_twelve_digits() -> None:
    assert personnummer.normalize("20080101-1230") == "200801011230"
    assert personnummer.normalize("200801011230") == "200801011230"


def test_skolverkets_sample_number_fails_its_check_digit() -> None:
    # ../shared/reference/ss12000/sample-person.json uses 200112240129: a placeholder, not valid.
    with pytest.raises(personnummer.InvalidPersonnummer, match="check digit"):
        personnummer.normalize("200112240129")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("0801011230", "century"),
        ("20081301-1230", "calendar date"),
        ("2008010112", "century"),
        ("20080101123", "12 digits"),
        ("abc", "12 digits"),
    ],
)
def test_invalid_numbers_give_a_reason_without_the_value(value: str, reason: str) -> None:
    with pytest.raises(personnummer.InvalidPersonnummer, match=reason) as caught:
        personnummer.normalize(value)
    assert value not in str(caught.value)


def test_samordningsnummer_day_plus_sixty() -> None:
    nine = "080161123"
    number = f"20080161123{personnummer.luhn_check_digit(nine)}"
    assert personnummer.birth_date(personnummer.normalize(number)) == date(2008, 1, 1)


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2020, 12, 31)), st.integers(0, 2**32))
def test_generated_numbers_are_valid_and_encode_the_birth_date(born: date, seed: int) -> None:
    number = personnummer.generate(born, random.Random(seed))
    assert personnummer.normalize(number) == number
    assert personnummer.birth_date(number) == born


def test_age_counts_whole_years() -> None:
    assert personnummer.age_on(date(2008, 6, 30), date(2026, 6, 29)) == 17
    assert personnummer.age_on(date(2008, 6, 30), date(2026, 6, 30)) == 18
