"""Re-apply the events the projection parked, after the fix (`kaa register reapply`).

The consumer parks an event whose application failed (`shared/messaging/consumer.py`): the
register keeps it in `dead_events` with its bytes as published. Once the cause is fixed (a new
release, a repaired row), each is applied again with the live projection's code, in the order it
was parked, one transaction each: applied, it is marked `reapplied_at` and counts in the register
as if it had never failed; failing again, its reason is renewed and it stays parked. Running it
twice changes nothing the second time (an applied event id is never applied again).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import asyncpg
from pydantic import TypeAdapter

from services.register.projection import OPEN_PARKED, Connection, apply_items, release_waiting
from shared.contracts.events import AnyEvent
from shared.messaging.consumer import Delivery, Parsed, Rejected
from shared.messaging.failures import failure_reason, is_transient
from shared.messaging.parsing import parser

_PARKED = f"""
SELECT event_id, youth_id, event_type, payload, coalesce(source, '') AS source,
       coalesce(topic, '') AS topic FROM dead_events
WHERE {OPEN_PARKED} AND NOT waits_for_youth AND ($1::uuid[] IS NULL OR event_id = ANY($1::uuid[]))
ORDER BY parked_seq
"""  # noqa: S608


class _Refused(Exception):
    """The projection took the event but refused it (a step its state does not allow)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class ReapplyResult:
    applied: int = 0
    already_applied: int = 0
    still_failing: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    waiting: int = 0  # behind a youth's event that still fails: left parked, in order


async def reapply(
    pool: asyncpg.Pool,
    tenants: Collection[str],
    event_ids: Sequence[uuid.UUID] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ReapplyResult:
    """Apply the parked events again, in the order they were parked (all, or those named); see
    the module's docstring. Runs again while a pass re-applies something: events held behind a
    youth's parked event while it ran are taken in the same run."""
    result = ReapplyResult()
    while True:
        before = result.applied + result.already_applied
        result.waiting = 0
        await _pass(pool, parser(TypeAdapter(AnyEvent), tenants), event_ids, result, progress)
        if result.applied + result.already_applied == before:
            return result


async def _pass(
    pool: asyncpg.Pool,
    parse: Callable[[Delivery], AnyEvent | Rejected],
    event_ids: Sequence[uuid.UUID] | None,
    result: ReapplyResult,
    progress: Callable[[int, int], None] | None,
) -> None:
    stuck: set[tuple[uuid.UUID, str]] = set()  # a youth's topic whose event still fails: waits
    failing = {event_id for event_id, _ in result.still_failing}
    rows = await pool.fetch(_PARKED, list(event_ids) if event_ids else None)
    for done, row in enumerate(rows, 1):
        if progress is not None:
            progress(done, len(rows))
        event_id: uuid.UUID = row["event_id"]
        if (row["youth_id"], row["topic"]) in stuck:
            result.waiting += 1
            continue
        topic = row["source"].split("[", 1)[0]
        delivery = Delivery(topic, 0, 0, None, bytes(row["payload"]))
        outcome = parse(delivery)
        reason: str | None = None
        if isinstance(outcome, Rejected):
            reason = f"the parked bytes: {outcome.reason}"
        else:
            try:
                async with pool.acquire() as conn, conn.transaction():
                    fresh = await _apply_parked(conn, event_id, Parsed(delivery, outcome))
            except _Refused as refused:
                reason = refused.reason
            except Exception as exc:
                if is_transient(exc):
                    raise
                reason = failure_reason(exc, row["event_type"])
        if reason is not None:
            stuck.add((row["youth_id"], row["topic"]))
            await pool.execute("UPDATE dead_events SET reason = $2 WHERE event_id = $1", event_id,
                               reason)  # fmt: skip
            if event_id not in failing:
                failing.add(event_id)
                result.still_failing.append((event_id, reason))
            continue
        if fresh:
            result.applied += 1
        else:
            result.already_applied += 1


async def _apply_parked(conn: Connection, event_id: uuid.UUID, item: Parsed[AnyEvent]) -> int:
    """Apply one parked event in the caller's transaction; `_Refused` when the projection took
    it but refused it (a step its state does not allow: it writes the reason into the event's
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
        raise _Refused(str(refused))
    await conn.execute(
        "UPDATE dead_events SET reapplied_at = now(), reason = $2 WHERE event_id = $1",
        event_id, why,
    )  # fmt: skip
    return fresh


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
