"""Scratch registers: the schema an audit replay of the archive projects into, read once and
dropped.

Each is made with its time of making as the schema's comment, and written and read through a pool
of its own whose connections carry the schema's name as their `application_name`. A scratch
register made more than `ORPHANED_AFTER` ago that no connection is named after was left by a
replay that never dropped it (its process was killed), and `sweep` drops it: the register service
sweeps when it starts, and a sweep that cannot drop one says so in the log and goes on. The age
keeps a live replay's register safe in the moments its pool holds no connection (one made again)
and from replicas of another version; a scratch register without the comment (made before it was
set, or by a test) is never swept. A replay from the topics writes through pools of its own and is
named apart (`topics_name`): it is never swept either, and one a killed process left behind is
dropped by hand (`DROP SCHEMA replay_topics_… CASCADE`).

A service answers first and drops after (`drop_later`): the inspector does not wait for the drop
(about 40 ms of a 0.4 s replay), and the service awaits the drops still running when it stops
(`all_dropped`).
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
import weakref

import asyncpg
import structlog

from services.register.adapters.database import SCRATCH, Connection, create_pool, create_tables

log = structlog.get_logger(__name__)
PREFIX = "replay_"
TOPICS_PREFIX = "replay_topics_"
_NAMED = re.compile(r"replay_[0-9a-f]{16}")
_TOPICS = re.compile(r"replay_topics_[0-9a-f]{16}")
ORPHANED_AFTER = 3600
"""Seconds after its making from which a scratch register no connection is named after is swept
(a replay of the archive takes seconds)."""
_MADE = "kaa scratch register, made {}"
# Scratch registers of archive replays (named as `scratch_name` names them, made with their time)
# made more than $1 seconds ago that no connection is named after. `application_name` of every
# session is visible to the register's role.
_ORPHANS = r"""
SELECT n.nspname FROM pg_namespace n
WHERE n.nspname ~ '^replay_[0-9a-f]{16}$'
  AND (regexp_match(obj_description(n.oid, 'pg_namespace'),
                    '^kaa scratch register, made ([0-9]{1,12})$'))[1]::bigint
      < extract(epoch FROM now()) - $1
  AND NOT EXISTS (SELECT FROM pg_stat_activity a WHERE a.application_name = n.nspname)
"""
_DROPPING: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, set[asyncio.Task[None]]] = (
    weakref.WeakKeyDictionary()
)


def scratch_name() -> str:
    """A fresh scratch register's name."""
    return f"{PREFIX}{uuid.uuid4().hex[:16]}"


def topics_name() -> str:
    """A fresh name for the register a replay from the topics projects (never swept)."""
    return f"{TOPICS_PREFIX}{uuid.uuid4().hex[:16]}"


def _checked(schema: str) -> str:
    if not (_NAMED.fullmatch(schema) or _TOPICS.fullmatch(schema)):
        raise ValueError("schema: not a scratch register's name")
    return schema


async def scratch_pool(database_url: str, schema: str) -> asyncpg.Pool:
    """The pool a scratch register is written, read and dropped through, its connections named
    after it (none closed after a number of queries)."""
    if not _NAMED.fullmatch(schema):
        raise ValueError("schema: not a scratch register's name")
    return await create_pool(
        database_url, schema, {**SCRATCH, "application_name": schema},
        min_size=1, max_size=2, max_queries=2**62, max_inactive_connection_lifetime=0,
    )  # fmt: skip


def scratch_tables(pool: asyncpg.Pool, schema: str) -> asyncio.Task[None]:
    """The scratch register's tables, being made while the caller goes on: unlogged (a replay's
    register is dropped after use), the time of making as the schema's comment."""
    made = _MADE.format(int(time.time()))
    return asyncio.create_task(create_tables(pool, schema, unlogged=True, note=made))


async def dropped(pool: asyncpg.Pool, schema: str) -> None:
    """Drop the scratch register, then close its pool."""
    try:
        await pool.execute(f'DROP SCHEMA IF EXISTS "{_checked(schema)}" CASCADE')
    finally:
        await pool.close()


def drop_later(pool: asyncpg.Pool, schema: str) -> None:
    """Drop the scratch register in the background (`all_dropped` awaits it); one the drop
    misses is swept when the register service next starts."""
    task = asyncio.create_task(dropped(pool, schema))
    dropping = _DROPPING.setdefault(asyncio.get_running_loop(), set())
    dropping.add(task)
    task.add_done_callback(dropping.discard)
    task.add_done_callback(_said)


def _said(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("a replay's scratch register was not dropped; swept at a later start",
                    error=type(task.exception()).__name__)  # fmt: skip


async def all_dropped() -> None:
    """Wait for the scratch registers this event loop is dropping in the background (those
    whose drop begins meanwhile too)."""
    dropping = _DROPPING.get(asyncio.get_running_loop())
    while dropping:
        await asyncio.gather(*list(dropping), return_exceptions=True)


async def sweep(conn: Connection, older_than: float = ORPHANED_AFTER) -> int:
    """Drop the scratch registers no replay holds any longer; how many. One that cannot be
    dropped (another role's, a lock held) is left and logged: a sweep never stops a start."""
    try:
        names = [str(row["nspname"]) for row in await conn.fetch(_ORPHANS, older_than)]
    except asyncpg.PostgresError as exc:
        log.warning("scratch registers left by replays not looked for", error=type(exc).__name__)
        return 0
    swept = 0
    for name in names:
        try:
            async with conn.transaction():
                await conn.execute("SET LOCAL lock_timeout = '2s'")
                await conn.execute(f'DROP SCHEMA IF EXISTS "{_checked(name)}" CASCADE')
            swept += 1
        except asyncpg.PostgresError as exc:
            log.warning("a scratch register left by a replay could not be dropped",
                        error=type(exc).__name__)  # fmt: skip
    if swept:
        log.info("scratch registers left by replays dropped", schemas=swept)
    return swept
