"""Swedish personnummer and samordningsnummer: validation and (for synthetic data) generation.

A personnummer is YYYYMMDD-NNNC (12 digits here, century included); the last digit is a Luhn check
digit over the 10 digits YYMMDDNNN. A samordningsnummer adds 60 to the day. Values are never logged:
errors name the field and the reason only.
"""

from __future__ import annotations

import random
import re
from datetime import date
from typing import Literal

_PATTERN = re.compile(r"^([0-9]{8})-?([0-9]{4})$|^([0-9]{6})[-+]?([0-9]{4})$")


Problem = Literal["format", "century", "not_a_date", "check_digit"]


class InvalidPersonnummer(ValueError):
    """The value is not a valid personnummer; the message never repeats the value. `code` says
    why, stable for callers that word it themselves: `format` (not 12 digits), `century` (10
    digits, no century), `not_a_date` (the date part is no calendar date), `check_digit`."""

    def __init__(self, message: str, code: Problem = "format") -> None:
        super().__init__(message)
        self.code: Problem = code


# The digit sum of twice each digit (Luhn doubles every other digit, from the first).
_DOUBLED = str.maketrans("0123456789", "0246813579")


def luhn_check_digit(nine_digits: str) -> int:
    """The Luhn check digit over nine ASCII digits (callers check the form first): the doubled
    digits' digit sums by a translation table, then one sum over the bytes (about a third of a
    loop's cost; every feed record pays it)."""
    digits = nine_digits[0::2].translate(_DOUBLED) + nine_digits[1::2]
    return -(sum(digits.encode()) - 48 * len(digits)) % 10


def normalize(value: str) -> str:
    """The 12-digit form YYYYMMDDNNNC, validated; raises InvalidPersonnummer with the reason."""
    match = _PATTERN.match(value.strip())
    if not match:
        raise InvalidPersonnummer(
            "must be 12 digits YYYYMMDDNNNC (a hyphen before the last four is allowed)", "format"
        )
    if match.group(1):
        digits = match.group(1) + match.group(2)
    else:
        raise InvalidPersonnummer(
            "must include the century (YYYYMMDDNNNC), 10-digit forms are ambiguous", "century"
        )
    birth_date(digits)
    if luhn_check_digit(digits[2:11]) != int(digits[11]):
        raise InvalidPersonnummer("check digit does not match", "check_digit")
    return digits


def birth_date(digits: str) -> date:
    """The birth date a 12-digit personnummer or samordningsnummer encodes."""
    year, month, day = int(digits[0:4]), int(digits[4:6]), int(digits[6:8])
    if day > 60:  # samordningsnummer
        day -= 60
    try:
        return date(year, month, day)
    except ValueError:
        raise InvalidPersonnummer("the date part is not a calendar date", "not_a_date") from None


def age_on(born: date, on: date) -> int:
    """Age in whole years on a date."""
    years = on.year - born.year
    return years - 1 if (on.month, on.day) < (born.month, born.day) else years


def is_valid(value: str) -> bool:
    try:
        normalize(value)
    except InvalidPersonnummer:
        return False
    return True


def generate(born: date, rng: random.Random) -> str:
    """A valid synthetic personnummer for someone born on `born`."""
    serial = f"{rng.randrange(0, 1000):03d}"
    nine = f"{born:%y%m%d}{serial}"
    return f"{born:%Y%m%d}{serial}{luhn_check_digit(nine)}"
