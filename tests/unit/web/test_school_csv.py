"""The school's CSV file read row by row (`services.web.domain.school`): UTF-8 with or without a
byte order mark, `;` or `,`, a header row naming the columns; what stops a file (another encoding,
missing columns, nothing in it, too big) and what refuses one row (each problem in Swedish, naming
the column, never the value) — and the stable, keyed notification id."""

from __future__ import annotations

from datetime import date

import pytest

from services.web.domain import school
from services.web.domain.school import Notification, read_upload

ONE, TWO = "200809141377", "200809145824"  # valid, made-up students
HEADER = "personnummer;händelse;datum;skolform;skolenhet;huvudman"


def csv_of(*lines: str, bom: bool = False) -> bytes:
    return (("\ufeff" if bom else "") + "\r\n".join(lines) + "\r\n").encode("utf-8")


@pytest.mark.parametrize("bom", [False, True])
def test_a_good_file_gives_each_row_its_notification_numbered_as_a_spreadsheet_does(
    bom: bool,
) -> None:
    read = read_upload(csv_of(HEADER, f"{ONE};slutade;2026-02-27;GY;enhet-1;2120000142",
                              "", "20080914-5824;Frånvaro;2026-02-20;gys;enhet-2;", bom=bom))  # fmt: skip
    assert read.problem is None
    assert [row.number for row in read.rows] == [2, 4]  # the blank line 3 skipped, not renumbered
    assert [row.notification for row in read.rows] == [
        Notification(ONE, "left", date(2026, 2, 27), "GY", "enhet-1", "2120000142"),
        Notification(TWO, "absence", date(2026, 2, 20), "GYS", "enhet-2", None),
    ]


def test_commas_and_columns_in_any_order_and_case_are_read_too() -> None:
    read = read_upload(csv_of("Skolenhet,DATUM,Handelse,Skolform,Personnummer",
                              f'"enhet, norra",2026-02-27,började,GR,{ONE}'))  # fmt: skip
    [row] = read.rows
    assert row.notification == Notification(ONE, "started", date(2026, 2, 27), "GR", "enhet, norra")


def test_a_file_in_another_encoding_is_refused_saying_how_to_save_it() -> None:
    read = read_upload((HEADER + f"\n{ONE};frånvaro;2026-02-27;GY;enhet-1;\n").encode("cp1252"))
    assert read.rows == []
    assert read.problem is not None
    assert "UTF-8" in read.problem
    assert "CSV UTF-8" in read.problem


@pytest.mark.parametrize("raw", [b"", b"\xef\xbb\xbf", b"\r\n  \n;;\n"[:4]])
def test_an_empty_file_is_said_to_be_empty(raw: bytes) -> None:
    assert read_upload(raw).problem == "Filen är tom"


def test_a_header_alone_has_no_rows_to_report() -> None:
    assert read_upload(csv_of(HEADER)).problem == "Filen har inga rader under rubrikraden"
    assert read_upload(school.template_csv()).problem == "Filen har inga rader under rubrikraden"


def test_missing_columns_are_named_in_swedish() -> None:
    read = read_upload(csv_of("personnummer;datum;skolform", f"{ONE};2026-02-27;GY"))
    assert read.problem == "Rubrikraden saknar kolumnerna händelse, skolenhet (rad 1)"
    one = read_upload(
        csv_of("personnummer;händelse;datum;skolform", f"{ONE};slutade;2026-02-27;GY")
    )
    assert one.problem == "Rubrikraden saknar kolumnen skolenhet (rad 1)"


def test_a_file_too_big_or_too_long_is_refused_before_any_row() -> None:
    assert read_upload(b"x" * (school.MAX_BYTES + 1)).problem == "Filen är för stor: högst 1 MB"
    many = [HEADER] + [f"{ONE};slutade;2026-02-27;GY;enhet-1;"] * (school.MAX_ROWS + 1)
    assert "fler än 1000 rader" in (read_upload(csv_of(*many)).problem or "")
    assert "nolltecken" in (read_upload(b"a;b\x00\n").problem or "")


def test_each_bad_row_is_refused_on_its_own_naming_the_column_never_the_value() -> None:
    read = read_upload(csv_of(
        HEADER,
        f"{ONE};slutade;2026-02-27;GY;enhet-1;",
        "200809141378;slutade;2026-02-27;GY;enhet-1;",
        f"{ONE};flyttade;27/2 2026;XX;;",
        f"{ONE};slutade;2026-02-30;GY;=HYPERLINK(\"http://x\");@SUM(1)",
        f"{ONE};slutade;2026-02-27",
        "0809141377;;;GY;enhet-1;",
        f"{TWO};slutade;2026-02-27;GY;{'e' * 101};",
    ))  # fmt: skip
    problems = {row.number: row.problems for row in read.rows}
    assert read.rows[0].notification is not None
    assert problems[2] == []
    assert problems[3] == ["Personnumret stämmer inte: kontrollsiffran är fel"]
    assert problems[4] == [
        "Vad som hänt ska vara började, slutade eller frånvaro",
        "Datum ska vara ett datum som finns, skrivet ÅÅÅÅ-MM-DD",
        "Skolform ska vara en kod ur SS 12000, till exempel GY",
        "Skolenhet saknas",
    ]
    formula = "börjar med =, +, - eller @ och kan tolkas som en formel i ett kalkylprogram"
    assert problems[5] == [
        f"Skolenhet {formula}: ta bort tecknet",
        f"Huvudman {formula}: ta bort tecknet",
        "Datum ska vara ett datum som finns, skrivet ÅÅÅÅ-MM-DD",
    ]
    assert problems[6] == ["Raden har 3 fält men rubrikraden 6"]
    assert problems[7] == [
        "Personnumret ska skrivas med 12 siffror, med århundradet (ÅÅÅÅMMDDNNNN)",
        "Vad som hänt saknas",
        "Datum saknas",
    ]
    assert problems[8] == ["Skolenhet får vara högst 100 tecken"]
    said = " ".join(p for row in read.rows for p in row.problems)
    for value in ("200809141378", "0809141377", "flyttade", "27/2", "XX", "HYPERLINK", "SUM"):
        assert value not in said


def test_an_unclosed_quote_refuses_its_row_by_the_count_of_its_fields() -> None:
    read = read_upload(csv_of(HEADER, f'{ONE};"slutade;2026-02-27;GY;enhet-1;'))
    assert [(r.number, r.problems) for r in read.rows] == [
        (2, ["Raden har 2 fält men rubrikraden 6"])
    ]


def test_the_notification_id_is_the_same_for_the_same_report_and_keyed() -> None:
    said = Notification(ONE, "left", date(2026, 2, 27), "GY", "enhet-1", "2120000142")
    same = school.notification_id(b"k", "0180", said)
    assert school.notification_id(b"k", "0180", said) == same
    assert school.notification_id(b"k", "0180", Notification(*said.__dict__.values())) == same
    assert school.notification_id(b"other key", "0180", said) != same
    assert school.notification_id(b"k", "1480", said) != same
    for changed in (Notification(TWO, "left", said.on, "GY", "enhet-1"),
                    Notification(ONE, "absence", said.on, "GY", "enhet-1"),
                    Notification(ONE, "left", date(2026, 2, 26), "GY", "enhet-1"),
                    Notification(ONE, "left", said.on, "GYS", "enhet-1"),
                    Notification(ONE, "left", said.on, "GY", "enhet-2")):  # fmt: skip
        assert school.notification_id(b"k", "0180", changed) != same
    assert ONE not in str(same)
    assert said.masked == "20080914-****"


def test_the_template_is_the_header_row_with_a_byte_order_mark() -> None:
    raw = school.template_csv()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8-sig").splitlines() == [HEADER]
