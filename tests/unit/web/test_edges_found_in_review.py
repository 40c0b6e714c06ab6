"""Inputs a user can give that once ended in a server error (found in review): a CSV of
separators only, the last day there is as the end of a period, a control character in a cell of
an Excel export."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from services.web.domain.exports import Sheet, xlsx_bytes
from services.web.domain.inspection import period_bound
from services.web.domain.school import read_upload


def test_a_file_of_separators_only_is_empty() -> None:
    assert read_upload(b";;;\n;;\n").problem == "Filen är tom"


def test_the_last_day_there_is_is_no_end_of_a_period() -> None:
    assert period_bound("9999-12-31", end=True) is None
    assert period_bound("9999-12-31", end=False) is not None


def test_a_control_character_is_left_out_of_a_workbook_cell() -> None:
    made = xlsx_bytes(Sheet("Lista", ["Namn"], [["Vera\x07 Ek"]]))
    sheet = load_workbook(io.BytesIO(made)).active
    assert sheet is not None
    assert sheet["A2"].value == "Vera Ek"
