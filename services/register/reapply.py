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
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import asyncpg
from pydantic import TypeAdapter

from services.register.projection import apply_items
from shared.contracts.events import AnyEvent
from shared.messaging.consumer import Delivery, Parsed, Rejected
from shared.messaging.failures import failure_reason, is_transient
from shared.messaging.parsing import parser

_PARKED = """
SELECT event_id, event_type, payload, coalesce(source, '') AS source FROM dead_events
WHERE payload IS NOT NULL AND reapplied_at IS NULL
  AND ($1::uuid[] IS NULL OR event_id = ANY($1::uuid[]))
ORDER BY dead_at, event_id
"""


@dataclass
class ReapplyResult:
    applied: int = 0
    already_applied: int = 0
    still_failing: list[tuple[uuid.UUID, str]] = field(default_factory=list)


async def reapply(
    pool: asyncpg.Pool, tenants: Collection[str], event_ids: Sequence[uuid.UUID] | None = None
) -> ReapplyResult:
    """Apply the parked events again (all, or those named); see the module's docstring."""
    parse = parser(TypeAdapter(AnyEvent), tenants)
    result = ReapplyResult()
    rows = await pool.fetch(_PARKED, list(event_ids) if event_ids else None)
    for row in rows:
        event_id: uuid.UUID = row["event_id"]
        topic = row["source"].split("[", 1)[0]
        delivery = Delivery(topic, 0, 0, None, bytes(row["payload"]))
        outcome = parse(delivery)
        if isinstance(outcome, Rejected):
            await _still_failing(pool, event_id, f"the parked bytes: {outcome.reason}", result)
            continue
        try:
            async with pool.acquire() as conn, conn.transaction():
                fresh = await apply_items(conn, [Parsed(delivery, outcome)])
                await conn.execute(
                    "UPDATE dead_events SET reapplied_at = now() WHERE event_id = $1", event_id
                )
        except Exception as exc:
            if is_transient(exc):
                raise
            await _still_failing(pool, event_id, failure_reason(exc, row["event_type"]), result)
            continue
        if fresh:
            result.applied += 1
        else:
            result.already_applied += 1
    return result


async def _still_failing(
    pool: asyncpg.Pool, event_id: uuid.UUID, reason: str, result: ReapplyResult
) -> None:
    await pool.execute(
        "UPDATE dead_events SET reason = $2, dead_at = now() WHERE event_id = $1", event_id, reason
    )
    result.still_failing.append((event_id, reason))
