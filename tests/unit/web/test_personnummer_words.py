"""Hitta en ungdom words a wrong personnummer in Swedish by the problem's code, not by matching the
English message."""

from __future__ import annotations

from typing import get_args

import pytest

from services.web.commands.youth import PNR_PROBLEMS, personnummer_problem
from shared.personnummer import Problem


def test_every_code_has_swedish_words() -> None:
    assert set(PNR_PROBLEMS) == set(get_args(Problem))


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("", "Fyll i personnummer."),
        ("  ", "Fyll i personnummer."),
        ("2008-01-01", "Personnummer ska skrivas med 12 siffror (ÅÅÅÅMMDD-NNNN)."),
        ("080101-1230", "Personnummer ska skrivas med 12 siffror, med århundradet (ÅÅÅÅMMDDNNNN)."),
        ("200801011231", "Personnumret stämmer inte: kontrollsiffran är fel."),
        ("20080230-1230", "Personnumrets födelsedatum finns inte i almanackan."),
        ("20080101-1230", None),
    ],
)
def test_a_wrong_personnummer_is_said_in_swedish_without_repeating_it(
    typed: str, said: str | None
) -> None:
    assert personnummer_problem(typed) == said
