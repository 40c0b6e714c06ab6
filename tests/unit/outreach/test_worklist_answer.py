"""A worklist page is serialised at once (`page_answer`), not through its documented model: the
bytes must be the model's, for every kind of item a list holds (clocks, reasons with dates,
follow-ups, closed items, holders), with ids as the database driver gives them."""

from __future__ import annotations

import uuid
from datetime import date

from asyncpg.pgproto.pgproto import UUID as DriversUUID

from services.outreach.adapters.worklists import Item
from services.outreach.domain.clock import contact_clock, new_clock
from services.outreach.entrypoints.http import WorklistPage, page_answer

TODAY = date(2026, 3, 2)


def items() -> list[Item]:
    entered = date(2026, 1, 15)
    clock = contact_clock(new_clock(entered, "school_notification", entered), TODAY, 10)
    return [
        Item(uuid.uuid4(), "first_contact", "a school reported the youth; no contact attempt since",
             entered, None, clock, entered, why={"code": "school_reported"}),
        Item(uuid.uuid4(), "recontact", "last attempt 2026-02-02 ended not_reached",
             date(2026, 2, 16), "user:c1", None, entered,
             why={"code": "not_reached", "last_attempt_on": date(2026, 2, 2),
                  "outcome": "not_reached"}),
        Item(uuid.uuid4(), "follow_up", "follow-up due (plan review)", date(2026, 2, 1),
             "team-nord", None, None, follow_up_id=DriversUUID(str(uuid.uuid4())),
             closed_on=date(2026, 2, 20), closed_reason="moved_away",
             why={"code": "follow_up", "subject": "plan review"}),
        Item(DriversUUID(str(uuid.uuid4())), "stale_occupation",
             "occupation never recorded: unknown", entered, None,
             why={"code": "occupation_unknown", "confirmed_on": None}),
    ]  # fmt: skip


def test_a_page_is_the_bytes_its_documented_model_makes() -> None:
    listed = items()
    page = {"worklist": "first_contact", "state": "open", "total": 4, "limit": 50, "offset": 0,
            "items": listed}  # fmt: skip
    answer = page_answer(page)
    assert answer.body == WorklistPage.model_validate(page).model_dump_json().encode()
    assert answer.media_type == "application/json"


def test_an_empty_page_too() -> None:
    page = {"worklist": "turning_20", "state": "closed", "total": 0, "limit": 10, "offset": 20,
            "items": []}  # fmt: skip
    assert page_answer(page).body == WorklistPage.model_validate(page).model_dump_json().encode()
