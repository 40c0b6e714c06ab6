"""Parked events applied again, after the fix, and parked events given up (the statements of
`kaa register reapply` and `kaa register discard`; the use cases are in `commands.py`).

A parked event is applied with the live projection's own code, in one transaction: applied, it is
marked `reapplied_at` and counts in the register as if it had never failed; refused again, its
reason is renewed and it stays parked.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from services.register.adapters.database import Connection
from services.register.adapters.projection.applied import apply_items
from services.register.adapters.projection.parking import OPEN_PARKED, release_waiting
from shared.contracts.events import AnyEvent
from shared.messaging.consumer import Parsed

_PARKED = f"""
SELECT event_id, youth_id, event_type, payload, coalesce(source, '') AS source,
       coalesce(topic, '') AS topic FROM dead_events
WHERE {OPEN_PARKED} AND NOT waits_for_youth AND ($1::uuid[] IS NULL OR event_id = ANY($1::uuid[]))
ORDER BY parked_seq
"""  # noqa: S608


class Refused(Exception):
    """The projection took the event but refused it (the end of a scope episode it never saw)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def open_parked(
    pool: asyncpg.Pool, event_ids: Sequence[uuid.UUID] | None
) -> list[asyncpg.Record]:
    """The parked events waiting for an operator (all, or those named), in the order parked: id,
    youth, type, bytes, where it was read (`source`) and its topic."""
    return list(await pool.fetch(_PARKED, list(event_ids) if event_ids else None))


async def apply_parked(conn: Connection, event_id: uuid.UUID, item: Parsed[AnyEvent]) -> int:
    """Apply one parked event in the caller's transaction (1 if it was new, 0 if applied before);
    `Refused` when the projection took it but refused it (it writes the reason into the event's
    row), which rolls the transaction back."""
    why = await conn.fetchval(
        "UPDATE dead_events d SET reason = '' FROM dead_events old"
        " WHERE d.event_id = $1 AND old.event_id = d.event_id RETURNING old.reason",
        event_id,
    )
    fresh = await apply_items(conn, [item])
    await release_waiting(conn, [item])  # casework that waited for this youth's identification
    refused = await conn.fetchval("SELECT reason FROM dead_events WHERE event_id = $1", event_id)
    if refused:
        raise Refused(str(refused))
    await conn.execute(
        "UPDATE dead_events SET reapplied_at = now(), reason = $2 WHERE event_id = $1",
        event_id, why,
    )  # fmt: skip
    return fresh


async def still_failing(pool: asyncpg.Pool, event_id: uuid.UUID, reason: str) -> None:
    """A parked event that failed again: its row says why now."""
    await pool.execute("UPDATE dead_events SET reason = $2 WHERE event_id = $1", event_id, reason)


async def discard(pool: asyncpg.Pool, event_id: uuid.UUID, actor: str, why: str) -> bool:
    """Give up on a parked event no fix will take: it is never applied, the youth's events held
    behind it go on at the next re-apply, and who gave it up, when and why stay on its row.
    False when no open parked event has that id."""
    done = await pool.fetchval(
        f"UPDATE dead_events SET discarded_at = now(), discarded_by = $2, discarded_why = $3"  # noqa: S608
        f" WHERE event_id = $1 AND {OPEN_PARKED} RETURNING event_id",
        event_id, actor, why,
    )  # fmt: skip
    return done is not None
