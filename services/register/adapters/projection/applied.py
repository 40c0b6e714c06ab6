"""Exactly once: every event id the register applied is recorded in `applied_events` with the
message's bytes, so neither a redelivered message nor a re-published event (same event id) has a
second effect, and the archive an audit replay reads holds each event once, in the order applied.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from services.register.adapters.database import Connection
from services.register.adapters.projection.handlers import apply_events, copy
from services.register.adapters.projection.statements import APPLIED
from shared.contracts.events import AnyEvent
from shared.messaging.consumer import Parsed

APPLIED_KEY = "applied_events_pkey"
ALREADY_APPLIED = "SELECT event_id FROM applied_events WHERE event_id = ANY($1::uuid[])"


async def already_applied(conn: Connection, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these events the register applied before."""
    return {row["event_id"] for row in await conn.fetch(ALREADY_APPLIED, list(event_ids))}


async def apply_items(
    conn: Connection, items: Sequence[Parsed[AnyEvent]], checked: bool = True
) -> int:
    """Apply events (with their raw bytes) not applied before, in their order; returns how many
    were new.

    Unchecked (`checked` False), the archive's key is the check: a batch holding an event applied
    before, or twice, fails on it (`is_applied_twice`) and its caller applies it again checked (the
    same effect; what the rebuild and a caught-up consumer almost never meet, for one statement a
    batch less). A partition is applied by one consumer at a time; should two ever race, the
    second's copy of an event id fails on the key and its transaction (with its position) rolls
    back."""
    if not items:
        return 0
    fresh: Sequence[Parsed[AnyEvent]] = items
    if checked:
        seen = await already_applied(conn, [item.message.event_id for item in items])
        fresh = []
        for item in items:
            event_id = item.message.event_id
            if event_id not in seen:  # also the second copy of an event within the batch
                seen.add(event_id)
                fresh.append(item)
    await copy(
        conn,
        APPLIED,
        [(i.message.event_id, i.message.tenant, i.message.event_type, i.message.youth_id,
          i.message.recorded_at, i.delivery.value) for i in fresh],
    )  # fmt: skip
    await apply_events(conn, [item.message for item in fresh])
    return len(fresh)


def is_applied_twice(exc: BaseException) -> bool:
    """Whether an unchecked `apply_items` failed on an event the archive holds already."""
    return (
        isinstance(exc, asyncpg.UniqueViolationError)
        and getattr(exc, "constraint_name", None) == APPLIED_KEY
    )
