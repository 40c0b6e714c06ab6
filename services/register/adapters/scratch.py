"""Scratch registers: the schema an audit replay of the archive projects into, read once and
dropped.

Each is written and read through a pool of its own whose connections carry the schema's name as
their `application_name`. A scratch register that no connection is named after was left by a
replay that never dropped it (its process was killed), and `sweep` drops it: the register service
sweeps when it starts. A replay from the topics writes through pools of its own and is named
otherwise (`TOPICS_PREFIX`): it is never swept.

A service answers first and drops after (`drop_later`): the inspector does not wait for the drop
(40 ms of a 0.4 s replay), and the service awaits the drops still running when it stops
(`all_dropped`).
"""

from __future__ import annotations

import asyncio
import re
import uuid

import asyncpg
import structlog

from services.register.adapters.database import SCRATCH, Connection, create_pool

log = structlog.get_logger(__name__)
PREFIX = "replay_"
TOPICS_PREFIX = "replay_topics_"
_NAMED = re.compile(r"replay_[0-9a-f]{16}")
# Scratch registers of archive replays (the name as `scratch_name` makes it) that no connection
# is named after. Read as the register's role: `application_name` of every session is visible.
_ORPHANS = r"""
SELECT n.nspname FROM pg_namespace n
WHERE n.nspname ~ '^replay_[0-9a-f]{16}$'
  AND NOT EXISTS (SELECT FROM pg_stat_activity a WHERE a.application_name = n.nspname)
"""
_DROPPING: set[asyncio.Task[None]] = set()


def scratch_name() -> str:
    """A fresh scratch register's name."""
    return f"{PREFIX}{uuid.uuid4().hex[:16]}"


async def scratch_pool(database_url: str, schema: str) -> asyncpg.Pool:
    """The pool a scratch register is written, read and dropped through: its connections are
    named after it, and kept open while it lives (an idle one is not closed and made again)."""
    if not _NAMED.fullmatch(schema):
        raise ValueError("schema: not a scratch register's name")
    return await create_pool(
        database_url, schema, {**SCRATCH, "application_name": schema},
        min_size=1, max_size=2, max_inactive_connection_lifetime=0,
    )  # fmt: skip


async def dropped(pool: asyncpg.Pool, schema: str) -> None:
    """Drop the scratch register, then close its pool."""
    try:
        await pool.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await pool.close()


def drop_later(pool: asyncpg.Pool, schema: str) -> None:
    """Drop the scratch register in the background (`all_dropped` awaits it); one the drop
    misses is swept when the register service next starts."""
    task = asyncio.create_task(dropped(pool, schema))
    _DROPPING.add(task)
    task.add_done_callback(_done)


def _done(task: asyncio.Task[None]) -> None:
    _DROPPING.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("a replay's scratch register was not dropped; swept at the next start",
                    error=type(task.exception()).__name__)  # fmt: skip


async def all_dropped() -> None:
    """Wait for the scratch registers being dropped in the background."""
    await asyncio.gather(*list(_DROPPING), return_exceptions=True)


async def sweep(conn: Connection) -> int:
    """Drop the scratch registers that no replay holds any longer; how many."""
    names = [str(row["nspname"]) for row in await conn.fetch(_ORPHANS)]
    for name in names:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    if names:
        log.info("scratch registers left by replays dropped", schemas=len(names))
    return len(names)
