"""The watched directory's rules: which names are ready, where a file goes, why it cannot be read
(never quoting a value from it), and what the operator is told; and the directory's moves on a
temporary directory (no database, no broker)."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path

from services.connect.adapters.deliveries import DeliveryDirectory
from services.connect.domain.deliveries import (
    NOT_AN_OBJECT,
    VANISHED,
    DirectoryStatus,
    Outcome,
    ReadyRule,
    Taken,
    check,
    free_name,
    is_delivery_name,
    ready_deliveries,
    reason_name,
)

OBJECT = b'{"feed": "population", "tenant": "0180"}'


def test_only_complete_names_count_under_the_rename_rule() -> None:
    files = {"b.jsonl", "a.jsonl", "c.jsonl.part", "d.jsonl.tmp", ".e.jsonl", "f.csv",
             "g.jsonl.ready", ".jsonl"}  # fmt: skip
    assert ready_deliveries(files, ReadyRule.rename) == ["a.jsonl", "b.jsonl"]


def test_a_file_counts_under_the_marker_rule_only_with_its_marker_beside_it() -> None:
    files = {"a.jsonl", "b.jsonl", "b.jsonl.ready", "c.jsonl.part", "c.jsonl.part.ready"}
    assert ready_deliveries(files, ReadyRule.marker) == ["b.jsonl"]
    assert ready_deliveries(files - {"b.jsonl.ready"}, ReadyRule.marker) == []


def test_a_delivery_name_is_a_visible_jsonl_file() -> None:
    assert is_delivery_name("navet-2026-03-01.jsonl")
    for name in (".navet.jsonl", "navet.jsonl.part", "navet.jsonl.tmp", ".jsonl", "navet.json"):
        assert not is_delivery_name(name), name


def test_a_name_already_taken_gets_the_first_free_suffix() -> None:
    assert free_name("a.jsonl", set()) == "a.jsonl"
    assert free_name("a.jsonl", {"a.jsonl"}) == "a.1.jsonl"
    assert free_name("a.jsonl", {"a.jsonl", "a.1.jsonl", "a.2.jsonl.reason.txt"}) == "a.3.jsonl"
    # A reason file left behind (its delivery had vanished) keeps its name too.
    assert free_name("a.jsonl", {"a.jsonl.reason.txt"}) == "a.1.jsonl"
    assert reason_name("a.1.jsonl") == "a.1.jsonl.reason.txt"


def test_a_readable_file_has_no_reason_even_with_bad_single_lines() -> None:
    assert check([b"not json", b"", OBJECT, b"[1, 2]", b'{"half": ']) is None


def test_a_line_that_is_not_utf8_names_its_line_and_not_its_bytes() -> None:
    reason = check([OBJECT, b"", b'{"name": "\xe5sa"}'])
    assert reason == "line 3 is not UTF-8"
    assert "sa" not in reason


def test_a_file_without_a_json_object_cannot_be_read() -> None:
    assert check([b"personnummer;namn", b"200801011230;Zebulonia", b"[1]", b"42"]) == NOT_AN_OBJECT
    assert check([]) == NOT_AN_OBJECT
    assert "Zebulonia" not in NOT_AN_OBJECT


def test_the_operator_line_says_what_became_of_a_file() -> None:
    at = datetime(2026, 3, 1, 7, 30, tzinfo=UTC)
    assert Taken(Outcome.loaded, "a.jsonl", "a.jsonl", records=12).line() == (
        "a.jsonl: loaded 12 records"
    )
    skipped = Taken(Outcome.skipped, "b.jsonl", "b.jsonl", earlier_name="a.jsonl", earlier_at=at)
    assert skipped.line() == (
        "b.jsonl: skipped: the same content was loaded on 2026-03-01 07:30:00 UTC as a.jsonl"
    )
    bad = Taken(Outcome.quarantined, "c.jsonl", "c.jsonl", reason="line 3 is not UTF-8")
    assert bad.line() == "c.jsonl: quarantined: line 3 is not UTF-8"
    again = Taken(Outcome.loaded, "a.jsonl", "a.jsonl", records=2, reloaded=True)
    assert "interrupted" in again.line()


def test_the_status_counts_each_outcome_and_keeps_the_last_ones() -> None:
    status = DirectoryStatus("/deliveries", "population")
    first, later = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    status.note(Taken(Outcome.loaded, "a.jsonl", records=3), first)
    status.note(Taken(Outcome.skipped, "b.jsonl"), later)
    status.note(Taken(Outcome.quarantined, "c.jsonl", reason=NOT_AN_OBJECT), later)
    status.note(Taken(Outcome.loaded, "d.jsonl", records=1), later)
    shown = status.snapshot()
    assert (shown["loaded"], shown["skipped"], shown["quarantined"]) == (2, 1, 1)
    assert (shown["last_loaded"], shown["last_loaded_at"]) == ("d.jsonl", later.isoformat())
    assert shown["last_quarantine_reason"] == NOT_AN_OBJECT


def test_a_vanished_delivery_leaves_its_reason_in_quarantine_and_its_marker_goes(
    tmp_path: Path,
) -> None:
    (tmp_path / "gone.jsonl.ready").touch()
    (tmp_path / "quarantine").mkdir()
    (tmp_path / "quarantine" / "gone.jsonl").write_bytes(b"an earlier one")
    directory = DeliveryDirectory(tmp_path)
    assert directory.quarantine("gone.jsonl", VANISHED) is None
    assert (tmp_path / "quarantine" / "gone.1.jsonl.reason.txt").read_text() == f"{VANISHED}\n"
    assert (tmp_path / "quarantine" / "gone.jsonl").read_bytes() == b"an earlier one"
    assert sorted(os.listdir(tmp_path)) == ["quarantine"]


def test_the_content_hash_is_the_files_sha256_whatever_its_line_endings(tmp_path: Path) -> None:
    content = OBJECT + b"\r\n" + OBJECT  # no newline at the end
    (tmp_path / "a.jsonl").write_bytes(content)
    seen = DeliveryDirectory(tmp_path).inspect("a.jsonl")
    assert (seen.content_hash, seen.reason) == (hashlib.sha256(content).hexdigest(), None)
    assert DeliveryDirectory(tmp_path).done("a.jsonl") == "a.jsonl"
    (tmp_path / "a.jsonl").write_bytes(b"other")
    assert DeliveryDirectory(tmp_path).done("a.jsonl") == "a.1.jsonl"
    assert (tmp_path / "done" / "a.jsonl").read_bytes() == content
