"""`personnummer.normalize` and `birth_date` give exactly what their definition gives: the same
number, or the same refusal (the same reason and code, never the value), for any text.

The definition is the first form of the validator, kept here: the pattern over the stripped
value, then the calendar date, then the Luhn check digit. Every feed record pays `normalize`, so a
faster form (one that skips the pattern for the 12-digit form, or keeps the birth dates it has
seen) must agree with it on every kind of input: padded, hyphenated, 10-digit, samordningsnummer,
impossible dates, wrong check digits, other scripts' digits and control characters.
"""

from __future__ import annotations

import re
from datetime import date

from hypothesis import example, given, settings
from hypothesis import strategies as st

from shared import personnummer
from shared.personnummer import InvalidPersonnummer

_PATTERN = re.compile(r"^([0-9]{8})-?([0-9]{4})$|^([0-9]{6})[-+]?([0-9]{4})$")


def _birth_date(digits: str) -> date:
    year, month, day = int(digits[0:4]), int(digits[4:6]), int(digits[6:8])
    if day > 60:
        day -= 60
    try:
        return date(year, month, day)
    except ValueError:
        raise InvalidPersonnummer("the date part is not a calendar date", "not_a_date") from None


def _normalize(value: str) -> str:
    match = _PATTERN.match(value.strip())
    if not match:
        raise InvalidPersonnummer(
            "must be 12 digits YYYYMMDDNNNC (a hyphen before the last four is allowed)", "format"
        )
    if not match.group(1):
        raise InvalidPersonnummer(
            "must include the century (YYYYMMDDNNNC), 10-digit forms are ambiguous", "century"
        )
    digits = match.group(1) + match.group(2)
    _birth_date(digits)
    if personnummer.luhn_check_digit(digits[2:11]) != int(digits[11]):
        raise InvalidPersonnummer("check digit does not match", "check_digit")
    return digits


def _outcome(function: object, value: str) -> tuple[str, str, str]:
    """('ok', result, '') or (exception type, message, code)."""
    try:
        return "ok", str(function(value)), ""  # type: ignore[operator]
    except Exception as exc:  # the point: any refusal compared
        return type(exc).__name__, str(exc), getattr(exc, "code", "")


# Digits of every script (which `str.isdigit` takes and the pattern does not), the separators the
# pattern allows, whitespace `strip` removes, control characters and a letter.
_CHARS = st.sampled_from([*"0123456789-+ \t\n\r\x00\x0b\x1c\u00a0\u2028aZ٣１߂", "\U0001d7ce"])


@st.composite
def _numbers(draw: st.DrawFn) -> str:
    """Numbers near the valid ones: a real date or an impossible one, a samordningsnummer, each
    check digit, written in any of the accepted and refused forms."""
    year = draw(st.integers(1890, 2030))
    month = draw(st.integers(0, 13))
    day = draw(st.integers(0, 32)) + draw(st.sampled_from((0, 60)))
    serial = draw(st.integers(0, 999))
    check = draw(st.integers(0, 9))
    digits = f"{year:04d}{month:02d}{day:02d}{serial:03d}{check}"
    form = draw(st.integers(0, 5))
    written = [
        digits,
        f"{digits[:8]}-{digits[8:]}",
        f"{digits[2:8]}-{digits[8:]}",
        f"{digits[2:8]}+{digits[8:]}",
        f"  {digits}\n",
        digits[:-1],
    ][form]
    return written


@settings(max_examples=3000, deadline=None)
@given(st.one_of(_numbers(), st.text(_CHARS, max_size=16), st.text(max_size=14)))
@example("200801011230")
@example("200802301230")  # no 30 February
@example("200801611236")  # a samordningsnummer (day 01 + 60)
@example("20080101123٠")  # an Arabic-Indic zero as the check digit
@example("２００８０１０１１２３０")  # fullwidth digits
@example("200801011230\n")
def test_normalize_is_its_definition(value: str) -> None:
    assert _outcome(personnummer.normalize, value) == _outcome(_normalize, value)


@settings(max_examples=2000, deadline=None)
@given(st.one_of(_numbers(), st.text(_CHARS, min_size=8, max_size=12)))
def test_birth_date_is_its_definition(value: str) -> None:
    first, again = (_outcome(personnummer.birth_date, value) for _ in range(2))  # one cached
    assert first == again == _outcome(_birth_date, value)
