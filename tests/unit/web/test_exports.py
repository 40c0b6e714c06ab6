"""Lists as files: CSV for Swedish Excel and a workbook, never a formula, never a name in the
file's name."""

from __future__ import annotations

import io
from datetime import date, datetime

import openpyxl

from services.web.domain.exports import Sheet, csv_bytes, filename, xlsx_bytes

SHEET = Sheet("Lista", ["Namn", "Antal", "Dag", "Andel"],
              [["=HYPERLINK(\"x\")", 3, date(2026, 3, 2), 66.7], ["Åsa Öberg", None, None, None]])  # fmt: skip


def test_csv_is_utf8_with_a_byte_order_mark_semicolons_and_crlf() -> None:
    made = csv_bytes(SHEET)
    assert made.startswith("\ufeffNamn;Antal;Dag;Andel\r\n".encode())
    lines = made.decode("utf-8-sig").split("\r\n")
    assert lines[1] == '"\'=HYPERLINK(""x"")";3;2026-03-02;66,7'  # text, not a formula
    assert lines[2] == "Åsa Öberg;;;"


def test_the_workbook_holds_the_rows_with_numbers_as_numbers_and_formulas_as_text() -> None:
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(SHEET)))
    sheet = book.active
    assert sheet is not None
    assert sheet.title == "Lista"
    assert sheet.freeze_panes == "A2"
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Namn", "Antal", "Dag", "Andel")
    assert rows[1][0] == '=HYPERLINK("x")'
    assert sheet["A2"].data_type == "s"
    assert (rows[1][1], rows[1][3]) == (3, 66.7)
    assert rows[1][2] == datetime(2026, 3, 2)  # a date cell (openpyxl reads it as midnight)
    assert rows[2][0] == "Åsa Öberg"


def test_a_files_name_says_what_and_when_never_whom() -> None:
    assert filename("arbetslista Första kontakt", "0180", date(2026, 3, 2), "xlsx") == (
        "kaa-arbetslista-forsta-kontakt-0180-2026-03-02.xlsx"
    )
    assert filename("registerlista", "0180", date(2026, 3, 2), "csv").endswith(".csv")
