"""Why an episode was registered in error, in the youth's extract (`domain/extract.py`,
`extract_document.py`): the reason in Swedish as for corrections, who by role and when, and the
note; an episode not in error, or marked before the reason was carried, says no reason."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from services.register.domain.extract import assemble, episode
from services.register.domain.extract_document import document
from tests.unit.register.test_extract import NOW, held, scope

MARKED_AT = datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
NOTE = "Förväxlad med en annan elev"


def in_error(**why: Any) -> dict[str, Any]:
    return {**scope(date(2026, 1, 5), "registered_in_error"), "in_error_actor": "user:cecilia",
            "in_error_recorded_at": MARKED_AT, **why}  # fmt: skip


def paragraph(row: dict[str, Any]) -> str:
    sections = {s.heading: s.paragraphs for s in document(assemble(held(scope_episodes=[row]),
                                                                   730, NOW))}  # fmt: skip
    [shown] = sections["När kommunen har ansvar för dig"]
    return shown


def test_the_reason_in_swedish_who_when_and_the_note() -> None:
    shown = episode(in_error(in_error_reason="recorded_twice", in_error_note=NOTE))
    assert (shown["in_error_reason"], shown["in_error_reason_text"]) == (
        "recorded_twice", "registrerat två gånger")  # fmt: skip
    assert (shown["in_error_note"], shown["in_error_role_text"]) == (NOTE, "en medarbetare")
    assert shown["in_error_recorded_at"] == MARKED_AT.isoformat()
    text = paragraph(in_error(in_error_reason="recorded_twice", in_error_note=NOTE))
    assert "Markerades som registrerad av misstag 2 mars 2026" in text
    assert "av en medarbetare." in text
    assert "Skäl: registrerat två gånger." in text
    assert f"Anteckning: {NOTE}" in text
    assert "cecilia" not in text, "by role, never the person"


def test_a_mark_without_a_reason_says_none() -> None:
    shown = episode(in_error())
    assert (shown["in_error_reason"], shown["in_error_reason_text"], shown["in_error_note"]) == (
        None, None, None)  # fmt: skip
    assert "Skäl:" not in paragraph(in_error())


def test_an_episode_not_in_error_has_no_mark() -> None:
    row = {**scope(date(2026, 5, 10), "turned_20"), "in_error_reason": "other"}
    shown = episode(row)
    assert (shown["in_error_reason"], shown["in_error_recorded_at"]) == (None, None)
    assert "Markerades" not in paragraph(row)
