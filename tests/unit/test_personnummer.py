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


# Valid numbers written out, their check digits worked by hand (Luhn over YYMMDDNNN), one for each
# check digit 0-9. 19121212-1212 is Tolvan Tolvansson, Skatteverket's published test person.
VALID = [
    "200801011230",
    "201006300451",
    "191212121212",
    "200801011263",
    "200711203844",
    "200801011255",
    "199909099096",
    "200402293567",  # born on a leap day
    "200505055558",  # a 5 in a doubled place: 2 x 5 = 10, whose digit sum is 1
    "200303175129",
]


def test_one_valid_number_for_each_check_digit() -> None:
    assert sorted(number[-1] for number in VALID) == list("0123456789")
    for number in VALID:
        assert personnummer.luhn_check_digit(number[2:11]) == int(number[-1])
        assert personnummer.normalize(number) == number
        assert personnummer.normalize(f"{number[:8]}-{number[8:]}") == number
        assert personnummer.is_valid(number)


def test_the_check_digit_is_the_luhn_definition_for_any_nine_digits() -> None:
    def by_definition(nine: str) -> int:
        total = 0
        for index, char in enumerate(nine):
            product = int(char) * (2 if index % 2 == 0 else 1)
            total += product - 9 if product > 9 else product
        return (10 - total % 10) % 10

    rng = random.Random(9)
    samples = ["000000000", "999999999", "555555555"]
    samples += [f"{rng.randrange(10**9):09d}" for _ in range(20_000)]
    for nine in samples:
        assert personnummer.luhn_check_digit(nine) == by_definition(nine), nine


@pytest.mark.parametrize("number", VALID)
def test_every_other_check_digit_is_refused(number: str) -> None:
    for wrong in set("0123456789") - {number[-1]}:
        with pytest.raises(personnummer.InvalidPersonnummer) as refused:
            personnummer.normalize(number[:-1] + wrong)
        assert str(refused.value) == "check digit does not match"
        assert not personnummer.is_valid(number[:-1] + wrong)


def test_skolverkets_sample_number_fails_its_check_digit() -> None:
    # ../shared/reference/ss12000/sample-person.json uses 200112240129: a placeholder, not valid.
    with pytest.raises(personnummer.InvalidPersonnummer, match="check digit"):
        personnummer.normalize("200112240129")


FORMAT = "must be 12 digits YYYYMMDDNNNC (a hyphen before the last four is allowed)"
CENTURY = "must include the century (YYYYMMDDNNNC), 10-digit forms are ambiguous"
NOT_A_DATE = "the date part is not a calendar date"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("0801011230", CENTURY),
        ("080101-1230", CENTURY),
        ("20081301-1230", NOT_A_DATE),
        ("20070229-1230", NOT_A_DATE),  # 2007 is not a leap year
        ("20080160-1230", NOT_A_DATE),  # day 60: neither a date nor a samordningsnummer
        ("20080192-1230", NOT_A_DATE),  # samordningsnummer for 32 January
        ("2008010112", CENTURY),
        ("20080101123", FORMAT),
        ("abc", FORMAT),
    ],
)
def test_invalid_numbers_give_a_reason_without_the_value(value: str, reason: str) -> None:
    with pytest.raises(personnummer.InvalidPersonnummer) as caught:
        personnummer.normalize(value)
    assert str(caught.value) == reason
    assert value not in str(caught.value)
    assert not personnummer.is_valid(value)


@pytest.mark.parametrize(
    ("number", "born"),
    [("200801611237", date(2008, 1, 1)), ("200402895551", date(2004, 2, 29)),
     ("200612912345", date(2006, 12, 31))],
)  # fmt: skip
def test_samordningsnummer_day_plus_sixty(number: str, born: date) -> None:
    assert personnummer.birth_date(personnummer.normalize(number)) == born


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2020, 12, 31)), st.integers(0, 2**32))
def test_generated_numbers_are_valid_and_encode_the_birth_date(born: date, seed: int) -> None:
    number = personnummer.generate(born, random.Random(seed))
    assert personnummer.normalize(number) == number
    assert personnummer.birth_date(number) == born


def test_generated_serial_numbers_cover_000_to_999() -> None:
    rng = random.Random(15)
    numbers = {personnummer.generate(date(2008, 1, 1), rng) for _ in range(20_000)}
    assert {personnummer.normalize(number) for number in numbers} == numbers
    assert {number[8:11] for number in numbers} == {f"{n:03d}" for n in range(1000)}


def test_age_counts_whole_years() -> None:
    assert personnummer.age_on(date(2008, 6, 30), date(2026, 6, 29)) == 17
    assert personnummer.age_on(date(2008, 6, 30), date(2026, 6, 30)) == 18


def test_digits_of_other_scripts_are_no_personnummer() -> None:
    # Full-width digits match `\d` in Python's regular expressions; a personnummer is ASCII.
    with pytest.raises(personnummer.InvalidPersonnummer) as caught:
        personnummer.normalize("２００８０１０１１２３０")
    assert str(caught.value) == FORMAT
