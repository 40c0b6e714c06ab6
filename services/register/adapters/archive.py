"""The register's archive (`applied_events`: every event the register applied, as published, in
the order it applied them), projected into a scratch schema of its own: what an audit replay of one
municipality reads without reading the others' events (seconds for thousands of youths).

The use case, and the same replay from the topics, are in `commands.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import TypeAdapter, ValidationError

from services.register.adapters.database import SCHEMA, create_pool, create_tables
from services.register.adapters.projection.handlers import apply_events
from shared.contracts.events import AnyEvent
from shared.contracts.validation import describe

CHUNK = 5000
_ARCHIVED = """
SELECT position, payload FROM applied_events
WHERE tenant = $1 AND recorded_at <= $2 AND position > $3
ORDER BY position LIMIT $4
"""
_UNARCHIVED = "SELECT count(*) FROM applied_events WHERE tenant = $1 AND payload IS NULL"
_EVENT: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)


async def project_archive(
    database_url: str,
    tenant: str,
    as_of: datetime,
    schema: str,
    progress: Callable[[int, int], None] | None = None,
    archive_schema: str = SCHEMA,
) -> int:
    """Project the tenant's archived events recorded by `as_of` into `schema` (made here), in
    the order the register applied them; returns how many. A ValueError when the register holds
    events it applied before it kept their copies. The archive is the live register's
    (`archive_schema`: another register's, e.g. a test's own). A correction or withdrawal
    recorded by `as_of` is in it with who and why; one recorded later is not (the entry stands as
    it was recorded then)."""
    archive = await create_pool(database_url, archive_schema, min_size=1, max_size=1)
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
                return applied
            # The archive holds each event once, in the order the register applied them.
            events = [_archived(row) for row in rows]
            async with pool.acquire() as conn, conn.transaction():
                await apply_events(conn, events)
            applied += len(events)
            after = rows[-1]["position"]
            if progress is not None:
                progress(applied, int(total))
    finally:
        await archive.close()
        await pool.close()


async def archived_by(
    database_url: str, tenant: str, as_of: datetime, archive_schema: str = SCHEMA
) -> tuple[int, int, int, int]:
    """How many of the tenant's archived events were recorded by `as_of` and the last one's
    position (what a replay at `as_of` is made of: the same pair, the same replay), how many the
    archive holds in all (the same count: the live register is that register), and which table
    the archive is (a rebuilt register swapped in under the same name is another)."""
    conn = await asyncpg.connect(database_url, server_settings={"search_path": archive_schema})
    try:
        row = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE recorded_at <= $2) AS n, coalesce(max(position) "
            "FILTER (WHERE recorded_at <= $2), 0) AS last, count(*) AS total, "
            "'applied_events'::regclass::oid::bigint AS archive FROM applied_events "
            "WHERE tenant = $1",
            tenant, as_of,
        )  # fmt: skip
        assert row is not None
        return int(row["n"]), int(row["last"]), int(row["total"]), int(row["archive"])
    finally:
        await conn.close()


async def drop_schema(database_url: str, schema: str) -> None:
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
