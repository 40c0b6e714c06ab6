"""A corrected or withdrawn objection in the youth's extract (`domain/extract.py`): named in
Swedish as the youth's objection, with the day it was recorded before and the day in its place."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from services.register.domain.extract import correction

WRONG, FIXED = uuid.uuid4(), uuid.uuid4()


def row(kind: str, event_id: uuid.UUID) -> dict[str, Any]:
    return {"kind": kind, "event_id": event_id, "target_event_id": WRONG,
            "target_event_type": "ObjectionRecorded", "reason": "wrong_date",
            "actor": "user:anna", "recorded_at": datetime(2026, 3, 12, 9, tzinfo=UTC)}  # fmt: skip


ARCHIVED = {str(WRONG): {"objected_on": "2026-03-02"}, str(FIXED): {"objected_on": "2026-03-12"}}


def test_a_corrected_objection_is_named_with_the_day_before_and_after() -> None:
    shown = correction(row("corrected", FIXED), ARCHIVED)
    assert shown["target_event_type_text"] == "Din invändning mot registreringen"
    assert shown["kind_text"] == "rättades"
    assert [(v["field_text"], v["value_text"]) for v in shown["earlier_values"]] == [
        ("invändningen gjordes", "2 mars 2026")
    ]
    assert [(v["field_text"], v["value_text"]) for v in shown["new_values"]] == [
        ("invändningen gjordes", "12 mars 2026")
    ]


def test_a_withdrawn_objection_is_named_and_shows_what_was_recorded() -> None:
    shown = correction(row("withdrawn", uuid.uuid4()), ARCHIVED)
    assert (shown["target_event_type_text"], shown["kind_text"]) == (
        "Din invändning mot registreringen", "togs bort")  # fmt: skip
    assert [v["value_text"] for v in shown["earlier_values"]] == ["2 mars 2026"]
    assert shown["new_values"] is None
