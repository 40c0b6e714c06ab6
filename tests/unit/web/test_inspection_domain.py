"""The inspector's pages' pure parts: typed instants in Stockholm's time, the comparison of two
registers (entered, left, changed, in words), paging, and the access log's words."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.web.domain import inspection as shown
from services.web.domain.inspection_timeline import Words, timeline_shown
from tests.unit.web.inspection_support import GONE, NEW, NOW, STAYED, THEN, YOUTH_THEN

WORDS = {"work": "Arbete", "studies_komvux": "Studier inom komvux"}


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-03-01 14:30", "2026-03-01T14:30:00+01:00"),
        ("2026-07-01T08.05", "2026-07-01T08:05:00+02:00"),  # summer time
        ("2026-03-01 14:30:15", "2026-03-01T14:30:15+01:00"),
    ],
)
def test_an_instant_is_read_in_stockholms_time(typed: str, expected: str) -> None:
    at = shown.instant_typed(typed)
    assert at is not None
    assert at.isoformat() == expected


@pytest.mark.parametrize(
    "typed", ["", "2026-03-01", "2026-13-01 10:00", "10:00", "2026-03-01 25:00"]
)
def test_what_is_no_instant_is_none(typed: str) -> None:
    assert shown.instant_typed(typed) is None


def test_a_day_bounds_a_period_whole() -> None:
    since = shown.period_bound("2026-03-01", end=False)
    until = shown.period_bound("2026-03-01", end=True)
    assert since is not None
    assert until is not None
    assert (until - since).total_seconds() == 24 * 3600


def test_the_problem_of_an_instant_never_repeats_it() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    problem = shown.instant_problem("åttonde mars", "Tidpunkt", now)
    assert problem is not None
    assert "åttonde" not in problem
    assert shown.instant_problem("", "Jämförelsetidpunkt", now, required=False) is None


def test_two_registers_are_compared_entered_left_and_changed_in_words() -> None:
    comparison = shown.compare(THEN["youths"], NOW["youths"], WORDS)
    assert comparison.counts == {"entered": 1, "left": 1, "changed": 1}
    by_youth = {row.youth_id: row for row in comparison.rows}
    changed = by_youth[str(STAYED)].difference
    assert changed is not None
    assert changed.label == "Ändrad"
    assert changed.changes == ["Sysselsättning: Arbete → Studier inom komvux"]
    left = by_youth[str(GONE)].difference
    assert left is not None
    assert left.kind == "left"
    assert "Lämnade: – → 20 februari 2026 (Började i gymnasieskola)" in left.changes
    entered = by_youth[str(NEW)]
    assert entered.then is None
    assert entered.difference is not None
    assert entered.difference.label == "Kom in"
    assert [row.youth_id for row in comparison.rows] == [str(STAYED), str(GONE), str(NEW)]


def test_a_youth_gone_from_the_register_has_left_it() -> None:
    comparison = shown.compare(THEN["youths"], [], WORDS)
    assert {row.difference.kind for row in comparison.rows if row.difference} == {"left"}


def test_the_same_register_has_no_difference() -> None:
    comparison = shown.compare(THEN["youths"], THEN["youths"], WORDS)
    assert comparison.differing == []


@pytest.mark.parametrize(
    ("total", "page", "expected"),
    [(0, 1, (1, 1, 0, 0)), (120, 2, (2, 3, 51, 100)), (120, 9, (3, 3, 101, 120))],
)
def test_paging_keeps_the_page_within_the_list(
    total: int, page: int, expected: tuple[int, int, int, int]
) -> None:
    made = shown.paging(total, page)
    assert (made.page, made.pages, made.first, made.last) == expected


def test_the_access_log_says_what_was_read_in_swedish_where_it_knows_the_words() -> None:
    entry = shown.access_shown({
        "at": "2026-03-01T13:31:00+00:00", "actor": "user:greta", "youth_id": str(STAYED),
        "purpose": "audit-replay", "what": "register as of 2026-03-01 13:30:00+00:00",
        "service": "register",
    })  # fmt: skip
    assert entry.what == "Ungdomens tidslinje vid 1 mars 2026 kl. 14:30:00"
    assert entry.what_swedish
    assert entry.reader == "greta"
    assert entry.at == "1 mars 2026 kl. 14:31:00"
    other = shown.access_shown({"what": "names (open)", "purpose": "casework"})
    assert (other.what, other.what_swedish, other.purpose) == (
        "names (open)",
        False,
        "Handläggning",
    )


def test_a_reader_is_searched_as_the_log_names_them() -> None:
    assert shown.reader_of(" anna.andersson ") == "user:anna.andersson"
    assert shown.reader_of("cli:root") == "cli:root"
    assert shown.reader_of("") is None


def test_the_timeline_names_the_rules_facts_and_who_recorded_each_thing() -> None:
    made = timeline_shown(
        YOUTH_THEN, Words(occupations=WORDS, measure_types={"internship": "Praktik"})
    )
    [episode] = made.episodes
    assert episode.rule == "Reglerna från 1 juli 2018 (kaa-2018-07-01)"
    assert ("Ålder", "18 år") in episode.facts
    assert episode.recorded == "folkbokföringen, 16 januari 2026 kl. 09:00"
    assert [line.cells[1] for line in made.contacts] == ["Kontaktförsök", "Information given"]
    assert made.occupations[0].cells[0] == "Arbete"
    assert made.measures[0].cells[:4] == (
        "Praktik",
        "20 februari 2026",
        "accepterad 21 februari 2026",
        "Accepterad",
    )
    assert made.corrections[0].cells[1:4] == (
        "Återkallelse",
        "Kontaktförsök",
        "Har inte ägt rum: Fel ungdom",
    )
    assert made.events == 7
