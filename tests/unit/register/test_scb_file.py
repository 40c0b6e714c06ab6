"""The SCB file as a pure function of the register's rows: its bytes, counts, findings and the
checks on who is reported (DOMAIN.md section 6; the layout is in `domain/scb/report.py`).

Personnummer from outside the code: 191212121212 is Skatteverket's published example (valid),
200801011230 is valid (check digit 0), 191212121213 has a wrong check digit.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date

import pytest

from services.register.adapters.scb_codes import scb_codes
from services.register.domain.period import half_year
from services.register.domain.scb.checks import Finding
from services.register.domain.scb.report import ScbReport, build_report
from services.register.domain.scb.rows import (
    ContactDay,
    Episode,
    EventRange,
    Measure,
    Named,
    Occupation,
    ScbRows,
    by_youth,
)

H1 = half_year("2026H1")
CLOSED = date(2026, 7, 15)
A, B, C = (uuid.UUID(f"00000000-0000-4000-8000-00000000000{n}") for n in (1, 2, 3))
d = date.fromisoformat


def maybe(day: str | None) -> date | None:
    return None if day is None else d(day)


def episode(youth: uuid.UUID, entered: str, left: str | None = None, reason: str | None = None,
            background: str | None = "GY", n: int = 0) -> Episode:  # fmt: skip
    return Episode(youth, uuid.UUID(int=n), d(entered), maybe(left), reason, background)


def report(rows: ScbRows, today: date = CLOSED) -> ScbReport:
    return build_report("0180", H1, today, scb_codes(H1.start), rows)


RANGE = EventRange({"kaa.identify.events.v1/0": 12}, 20, "2026-07-01T10:00:00+00:00")
TWO_YOUTHS = ScbRows(
    episodes=(
        episode(A, "2025-09-01"),
        episode(B, "2026-01-20", "2026-05-10", "turned_20", "GR"),
    ),
    contacts=(ContactDay(A, d("2026-02-03")), ContactDay(B, d("2026-01-25"))),
    occupations=(Occupation(A, "work", d("2026-01-10"), None, d("2026-02-03"), uuid.UUID(int=1)),),
    measures=(
        Measure(
            A,
            uuid.UUID(int=2),
            "study_guidance",
            d("2026-03-02"),
            d("2026-04-30"),
            "studies_komvux",
        ),
    ),
    names={A: Named("open", "200801011230"), B: Named("open", "191212121212")},
    event_range=RANGE,
)
TWO_YOUTHS_FILE = (
    b"#KAA-SCB;1;0180;2026H1;2026-1\n"
    b"1;191212121212;2026-01-20;99;11\n"
    b"2;191212121212;2026-01-25;99\n"
    b"5;191212121212;2026-05-10;1\n"
    b"1;200801011230;2025-09-01;99;21\n"
    b"2;200801011230;2026-02-03;01\n"
    b"3;200801011230;2026-03-02;02\n"
    b"4;200801011230;2026-04-30;02\n"
)


def test_the_file_is_the_header_then_each_persons_records_in_order() -> None:
    made = report(TWO_YOUTHS)
    assert made.content == TWO_YOUTHS_FILE
    assert made.content_hash == hashlib.sha256(TWO_YOUTHS_FILE).hexdigest()
    assert (made.tenant, made.period, made.youths) == ("0180", H1, 2)
    assert made.records == {"1": 2, "2": 2, "3": 1, "4": 1, "5": 1}
    assert (made.findings, made.errors, made.warnings) == ([], [], [])
    assert made.named == [A, B]
    assert made.event_range == RANGE


def test_the_same_rows_in_another_order_give_the_same_bytes() -> None:
    rows = ScbRows(
        episodes=TWO_YOUTHS.episodes[::-1], contacts=TWO_YOUTHS.contacts[::-1],
        occupations=TWO_YOUTHS.occupations, measures=TWO_YOUTHS.measures, names=TWO_YOUTHS.names,
    )  # fmt: skip
    assert report(rows).content == TWO_YOUTHS_FILE


def test_one_persons_records_go_by_block_then_date_then_code() -> None:
    rows = ScbRows(
        episodes=(episode(A, "2025-09-01"),),
        contacts=(ContactDay(A, d("2026-03-01")), ContactDay(A, d("2026-02-01"))),
        measures=(
            Measure(A, uuid.UUID(int=1), "internship", d("2026-02-01")),
            Measure(A, uuid.UUID(int=2), "motivational_talks", d("2026-02-01")),
        ),
        names={A: Named("open", "200801011230")},
    )
    assert report(rows).content.decode().splitlines()[1:] == [
        "1;200801011230;2025-09-01;99;21",
        "2;200801011230;2026-02-01;99",
        "2;200801011230;2026-03-01;99",
        "3;200801011230;2026-02-01;01",
        "3;200801011230;2026-02-01;03",
    ]


def test_no_youth_in_scope_is_a_header_and_zero_records() -> None:
    made = report(ScbRows())
    assert made.content == b"#KAA-SCB;1;0180;2026H1;2026-1\n"
    assert (made.youths, made.named) == (0, [])
    assert made.records == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}
    assert made.event_range == EventRange({}, 0, None)


@pytest.mark.parametrize(("today", "ended"), [(d("2026-06-30"), False), (d("2026-07-01"), True)])
def test_a_report_of_a_half_year_not_ended_warns(today: date, ended: bool) -> None:
    made = report(ScbRows(), today)
    warning = Finding("warning", "period", "2026H1 has not ended; figures may change")
    assert made.findings == ([] if ended else [warning])
    assert made.warnings == made.findings
    assert made.errors == []


UNNAMED = [
    (Named("missing"), "no population record has named this youth"),
    (None, "no population record has named this youth"),
    (Named("redacted"), "the personal data was purged (retention); the youth cannot be named"),
    (Named("tampered"), "the sealed personal data fails authentication; see the service log"),
]


@pytest.mark.parametrize(("name", "problem"), UNNAMED)
def test_a_youth_who_cannot_be_named_is_an_error_and_not_in_the_file(
    name: Named | None, problem: str
) -> None:
    rows = ScbRows(
        episodes=(episode(A, "2026-02-01"), episode(B, "2025-09-01")),
        names={B: Named("open", "200801011230"), **({A: name} if name else {})},
    )
    made = report(rows)
    assert made.content == b"#KAA-SCB;1;0180;2026H1;2026-1\n1;200801011230;2025-09-01;99;21\n"
    assert made.youths == 2
    assert made.findings == [Finding("error", "personnummer", problem, A, 1)]
    assert made.errors == made.findings
    assert made.named == [B]
    assert made.records["1"] == 1


def test_an_open_identity_without_a_personnummer_is_not_available() -> None:
    rows = ScbRows(episodes=(episode(A, "2025-09-01"),), names={A: Named("open")})
    made = report(rows)
    assert made.findings == [Finding("error", "personnummer", "not available", A, 1)]
    assert made.records["1"] == 0
    assert made.named == [A], "its identity was opened (and logged)"


def test_a_wrong_check_digit_is_an_error_and_still_reported() -> None:
    rows = ScbRows(episodes=(episode(A, "2025-09-01"),), names={A: Named("open", "191212121213")})
    made = report(rows)
    assert made.content.endswith(b"\n1;191212121213;2025-09-01;99;21\n")
    assert made.errors == [
        Finding("error", "personnummer",
                "is not a valid personnummer or samordningsnummer (check digit)", A, 1)
    ]  # fmt: skip


def test_the_same_person_twice_is_an_error_naming_the_other_youth() -> None:
    rows = ScbRows(
        episodes=(episode(C, "2026-03-01"), episode(A, "2025-09-01"), episode(B, "2026-02-01")),
        names={y: Named("open", "191212121212") for y in (A, B, C)},
    )
    made = report(rows)
    assert made.errors == [
        Finding("error", "personnummer",
                f"the same person is reported twice (also as youth {A})", y, 1)
        for y in (B, C)
    ]  # fmt: skip
    assert made.records["1"] == 3, "each is in the file; the error refuses it"


def test_findings_go_errors_first_then_by_youth_block_and_field() -> None:
    rows = ScbRows(
        episodes=(
            episode(A, "2025-09-01", "2026-03-01", None, n=1),  # error, block 5
            episode(B, "2026-02-01", background="XX", n=2),  # warning, block 1
        ),
        contacts=(ContactDay(B, d("2026-01-15")),),  # error, block 2
        measures=(  # warning, block 3 (no code of its own); error, block 4 (ended before it began)
            Measure(A, uuid.UUID(int=3), "own_mentoring", d("2026-03-10"), d("2026-03-09")),
        ),
        names={A: Named("open", "200801011230"), B: Named("open", "191212121212")},
    )
    made = report(rows, today=d("2026-06-01"))
    assert [(f.severity, f.youth_id, f.block, f.field) for f in made.findings] == [
        ("error", A, 4, "measure_end_date"),
        ("error", A, 5, "leaving_reason"),
        ("error", B, 2, "contact_date"),
        ("warning", None, None, "period"),
        ("warning", A, 3, "measure_type"),
        ("warning", B, 1, "school_background"),
    ]
    assert [f.severity for f in made.errors] == ["error"] * 3
    assert [f.field for f in made.warnings] == ["period", "measure_type", "school_background"]


def test_by_youth_groups_each_youths_rows_with_the_first_episode_first() -> None:
    later = episode(A, "2026-04-01", n=1)
    first = episode(A, "2026-01-10", "2026-02-01", "moved_out", n=2)
    same_day = episode(B, "2026-01-10", n=5), episode(B, "2026-01-10", n=4)
    contact = ContactDay(B, d("2026-02-01"))
    grouped = by_youth(ScbRows(episodes=(later, *same_day, first), contacts=(contact,)))
    assert [(g.youth_id, g.episodes, g.contacts) for g in grouped] == [
        (A, (first, later), ()),
        (B, (same_day[1], same_day[0]), (contact,)),
    ]


def test_rows_of_a_youth_without_an_episode_are_not_reported() -> None:
    stray = ScbRows(contacts=(ContactDay(A, d("2026-02-01")),))
    assert by_youth(stray) == []
    assert report(stray).youths == 0


def test_the_validation_report_a_coordinator_reads() -> None:
    rows = ScbRows(
        episodes=TWO_YOUTHS.episodes,
        measures=(Measure(A, uuid.UUID(int=3), "own_mentoring", d("2026-02-01")),),
        names={A: Named("open", "200801011230"), B: Named("missing")},
    )
    assert report(rows).text() == (
        "SCB report 0180 2026H1 (2026-01-01 – 2026-06-30), code list 2026-1\n"
        "  youths: 2; records per block: 1: 1, 2: 0, 3: 1, 4: 0, 5: 0\n"
        "  errors: 1; warnings: 1\n"
        f"  error   youth {B} block 1: personnummer: no population record has named this youth\n"
        f"  warning youth {A} block 3: measure_type: 'own_mentoring' has no code of its own in "
        "scb-report 2026-1; reported as 90\n"
    )


def test_the_summary_the_api_returns() -> None:
    made = report(TWO_YOUTHS, today=d("2026-06-30"))
    assert made.summary() == {
        "tenant": "0180",
        "period": "2026H1",
        "code_list_version": "2026-1",
        "file_format": "KAA-SCB;1",
        "youths": 2,
        "records": {"1": 2, "2": 2, "3": 1, "4": 1, "5": 1},
        "content_sha256": hashlib.sha256(TWO_YOUTHS_FILE).hexdigest(),
        "errors": 0,
        "warnings": 1,
        "findings": [
            {
                "severity": "warning",
                "youth_id": None,
                "block": None,
                "field": "period",
                "problem": "2026H1 has not ended; figures may change",
            },
        ],
        "event_range": {
            "positions": {"kaa.identify.events.v1/0": 12},
            "tenant_events": 20,
            "last_recorded_at": "2026-07-01T10:00:00+00:00",
        },
    }
