"""Audit replay: the register exactly as it stood at an instant (DOMAIN.md section 7).

Only the events the platform had recorded by that instant are projected, with the live
projection's code, into a schema of their own (`replay_<epoch seconds>`); the live register is
never touched. A correction recorded later appears in today's register but not in the replay.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from services.register import queries
from services.register.projection import create_pool
from services.register.rebuild import rebuild


def replay_schema(as_of: datetime) -> str:
    return f"replay_{int(as_of.timestamp())}"


def check_instant(as_of: datetime, now: datetime) -> None:
    if as_of.tzinfo is None:
        raise ValueError(
            "as_of: give the instant with its UTC offset, e.g. 2025-06-30T23:59:59+02:00"
        )
    if as_of > now:
        raise ValueError("as_of: is in the future; the register cannot be replayed beyond now")


async def replay(
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
    """The tenant's register as of `as_of`: a summary and every youth (or one youth's timeline)."""
    check_instant(as_of, now)
    schema = replay_schema(as_of)
    result = await rebuild(
        bootstrap_servers, database_url, namespace, tenants, schema, progress, recorded_by=as_of
    )
    pool = await create_pool(database_url, schema, min_size=1, max_size=2)
    try:
        head: dict[str, Any] = {
            "tenant": tenant,
            "as_of": as_of,
            "events_recorded_by_then": result.applied,
        }
        if youth_id is not None:
            return {**head, "youth": await queries.youth_timeline(pool, tenant, youth_id)}
        _, youths = await queries.list_youths(pool, tenant, None, 100_000, 0)
        return {
            **head,
            "summary": await queries.summary(pool, tenant),
            "youths": youths,
        }
    finally:
        await pool.close()
