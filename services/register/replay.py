"""Audit replay: the register exactly as it stood at an instant (DOMAIN.md section 7).

Only the events the platform had recorded by that instant are projected, with the live
projection's own code, into a schema of their own that is dropped afterwards; the live register is
never written. A correction recorded later appears in today's register but not in the replay.

Two sources give the same register:
- `replay` reads the municipality's events from the register's archive (`applied_events`: every
  event the register applied, as published, in the order it applied them), so one municipality is
  replayed without reading the others' events: seconds for thousands of youths;
- `replay_from_topics` reads every event topic from the beginning (the event log itself), as
  `kaa register rebuild` does; slower, and the check that the archive tells the same story.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import TypeAdapter, ValidationError

from services.register import queries
from services.register.projection import SCHEMA, apply_events, create_pool, create_tables
from services.register.rebuild import rebuild
from shared.contracts.events import AnyEvent
from shared.contracts.validation import describe

CHUNK = 5000
_ARCHIVED = """
SELECT position, payload FROM applied_events
WHERE tenant = $1 AND recorded_at <= $2 AND position > $3
ORDER BY position LIMIT $4
"""
_UNARCHIVED = "SELECT count(*) FROM applied_events WHERE tenant = $1 AND payload IS NULL"
_EVENT = TypeAdapter(AnyEvent)


def check_instant(as_of: datetime, now: datetime) -> None:
    """A replay's instant: with its UTC offset, not in the future (messages never echo it)."""
    if as_of.tzinfo is None:
        raise ValueError(
            "as_of: give the instant with its UTC offset, e.g. 2025-06-30T21:59:59Z or "
            "2025-06-30T23:59:59+02:00 (in a URL, write the + as %2B)"
        )
    try:
        future = as_of > now
    except OverflowError:  # an offset that carries the instant past year 1 or 9999
        raise ValueError("as_of: is outside the instants the register holds") from None
    if future:
        raise ValueError("as_of: is in the future; the register cannot be replayed beyond now")


def _scratch_schema(as_of: datetime, now: datetime) -> str:
    """A fresh schema name for one replay (dropped afterwards), once the instant is valid."""
    check_instant(as_of, now)
    return f"replay_{uuid.uuid4().hex[:16]}"


async def replay(
    database_url: str,
    tenant: str,
    as_of: datetime,
    now: datetime,
    youth_id: uuid.UUID | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """The tenant's register as of `as_of` from the archive: a summary and every youth (or one
    youth's timeline)."""
    schema = _scratch_schema(as_of, now)
    archive = await create_pool(database_url, SCHEMA, min_size=1, max_size=1)
    pool = await create_pool(database_url, schema, min_size=1, max_size=1)
    try:
        if await archive.fetchval(_UNARCHIVED, tenant):
            raise ValueError(
                "register: holds events applied before it kept their copies; run "
                "`kaa register rebuild` and switch to it, or replay from the topics"
            )
        await create_tables(pool, schema)
        applied, after = 0, 0
        total = await archive.fetchval(
            "SELECT count(*) FROM applied_events WHERE tenant = $1 AND recorded_at <= $2",
            tenant, as_of,
        )  # fmt: skip
        while True:
            rows = await archive.fetch(_ARCHIVED, tenant, as_of, after, CHUNK)
            if not rows:
                break
            # The archive holds each event once, in the order the register applied them.
            events = [_archived(row) for row in rows]
            async with pool.acquire() as conn, conn.transaction():
                await apply_events(conn, events)
            applied += len(events)
            after = rows[-1]["position"]
            if progress is not None:
                progress(applied, int(total))
        return await _answer(pool, tenant, as_of, applied, youth_id)
    finally:
        await archive.close()
        await pool.close()
        await _drop(database_url, schema)


async def replay_from_topics(
    bootstrap_servers: str,
    database_url: str,
    namespace: str,
    tenants: Collection[str],
    tenant: str,
    as_of: datetime,
    now: datetime,
    youth_id: uuid.UUID | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """The same as `replay`, read from every event topic from the beginning."""
    schema = _scratch_schema(as_of, now)
    try:
        await rebuild(
            bootstrap_servers, database_url, namespace, tenants, schema, progress,
            recorded_by=as_of,
        )  # fmt: skip
        pool = await create_pool(database_url, schema, min_size=1, max_size=1)
        try:
            applied = await pool.fetchval(
                "SELECT count(*) FROM applied_events WHERE tenant = $1", tenant
            )
            return await _answer(pool, tenant, as_of, int(applied), youth_id)
        finally:
            await pool.close()
    finally:
        await _drop(database_url, schema)


async def _answer(
    pool: asyncpg.Pool, tenant: str, as_of: datetime, applied: int, youth_id: uuid.UUID | None
) -> dict[str, Any]:
    head: dict[str, Any] = {"tenant": tenant, "as_of": as_of, "events_recorded_by_then": applied}
    if youth_id is not None:
        return {**head, "youth": await queries.youth_timeline(pool, tenant, youth_id)}
    _, youths = await queries.list_youths(pool, tenant, None, 100_000, 0)
    return {**head, "summary": await queries.summary(pool, tenant), "youths": youths}


async def _drop(database_url: str, schema: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def _archived(row: Any) -> AnyEvent:
    """An archived event, or a ValueError naming its position and field (never the value)."""
    try:
        return _EVENT.validate_json(row["payload"])
    except ValidationError as exc:
        raise ValueError(
            f"the archived event at position {row['position']} no longer reads: {describe(exc)}"
        ) from None
