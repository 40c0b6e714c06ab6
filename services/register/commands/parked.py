"""Parked events: applied again after the fix (`kaa register reapply`), or given up
(`kaa register discard`).

The consumer parks an event whose application failed (`shared/messaging/consumer.py`): the
register keeps it in `dead_events` with its bytes as published (`adapters/projection/parking.py`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import asyncpg
from pydantic import TypeAdapter

from services.register.adapters.projection import reapply as parked
from shared.contracts.events import AnyEvent
from shared.contracts.text import text_problem
from shared.messaging.consumer import Delivery, Parsed, Rejected
from shared.messaging.failures import failure_reason, is_transient
from shared.messaging.parsing import parser

Progress = Callable[[int, int], None]


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
    progress: Progress | None = None,
) -> ReapplyResult:
    """Apply the parked events again after the fix, in the order they were parked (all, or those
    named), one transaction each; a youth's events of a topic behind one that still fails stay
    parked, in order. Runs again while a pass re-applies something (events held behind a youth's
    parked event while it ran are taken in the same run). Running it twice changes nothing the
    second time (an applied event id is never applied again)."""
    result = ReapplyResult()
    parse = parser(TypeAdapter(AnyEvent), tenants)
    while True:
        before = result.applied + result.already_applied
        result.waiting = 0
        await _reapply_pass(pool, parse, event_ids, result, progress)
        if result.applied + result.already_applied == before:
            return result


async def _reapply_pass(
    pool: asyncpg.Pool,
    parse: Callable[[Delivery], AnyEvent | Rejected],
    event_ids: Sequence[uuid.UUID] | None,
    result: ReapplyResult,
    progress: Progress | None,
) -> None:
    stuck: set[tuple[uuid.UUID, str]] = set()  # a youth's topic whose event still fails: waits
    failing = {event_id for event_id, _ in result.still_failing}
    rows = await parked.open_parked(pool, event_ids)
    for done, row in enumerate(rows, 1):
        if progress is not None:
            progress(done, len(rows))
        event_id: uuid.UUID = row["event_id"]
        if (row["youth_id"], row["topic"]) in stuck:
            result.waiting += 1
            continue
        delivery = Delivery(row["source"].split("[", 1)[0], 0, 0, None, bytes(row["payload"]))
        outcome = parse(delivery)
        reason: str | None = None
        if isinstance(outcome, Rejected):
            reason = f"the parked bytes: {outcome.reason}"
        else:
            try:
                async with pool.acquire() as conn, conn.transaction():
                    fresh = await parked.apply_parked(conn, event_id, Parsed(delivery, outcome))
            except parked.Refused as refused:
                reason = refused.reason
            except Exception as exc:
                if is_transient(exc):
                    raise
                reason = failure_reason(exc, row["event_type"])
        if reason is not None:
            stuck.add((row["youth_id"], row["topic"]))
            await parked.still_failing(pool, event_id, reason)
            if event_id not in failing:
                failing.add(event_id)
                result.still_failing.append((event_id, reason))
        elif fresh:
            result.applied += 1
        else:
            result.already_applied += 1


MAX_WHY = 300


def discard_reason(why: str) -> str:
    """Why an operator gives up on a parked event, as kept: one line of text, not empty, at most
    300 characters; a ValueError naming `why` and the problem (never the value)."""
    problem = text_problem(why) or ("is empty" if not why.strip() else None)
    if problem is None and len(why) > MAX_WHY:
        problem = f"is longer than {MAX_WHY} characters"
    if problem is not None:
        raise ValueError(f"why: {problem}")
    return why.strip()


async def discard(pool: asyncpg.Pool, event_id: uuid.UUID, actor: str, why: str) -> bool:
    """Give up on a parked event no fix will take (see `adapters/projection/reapply.py`); False
    when no open parked event has that id."""
    return await parked.discard(pool, event_id, actor, discard_reason(why))
