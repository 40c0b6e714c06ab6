"""The school's report (skollagen 15 kap. 15 §) as the pages see it: the Swedish words for the
kinds and SS 12000 school types, one notification checked field by field, a CSV file of many read
row by row, and the stable notification id that makes a repeated row a duplicate, not a new one.

Pure: no I/O. Every problem is said in Swedish, naming the row and the column, never the value.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from services.web.domain.exports import FORMULA_START
from shared import personnummer
from shared.contracts.feeds import SCHOOL_TYPES as SS12000_SCHOOL_TYPES

Kind = Literal["started", "left", "absence"]
KINDS: dict[str, str] = {
    "started": "Började på skolan",
    "left": "Slutade på skolan",
    "absence": "Betydande ogiltig frånvaro",
}
# SS 12000 Code_SchoolType in Swedish, in the order the form offers them (upper secondary first:
# the schools that report under 15 kap. 15 § and 18 kap. 15 §).
SCHOOL_TYPES: dict[str, str] = {
    "GY": "Gymnasieskola",
    "GYS": "Anpassad gymnasieskola",
    "GR": "Grundskola",
    "GRS": "Anpassad grundskola",
    "TR": "Träningsskola",
    "SP": "Specialskola",
    "SAM": "Sameskola",
    "FKLASS": "Förskoleklass",
    "FS": "Förskola",
    "FTH": "Fritidshem",
    "OPPFTH": "Öppen fritidsverksamhet",
    "VUX": "Kommunal vuxenutbildning",
    "VUXGR": "Kommunal vuxenutbildning på grundläggande nivå",
    "VUXGY": "Kommunal vuxenutbildning på gymnasial nivå",
    "VUXSFI": "Kommunal vuxenutbildning i svenska för invandrare",
    "VUXSARGR": "Kommunal vuxenutbildning som anpassad utbildning på grundläggande nivå",
    "VUXSARTR": "Kommunal vuxenutbildning som anpassad utbildning, träningsskolenivå",
    "VUXSARGY": "Kommunal vuxenutbildning som anpassad utbildning på gymnasial nivå",
    "SFI": "Svenska för invandrare",
    "SARVUX": "Anpassad vuxenutbildning",
    "SARVUXGR": "Anpassad vuxenutbildning på grundläggande nivå",
    "SARVUXGY": "Anpassad vuxenutbildning på gymnasial nivå",
    "FHS": "Folkhögskola",
    "YH": "Yrkeshögskola",
    "HS": "Högskola",
    "KU": "Kulturskola",
    "KKU": "Konst- och kulturutbildning",
    "STF": "Studieförbund",
    "ABU": "Arbetsmarknadsutbildning",
    "AU": "Annan undervisning",
}
assert set(SCHOOL_TYPES) == SS12000_SCHOOL_TYPES, "every SS 12000 school type has Swedish words"

# The form's fields and their Swedish labels (the CSV's columns are named the same, see COLUMNS).
LABELS: dict[str, str] = {
    "personnummer": "Personnummer",
    "kind": "Vad som hänt",
    "on": "Datum",
    "school_type": "Skolform",
    "school_unit": "Skolenhet",
    "reporting_organisation": "Huvudman",
}
# The CSV's columns (header names, compared without case, accents or spaces) and the field each is.
COLUMNS: dict[str, str] = {
    "personnummer": "personnummer",
    "handelse": "kind",
    "datum": "on",
    "skolform": "school_type",
    "skolenhet": "school_unit",
    "huvudman": "reporting_organisation",
}
REQUIRED_COLUMNS = ("personnummer", "handelse", "datum", "skolform", "skolenhet")
HEADER = "personnummer;händelse;datum;skolform;skolenhet;huvudman"
# The words a CSV's `händelse` may hold (compared without case or accents), and the kind each is.
KIND_WORDS: dict[str, Kind] = {
    "borjade": "started", "borjat": "started", "started": "started",
    "slutade": "left", "slutat": "left", "left": "left",
    "franvaro": "absence", "absence": "absence",
}  # fmt: skip
MAX_BYTES = 1_000_000
MAX_ROWS = 1000
UNIT_MAX = 100
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

PNR_PROBLEMS: dict[personnummer.Problem, str] = {
    "format": "ska skrivas med 12 siffror (ÅÅÅÅMMDD-NNNN)",
    "century": "ska skrivas med 12 siffror, med århundradet (ÅÅÅÅMMDDNNNN)",
    "check_digit": "stämmer inte: kontrollsiffran är fel",
    "not_a_date": "har ett födelsedatum som inte finns i almanackan",
}


@dataclass(frozen=True)
class Notification:
    """One report, checked: what identify's `POST /v1/school-notifications` is sent."""

    personnummer: str  # the 12 digits
    kind: Kind
    on: date
    school_type: str
    school_unit: str
    reporting_organisation: str | None = None

    @property
    def masked(self) -> str:
        """The personnummer as a page may show it: the birth date, the last four hidden."""
        return f"{self.personnummer[:8]}-****"

    def body(self, notification_id: uuid.UUID) -> dict[str, str]:
        made = {"personnummer": self.personnummer, "kind": self.kind, "on": self.on.isoformat(),
                "school_type": self.school_type, "school_unit": self.school_unit,
                "notification_id": str(notification_id)}  # fmt: skip
        if self.reporting_organisation:
            made["reporting_organisation"] = self.reporting_organisation
        return made


def notification_id(key: bytes, tenant: str, notification: Notification) -> uuid.UUID:
    """The notification's id: a keyed hash of what identify compares (municipality, student,
    kind, day, school type and unit), so the same report made again — the same row in a file
    uploaded twice, the form sent twice — is a repeat identify records once. Keyed, so that the id
    (in events and logs) cannot be traced back to the personnummer by trying numbers."""
    said = "\x1f".join((tenant, notification.personnummer, notification.kind,
                        notification.on.isoformat(), notification.school_type,
                        notification.school_unit))  # fmt: skip
    digest = hmac.new(key, said.encode(), hashlib.sha256).digest()
    return uuid.UUID(bytes=digest[:16], version=4)


def plain(text: str) -> str:
    """`text` without case, accents or spaces: how a header or a word of the file is compared."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in decomposed if c.isalnum())


def checked(fields: Mapping[str, str]) -> Notification | dict[str, str]:
    """The notification `fields` (by field name, as typed) make, or the problems by field in
    Swedish (each naming the field, never repeating the value)."""
    problems: dict[str, str] = {}
    values = {name: str(fields.get(name, "") or "").strip() for name in LABELS}
    for name, value in values.items():
        if value.startswith(FORMULA_START):
            problems[name] = (f"{LABELS[name]} börjar med =, +, - eller @ och kan tolkas som en "
                              "formel i ett kalkylprogram: ta bort tecknet")  # fmt: skip
    number = ""
    if "personnummer" not in problems:
        if not values["personnummer"]:
            problems["personnummer"] = "Personnummer saknas"
        else:
            try:
                number = personnummer.normalize(values["personnummer"])
            except personnummer.InvalidPersonnummer as invalid:
                problems["personnummer"] = f"Personnumret {PNR_PROBLEMS[invalid.code]}"
    kind = KIND_WORDS.get(plain(values["kind"]))
    if kind is None and "kind" not in problems:
        problems["kind"] = ("Vad som hänt saknas" if not values["kind"] else
                            "Vad som hänt ska vara började, slutade eller frånvaro")  # fmt: skip
    day = _day(values["on"])
    if day is None and "on" not in problems:
        problems["on"] = ("Datum saknas" if not values["on"] else
                          "Datum ska vara ett datum som finns, skrivet ÅÅÅÅ-MM-DD")  # fmt: skip
    school_type = values["school_type"].upper()
    if school_type not in SCHOOL_TYPES and "school_type" not in problems:
        problems["school_type"] = ("Skolform saknas" if not school_type else
                                   "Skolform ska vara en kod ur SS 12000, till exempel GY")  # fmt: skip
    for name in ("school_unit", "reporting_organisation"):
        if len(values[name]) > UNIT_MAX and name not in problems:
            problems[name] = f"{LABELS[name]} får vara högst {UNIT_MAX} tecken"
    if not values["school_unit"] and "school_unit" not in problems:
        problems["school_unit"] = "Skolenhet saknas"
    if problems or kind is None or day is None:
        return problems
    return Notification(number, kind, day, school_type, values["school_unit"],
                        values["reporting_organisation"] or None)  # fmt: skip


def _day(text: str) -> date | None:
    if not _DAY.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class Row:
    """One data row of a file: its number (as a spreadsheet numbers it: the header is row 1) and
    the notification it makes, or the problems."""

    number: int
    notification: Notification | None = None
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Upload:
    """A file read: its rows, or the one problem that stopped it being read at all."""

    rows: list[Row] = field(default_factory=list)
    problem: str | None = None


def read_upload(raw: bytes) -> Upload:
    """The file's rows, each checked on its own (one bad row never stops the others). UTF-8, with
    or without a byte order mark; `;` or `,` between the columns; a header row naming them."""
    if len(raw) > MAX_BYTES:
        return Upload(problem=f"Filen är för stor: högst {MAX_BYTES // 1_000_000} MB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return Upload(problem="Filen är inte sparad som UTF-8. Spara den som ”CSV UTF-8” i "
                              "kalkylprogrammet och ladda upp den igen")  # fmt: skip
    if "\x00" in text:
        return Upload(problem="Filen är ingen textfil (den innehåller nolltecken)")
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        return Upload(problem="Filen är tom")
    header_line = next(line for line in lines if line.strip())
    delimiter = ";" if header_line.count(";") >= header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        records = [(reader.line_num, record) for record in reader]
    except csv.Error:
        return Upload(problem="Filen kunde inte läsas som CSV (ett citattecken avslutas aldrig)")
    records = [(n, r) for n, r in records if any(cell.strip() for cell in r)]
    if not records:  # only separators
        return Upload(problem="Filen är tom")
    header_at, header = records[0]
    columns = [COLUMNS.get(plain(name)) for name in header]
    missing = [name for name in REQUIRED_COLUMNS if COLUMNS[name] not in columns]
    if missing:
        said = ", ".join(_column_word(name) for name in missing)
        return Upload(problem=f"Rubrikraden saknar {'kolumnen' if len(missing) == 1 else 'kolumnerna'} "
                              f"{said} (rad {header_at})")  # fmt: skip
    data = records[1:]
    if not data:
        return Upload(problem="Filen har inga rader under rubrikraden")
    if len(data) > MAX_ROWS:
        return Upload(problem=f"Filen har fler än {MAX_ROWS} rader: dela upp den i flera filer")
    return Upload(rows=[_row(number, columns, record) for number, record in data])


def _column_word(name: str) -> str:
    return {"handelse": "händelse"}.get(name, name)


def _row(number: int, columns: list[str | None], record: list[str]) -> Row:
    if len(record) != len(columns):
        return Row(number, problems=[f"Raden har {len(record)} fält men rubrikraden "
                                     f"{len(columns)}"])  # fmt: skip
    fields = {name: value for name, value in zip(columns, record, strict=True) if name}
    made = checked(fields)
    if isinstance(made, Notification):
        return Row(number, made)
    return Row(number, problems=list(made.values()))


Outcome = Literal["accepted", "duplicate", "refused"]
OUTCOMES: dict[str, str] = {
    "accepted": "Mottagen",
    "duplicate": "Redan anmäld",
    "refused": "Inte mottagen",
}


@dataclass(frozen=True)
class RowResult:
    number: int
    outcome: Outcome
    message: str
    kind: str = ""  # the kind in Swedish, when the row was read


@dataclass(frozen=True)
class UploadResult:
    rows: list[RowResult]

    def count(self, outcome: Outcome) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)


def template_csv() -> bytes:
    """The file to fill in: the header row only (an example row uploaded by mistake would report
    a student), UTF-8 with a byte order mark so that a spreadsheet program shows å, ä and ö."""
    return ("\ufeff" + HEADER + "\r\n").encode("utf-8")
