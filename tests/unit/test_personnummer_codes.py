"""InvalidPersonnummer says why with a stable `code` (its English message is for logs and may be
reworded); the messages themselves are unchanged."""

from __future__ import annotations

import pytest

from shared.personnummer import InvalidPersonnummer, normalize


@pytest.mark.parametrize(
    ("value", "code", "message"),
    [
        ("", "format", "must be 12 digits"),
        ("2008-01-01-1230", "format", "must be 12 digits"),
        ("080101-1230", "century", "must include the century"),
        ("200801011231", "check_digit", "check digit does not match"),
        ("20080230-1230", "not_a_date", "not a calendar date"),
    ],
)
def test_each_problem_has_its_code_and_its_message(value: str, code: str, message: str) -> None:
    with pytest.raises(InvalidPersonnummer) as raised:
        normalize(value)
    assert raised.value.code == code
    assert message in str(raised.value)
