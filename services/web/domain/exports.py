"""Lists as files for the coordinator's own reports: CSV for Swedish Excel (UTF-8 with a byte order
mark, `;` between fields, CRLF) and an Excel workbook (openpyxl), from the same rows (pure: the
files are made in memory).

A cell that begins like a formula (`=`, `+`, `-`, `@`) is written as text: a name or a free text
must never run as a formula in the coordinator's Excel (CSV injection). A file's name says what it
holds and when, never whom.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from services.web.domain.clock import shown
from services.web.domain.swedish import LEAVING_REASONS, label, why_said
from services.web.domain.youth import who

Cell = str | int | float | date | None
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMATS = {"csv": "CSV (Excel, semikolon)", "xlsx": "Excel-arbetsbok (.xlsx)"}
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Sheet:
    """A list as a file holds it: its title, the Swedish column headings and the rows."""

    title: str
    headings: list[str]
    rows: list[list[Cell]] = field(default_factory=list)


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")  # Swedish Excel reads a decimal comma
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_bytes(sheet: Sheet) -> bytes:
    """UTF-8 with a byte order mark (Excel then reads å, ä, ö), `;` separated, CRLF."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(sheet.headings)
    writer.writerows([_text(v) for v in row] for row in sheet.rows)
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def xlsx_bytes(sheet: Sheet) -> bytes:
    """One worksheet: the headings in bold and frozen, dates as dates, numbers as numbers, text
    as text (never a formula)."""
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet.title[:31]
    ws.append(sheet.headings)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in sheet.rows:
        ws.append([_cell(v) for v in row])
    for written in ws.iter_rows(min_row=2):
        for made in written:
            if isinstance(made.value, str):
                made.data_type = "s"  # a leading "=" stays text
            elif isinstance(made.value, date):
                made.number_format = "yyyy-mm-dd"
    ws.freeze_panes = "A2"
    for i, heading in enumerate(sheet.headings):
        longest = max([len(heading), *(len(_text(r[i])) for r in sheet.rows[:200])])
        ws.column_dimensions[get_column_letter(i + 1)].width = min(longest + 2, 60)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(value: Cell) -> Cell:
    """A value as a workbook takes it (control characters, which no cell may hold, left out)."""
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value if value is not None else ""


def file_bytes(sheet: Sheet, kind: str) -> bytes:
    return xlsx_bytes(sheet) if kind == "xlsx" else csv_bytes(sheet)


def filename(what: str, tenant: str, today: date, kind: str) -> str:
    """`kaa-arbetslista-forsta-kontakt-0180-2026-03-02.xlsx`: what and when, never whom."""
    plain = what.lower().translate(str.maketrans("åäöé", "aaoe"))
    slug = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")
    return f"kaa-{slug}-{tenant}-{today.isoformat()}.{'xlsx' if kind == 'xlsx' else 'csv'}"


def rows_of(sheet: Sheet) -> list[list[Any]]:
    """The rows as a file would show them (for comparing a page with its export)."""
    return [[_text(v) for v in row] for row in sheet.rows]


# The lists a coordinator exports, with Swedish column headings.
STATUSES = {"in_scope": "I aktivitetsansvaret", "out_of_scope": "Har lämnat"}


def worklist_sheet(
    heading: str, items: list[dict[str, Any]], names: dict[str, str] | None
) -> Sheet:
    """A worklist's items (`names`: youth id → name, when asked for and readable)."""
    headings = ["Ungdomens id", *(["Namn"] if names is not None else []),
                "Orsak", "På listan sedan", "Tilldelad", "Kontaktklocka"]  # fmt: skip
    rows: list[list[Cell]] = []
    for item in items:
        clock = shown(item.get("clock"))
        youth = str(item["youth_id"])
        rows.append([
            youth, *([names.get(youth, "")] if names is not None else []),
            why_said(item.get("why"), str(item.get("reason") or "")),
            date.fromisoformat(str(item["since"])[:10]),
            who(item.get("assignee")) if item.get("assignee") else "Ej tilldelad",
            clock.text if clock else "",
        ])  # fmt: skip
    return Sheet(heading, headings, rows)


def register_sheet(items: list[dict[str, Any]], names: dict[str, str] | None) -> Sheet:
    """A filtered register list's rows."""
    headings = ["Ungdomens id", *(["Namn"] if names is not None else []), "Status",
                "I aktivitetsansvaret från", "Ansvaret upphör", "Lämnade", "Orsak",
                "Regelversion", "Kontakter", "Insatser"]  # fmt: skip

    def day(value: Any) -> date | None:
        return date.fromisoformat(str(value)[:10]) if value else None

    rows: list[list[Cell]] = []
    for item in items:
        youth = str(item["youth_id"])
        rows.append([
            youth, *([names.get(youth, "")] if names is not None else []),
            STATUSES.get(str(item.get("status")), str(item.get("status"))),
            day(item.get("entered_on")), day(item.get("scope_ends_on")), day(item.get("left_on")),
            label(LEAVING_REASONS, item.get("left_reason")) if item.get("left_reason") else None,
            str(item.get("rule_version") or ""), int(item.get("contacts") or 0),
            int(item.get("measures") or 0),
        ])  # fmt: skip
    return Sheet("Registerlista", headings, rows)


QUALITY_ROWS: tuple[tuple[str, str], ...] = (
    ("from", "Från"),
    ("to", "Till och med"),
    ("youths_in_scope", "Ungdomar i aktivitetsansvaret"),
    ("known_occupation_share", "Andel med känd sysselsättning (%)"),
    ("contacted_share", "Andel som fått ett kontaktförsök (%)"),
    ("measure_share", "Andel som erbjudits en insats (%)"),
    ("median_working_days_to_first_attempt", "Median, arbetsdagar till första kontaktförsöket"),
    ("episodes_begun", "Perioder som började under halvåret"),
    ("episodes_begun_without_attempt", "Perioder utan kontaktförsök än"),
    ("stale_records", "Utan aktuell sysselsättning vid halvårets slut"),
    ("never_contacted", "Aldrig kontaktade"),
)


def _figure(key: str, value: Any) -> Cell:
    if value is None:
        return None
    if key in ("from", "to"):
        return date.fromisoformat(str(value)[:10])
    if key.endswith("_share"):
        return round(float(value) * 100, 1)
    if key.startswith("median"):
        return float(value)
    return int(value)


def quality_sheet(halves: list[tuple[str, dict[str, Any]]]) -> Sheet:
    """The data-quality figures: one row per figure, one column per half-year (label, the
    register's figures), as a report's table has them."""
    rows: list[list[Cell]] = [
        [words, *(_figure(key, f.get(key)) for _, f in halves)] for key, words in QUALITY_ROWS
    ]
    return Sheet("Datakvalitet", ["Uppgift", *(label for label, _ in halves)], rows)
