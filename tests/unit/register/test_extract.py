"""The youth's own extract, pure parts: the Swedish words and dates, the retention rule, the
assembly (never a protected address, a purged youth stated as such, the access log by role and
organisation), the document's sections, the PDF's title and language, the private file."""

from __future__ import annotations

import io
import stat
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader

from services.register.commands.extract import as_pdf
from services.register.domain import extract_wording as words
from services.register.domain.extract import (
    PROTECTED_ADDRESS,
    Held,
    ShownIdentity,
    access_entry,
    assemble,
    episode,
    identity,
    measures,
)
from services.register.domain.extract_document import NOTHING, document
from services.register.domain.retention import is_due
from services.register.entrypoints.cli_extract import write_private

YOUTH = uuid.UUID("6f1c1f4e-8f57-4a1e-9a53-3f1f2f4b9a10")
NOW = datetime(2026, 3, 5, 8, 30, tzinfo=UTC)
OPEN = ShownIdentity("open", "200801012384", "Åsa", "Öberg", "Storgatan 1", "11122", "Stockholm")


def scope(left_on: date | None = None, reason: str | None = None) -> dict[str, Any]:
    return {"entered_on": date(2026, 1, 5), "scope_ends_on": date(2028, 1, 1),
            "entered_facts": {"tenant": "0180", "age": "17", "enrolled_in": "none",
                              "compulsory_school_ends": "2025-06-30"},
            "left_on": left_on, "left_reason": reason}  # fmt: skip


def held(shown: ShownIdentity = OPEN, **timeline: Any) -> Held:
    return Held("0180", YOUTH, shown, {"status": "in_scope", **timeline})


def test_dates_read_as_a_youth_reads_them() -> None:
    assert words.swedish_date(date(2026, 3, 1)) == "1 mars 2026"
    assert words.swedish_date(date(2025, 12, 24)) == "24 december 2025"
    assert words.swedish_instant(datetime(2026, 7, 1, 8, 5, tzinfo=UTC)) == "1 juli 2026 kl. 10.05"
    assert words.swedish_instant(datetime(2026, 1, 31, 23, 30, tzinfo=UTC)) == (
        "1 februari 2026 kl. 00.30"
    )


def test_the_retention_period_in_years_or_days() -> None:
    assert (words.years_or_days(730), words.years_or_days(365)) == ("2 år", "1 år")
    assert words.years_or_days(400) == "400 dagar"


@given(st.dates(date(2016, 1, 1), date(2090, 12, 31)), st.integers(1, 3650))
def test_the_retention_date_stated_is_the_first_day_retention_may_purge(
    left_on: date, days: int
) -> None:
    due = words.retention_due(left_on, days)
    assert is_due(left_on, days, due)
    assert not is_due(left_on, days, due - timedelta(days=1))


def test_the_retention_rule_names_the_period_and_the_day_once_the_youth_left() -> None:
    left = words.retention_rule(730, date(2026, 3, 1), in_scope=False)
    assert left.startswith("Uppgifterna gallras (raderas) 2 år efter")
    assert left.endswith("tidigast 29 februari 2028.")
    assert "inget datum" in words.retention_rule(730, None, in_scope=True)
    assert words.retention_rule(10, date(2026, 3, 1), in_scope=False).endswith("1 juli 2026.")


def test_a_protected_identity_never_shows_its_address() -> None:
    protected = ShownIdentity("open", "200801012384", "Åsa", "Öberg", "Storgatan 1", "11122",
                              "Stockholm", protected=True)  # fmt: skip
    shown = identity(protected)
    assert shown["address"] is None
    assert shown["address_text"] == PROTECTED_ADDRESS
    assert "Storgatan" not in str(shown)
    assert "11122" not in str(shown)
    (section,) = [
        s for s in document(assemble(held(protected), 730, NOW)) if s.heading == "Vem du är"
    ]
    assert "Adress: skyddad adress. Din adress visas aldrig." in section.paragraphs
    assert identity(OPEN)["address"] == {"street": "Storgatan 1", "postal_code": "11122",
                                         "city": "Stockholm"}  # fmt: skip
    assert identity(ShownIdentity("redacted"))["address"] is None


def test_a_scope_episode_in_plain_swedish() -> None:
    shown = episode(scope(date(2026, 5, 10), "turned_20"))
    assert shown["left_reason_text"] == "Du fyllde 20 år."
    assert shown["entered_facts_text"] == [
        "Din ålder när beslutet togs: 17 år.",
        "Inskriven i skola på gymnasienivå: ingen.",
        "Grundskoleåldern tog slut: 30 juni 2025.",
    ]
    assert not shown["registered_in_error"]
    in_error = episode(scope(date(2026, 3, 1), "registered_in_error"))
    assert in_error["registered_in_error"]
    assert "av misstag" in in_error["left_reason_text"]


def test_a_measure_shows_its_latest_offers_content_and_its_words() -> None:
    measure = uuid.uuid4()
    status = [{"measure_id": measure, "measure_type": "study_guidance", "state": "ended",
               "offered_on": date(2026, 2, 1), "ended_on": date(2026, 3, 1),
               "end_reason": "started_work"}]  # fmt: skip
    offers = [{"measure_id": measure, "content": "first", "can_start_on": None},
              {"measure_id": measure, "content": "second", "can_start_on": date(2026, 2, 9)}]  # fmt: skip
    (shown,) = measures(status, offers)
    assert (shown["content"], shown["can_start_on"]) == ("second", "2026-02-09")
    assert shown["measure_type_text"] == "Studie- och yrkesvägledning (SYV)"
    assert (shown["state_text"], shown["end_reason_text"]) == ("avslutad", "Började arbeta")
    own = [{**status[0], "measure_type": "own_mentoring", "state": "started", "end_reason": None}]
    assert measures(own, [])[0]["measure_type_text"] == "own_mentoring"


def test_the_access_log_by_role_organisation_and_purpose_never_the_actor() -> None:
    row = {"at": NOW, "actor": "user:anna", "purpose": "identity", "service": "register"}
    shown = access_entry(row, "0180")
    assert shown["role_text"] == "en medarbetare"
    assert shown["organisation_text"] == "kommunen (kommunkod 0180)"
    assert shown["purpose_text"] == "för att kunna kontakta dig"
    assert "anna" not in str(shown)
    assert access_entry({**row, "actor": "system:retention"}, "0180")["role_text"] == (
        "systemet automatiskt"
    )
    assert access_entry({**row, "purpose": "extract"}, "0180")["purpose_text"].startswith(
        "utdrag till dig"
    )


def test_a_purged_youth_is_stated_as_such() -> None:
    purged_at = datetime(2028, 3, 1, 1, 0, tzinfo=UTC)
    found = assemble(held(ShownIdentity("redacted"), purged_at=purged_at), 730, NOW)
    assert found["personal_data"] == "purged"
    assert found["purged_text"].startswith(
        "Personuppgifterna är gallrade (raderade) sedan 1 mars 2028 kl. 02.00."
    )
    first = document(found)[0]
    assert found["purged_text"] in first.paragraphs
    assert assemble(held(), 730, NOW)["purged_text"] is None


def test_the_retention_rule_counts_from_the_last_episode_not_registered_in_error() -> None:
    episodes = [
        scope(date(2026, 3, 1), "moved_out"),
        scope(date(2026, 9, 1), "registered_in_error"),
    ]
    found = assemble(held(status="out_of_scope", scope_episodes=episodes), 730, NOW)
    assert found["retention"]["rule_text"].endswith("tidigast 29 februari 2028.")


def test_a_section_without_entries_says_so() -> None:
    sections = {s.heading: s.paragraphs for s in document(assemble(held(), 730, NOW))}
    assert sections["Kontaktförsök"] == (NOTHING,)
    assert sections["Insatser"] == (NOTHING,)
    assert sections["Vem som har ditt ärende"] == (NOTHING,)
    assert "Om något är fel" in sections


def test_the_pdf_has_a_title_the_swedish_language_and_its_headings_outlined() -> None:
    found = assemble(held(scope_episodes=[scope()]), 730, NOW)
    reader = PdfReader(io.BytesIO(as_pdf(found)))
    assert reader.metadata is not None
    assert reader.metadata.title == found["title"]
    root: Any = reader.trailer["/Root"]
    assert root["/Lang"] == "sv"
    assert root["/MarkInfo"]["/Marked"]
    titles = [item.title for item in reader.outline if not isinstance(item, list)]
    assert titles[:3] == [found["title"], "Vem du är", "När kommunen har ansvar för dig"]
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert "Namn: Åsa Öberg." in text
    assert "Från 5 januari 2026." in text


def test_the_extract_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    fresh, existing = tmp_path / "new.pdf", tmp_path / "old.pdf"
    existing.write_bytes(b"old")
    existing.chmod(0o644)
    for path in (fresh, existing):
        write_private(path, b"%PDF-extract")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes() == b"%PDF-extract"
