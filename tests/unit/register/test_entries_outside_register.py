"""Withdrawals and corrections of entries the register does not keep (no database: a connection
that records what it is asked to run, and refuses to say an entry is held).

Measures and outreach can correct or withdraw every fact a caseworker records (each event with
`CorrectionFields`); the register keeps only the closed list of förordning 2006:39 § 4, so some
of them (a follow-up's completion) are not register content. A withdrawal or correction of one is
skipped: nothing is written and nothing is parked, so the youth's later events are not held
behind it.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.register.adapters.projection import corrections as fix
from services.register.adapters.projection.handlers import HANDLERS, apply_events
from shared.contracts.events import (
    ALL_EVENTS,
    AnyEvent,
    ContactAttempted,
    Correction,
    CorrectionFields,
    FollowUpCompleted,
    MeasuresEntryWithdrawn,
    OutreachEntryWithdrawn,
)
from shared.contracts.topics import MEASURES_EVENTS, OUTREACH_EVENTS

YOUTH = uuid.UUID(int=1)
CORRECTABLE: set[type[Any]] = {kind for kind in ALL_EVENTS if issubclass(kind, CorrectionFields)}
"""Every event type measures or outreach can correct or withdraw (its entries' public events)."""
OUTSIDE: set[type[Any]] = {kind for kind in CORRECTABLE if kind not in HANDLERS}


class NothingHeld:
    """Records what it is asked; holds no entry (a withdrawal's `ENTRY_HELD` answers False)."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    async def execute(self, statement: str, *args: Any) -> str:
        self.ran.append(statement)
        return "OK"

    async def executemany(self, statement: str, rows: list[tuple[Any, ...]]) -> None:
        self.ran.append(statement)

    async def fetch(self, statement: str, *args: Any) -> list[dict[str, Any]]:
        self.ran.append(statement)
        return []

    async def fetchval(self, statement: str, *args: Any) -> Any:
        self.ran.append(statement)
        return False

    async def copy_records_to_table(self, table: str, **kwargs: Any) -> None:
        self.ran.append(f"COPY {table}")


def envelope() -> dict[str, Any]:
    when = datetime(2026, 3, 2, 9, tzinfo=UTC)
    return {"event_id": uuid.uuid4(), "tenant": "0180", "youth_id": YOUTH, "occurred_at": when,
            "recorded_at": when, "actor": "user:anna", "correlation_id": uuid.uuid4()}  # fmt: skip


def withdrawal(kind: type[AnyEvent]) -> AnyEvent:
    topic: str = kind.topic
    event = MeasuresEntryWithdrawn if topic == MEASURES_EVENTS else OutreachEntryWithdrawn
    assert topic in (MEASURES_EVENTS, OUTREACH_EVENTS), kind
    return event(**envelope(), withdraws=uuid.uuid4(),
                 withdrawn_event_type=kind.model_fields["event_type"].default,
                 correction=Correction(reason="did_not_happen"))  # fmt: skip


def run(events: list[AnyEvent]) -> NothingHeld:
    conn = NothingHeld()
    asyncio.run(apply_events(conn, events))  # type: ignore[arg-type]
    return conn


def test_the_register_knows_which_correctable_entries_it_keeps() -> None:
    """`HELD_ENTRIES` is every correctable event type the register has a handler for."""
    held = {kind.model_fields["event_type"].default for kind in CORRECTABLE if kind in HANDLERS}
    assert held == fix.HELD_ENTRIES
    assert {kind.__name__ for kind in OUTSIDE} == {"FollowUpCompleted"}


@pytest.mark.parametrize("kind", sorted(OUTSIDE, key=str))
def test_a_withdrawal_of_an_entry_that_is_not_register_content_is_skipped(
    kind: type[AnyEvent],
) -> None:
    assert run([withdrawal(kind)]).ran == [], "nothing asked, nothing parked"


@pytest.mark.parametrize("kind", sorted(CORRECTABLE - OUTSIDE, key=str))
def test_a_withdrawal_of_register_content_the_register_does_not_hold_is_still_refused(
    kind: type[AnyEvent],
) -> None:
    with pytest.raises(fix.NoSuchEntry, match="withdraws: no such entry"):
        run([withdrawal(kind)])


def test_a_correction_of_a_follow_up_completion_writes_nothing() -> None:
    completed = FollowUpCompleted(**envelope(), follow_up_id=uuid.uuid4(),
                                  completed_on=date(2026, 3, 2))  # fmt: skip
    fixed = completed.model_copy(update={"event_id": uuid.uuid4(), "completed_on": date(2026, 3, 3),
                                         "corrects": completed.event_id,
                                         "correction": Correction(reason="wrong_date")})  # fmt: skip
    assert run([completed, fixed]).ran == []


def test_a_skipped_withdrawal_leaves_the_rest_of_its_batch_applied() -> None:
    attempt = ContactAttempted(**envelope(), contact_attempt_id=uuid.uuid4(), channel="phone",
                               outcome="reached", attempted_at=datetime(2026, 3, 2, tzinfo=UTC))  # fmt: skip
    conn = run([withdrawal(FollowUpCompleted), attempt])
    assert conn.ran == ["COPY contacts"]
