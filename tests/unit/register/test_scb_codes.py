"""The SCB code list: which version codes a period, and how a register code becomes the file's.

Facts from `shared/codelists/scb-report.json` (kaa's own codes until SCB's specification is adopted)
and DOMAIN.md: the activity responsibility began on 2015-01-01, so a list is in force from then.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.register.adapters.scb_codes import code_versions, scb_codes
from services.register.domain.scb.codes import CODE_LIST, ScbCodes, in_force, parse_versions


def test_codes_come_from_the_versioned_list_with_a_fallback_reported() -> None:
    codes = scb_codes(date(2026, 1, 1))
    assert codes.version == "2026-1"
    assert codes.code("occupation", "work") == ("01", False)
    assert codes.code("school_background", None) == ("99", False), "no known school: 'none'"
    assert codes.code("measure_type", "own_mentoring") == ("90", True), "own measure: other"
    assert codes.code("leaving_reason", "something_new") == (None, True), "no fallback: error"
    with pytest.raises(ValueError, match="no scb-report code list is in force"):
        scb_codes(date(2014, 12, 31))


def test_the_shipped_list_is_in_force_from_the_first_day_of_the_activity_responsibility() -> None:
    assert CODE_LIST == "scb-report"
    first = scb_codes(date(2015, 1, 1))
    assert (first.version, first.valid_from) == ("2026-1", date(2015, 1, 1))
    assert (first.file_format, first.format_version, first.header) == ("KAA-SCB", "1", "KAA-SCB;1")
    assert [v.version for v in code_versions()] == ["2026-1"]
    with pytest.raises(ValueError, match="in force") as refused:
        scb_codes(date(2014, 12, 31))
    assert str(refused.value) == "period: no scb-report code list is in force on 2014-12-31"


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("occupation", "studies_komvux", ("02", False)),
        ("occupation", "unknown", ("99", False)),
        ("occupation", None, ("99", True)),  # no 'none' entry: the fallback, as no code
        ("occupation", "gap_year", ("99", True)),
        ("school_background", "IM", ("22", False)),
        ("school_background", "SARVUXGY", ("32", False)),
        ("school_background", "XX", ("99", True)),
        ("measure_type", "internship", ("03", False)),
        ("measure_type", None, ("90", True)),
        ("leaving_reason", "turned_20", ("1", False)),
        ("leaving_reason", "deceased", ("4", False)),
        ("leaving_reason", "registered_in_error", ("5", False)),
        ("leaving_reason", None, (None, True)),
    ],
)
def test_a_register_code_becomes_the_files_code(
    kind: str, value: str | None, expected: tuple[str | None, bool]
) -> None:
    assert scb_codes(date(2026, 7, 1)).code(kind, value) == expected


def version(name: str, valid_from: str, fmt: str = "KAA-SCB") -> dict[str, Any]:
    maps = {"occupation": {"fallback": "9", "codes": {"work": [name, "Arbete"]}}}
    return {
        "version": name,
        "valid_from": valid_from,
        "file_format": fmt,
        "format_version": name[-1],
        "maps": maps,
    }


# Listed newest first: the document's order is not the order of validity.
def two() -> tuple[ScbCodes, ...]:
    return parse_versions(
        {"versions": [version("2027-1", "2027-07-01"), version("2015-1", "2015-01-01")]}
    )


def test_versions_are_read_oldest_first_with_every_field() -> None:
    versions = two()
    assert (
        ScbCodes("2015-1", date(2015, 1, 1), "KAA-SCB", "1", version("2015-1", "x")["maps"]),
        ScbCodes("2027-1", date(2027, 7, 1), "KAA-SCB", "1", version("2027-1", "x")["maps"]),
    ) == versions
    assert versions[1].code("occupation", "work") == ("2027-1", False)
    assert versions[1].code("occupation", "other") == ("9", True)


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2015, 1, 1), "2015-1"),
        (date(2027, 6, 30), "2015-1"),  # the day before the new version
        (date(2027, 7, 1), "2027-1"),  # the day it is valid from
        (date(2031, 1, 1), "2027-1"),
    ],
)
def test_a_period_is_coded_in_the_latest_version_valid_on_its_first_day(
    on: date, expected: str
) -> None:
    assert in_force(two(), on).version == expected


def test_no_version_before_the_first() -> None:
    with pytest.raises(ValueError, match=r"^period: no scb-report code list is in force on 2014"):
        in_force(two(), date(2014, 12, 31))
