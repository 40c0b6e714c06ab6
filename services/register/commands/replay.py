"""Audit replay: the register exactly as it stood at an instant (DOMAIN.md section 7).

Two sources give the same register: the register's archive (`applied_events`, one municipality's
events only: seconds for thousands of youths), or every event topic from the beginning (the event
log itself, as `kaa register rebuild` reads it; slower, and the check that the archive tells the
same story).
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime
from typing import Any

import asyncpg

from services.register.adapters import readmodel
from services.register.adapters.access import Database
from services.register.adapters.archive import (
    archive_state,
    archived,
    drop_schema,
    project_archive,
    state_on,
)
from services.register.adapters.database import SCHEMA, create_pool
from services.register.adapters.scratch import (
    drop_later,
    dropped,
    scratch_name,
    scratch_pool,
    scratch_tables,
    topics_name,
)
from services.register.adapters.snapshot import exported_archive
from services.register.adapters.topics import project_topics
from shared import access_log
from shared.crypto import TenantKeys

Progress = Callable[[int, int], None]
SERVER_STARTED = "SELECT pg_postmaster_start_time()"


class ReplayInterrupted(RuntimeError):
    """PostgreSQL restarted while a replay projected: its scratch tables are unlogged, so a
    crash emptied them, and what was written after would answer wrongly without an error."""


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


def _scratch_schema(as_of: datetime, now: datetime, name: Callable[[], str] = scratch_name) -> str:
    """A fresh schema name for one replay (dropped afterwards), once the instant is valid."""
    check_instant(as_of, now)
    return name()


async def replay(
    database_url: str,
    tenant: str,
    as_of: datetime,
    now: datetime,
    youth_id: uuid.UUID | None = None,
    progress: Progress | None = None,
    archive_schema: str = SCHEMA,
    answer_first: bool = False,
) -> dict[str, Any]:
    """The tenant's register exactly as it stood at `as_of` (DOMAIN.md section 7): only the
    events recorded by then, read from the register's archive and projected with the live
    projection's own code into a schema dropped afterwards (the live register is never written;
    a correction recorded later is not in it: before it, the entry as recorded then; after it,
    the corrected truth and who corrected what, when and why). A summary and every youth, the
    corrections and the episodes registered in error; or one youth's timeline (which holds
    both). `answer_first`: the scratch register is dropped after the answer is given, in the
    background (a service, whose event loop goes on: `scratch.all_dropped`)."""
    check_instant(as_of, now)
    if youth_id is not None or progress is not None:
        return await _project(database_url, tenant, as_of, now, youth_id, progress,
                              archive_schema, answer_first)  # fmt: skip
    # The whole register: as of now (nothing recorded since), the live register itself; else the
    # same archived events make the same register, whatever the instant between them (an
    # inspector paging through it): replayed once, kept.
    state = await archive_state(database_url, tenant, as_of, archive_schema)
    recorded, last, total, archive = archived(state)
    if recorded == total:  # every event the register holds: the live register is the answer,
        live = await _replayed(database_url, archive_schema, tenant, as_of, total, None)
        state = await archive_state(database_url, tenant, as_of, archive_schema)
        if archived(state)[2] == total:
            return live  # unless the projection applied more while it was read: then what the
        recorded, last, total, archive = archived(state)  # archive holds now is replayed
    key = (database_url, archive_schema, archive, tenant, recorded, last)
    cache = replays()
    async with cache.lock(key):
        kept = cache.get(key)
        if kept is None:
            async with cache.running:
                kept, held = await _project_whole(database_url, tenant, as_of, now,
                                                  archive_schema, answer_first)  # fmt: skip
            recorded, last, _, archive = archived(held)
            cache.put((database_url, archive_schema, archive, tenant, recorded, last), kept)
    return {**kept, "as_of": as_of}


async def _project_whole(
    database_url: str,
    tenant: str,
    as_of: datetime,
    now: datetime,
    archive_schema: str,
    answer_first: bool = False,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The whole register's replay, and what the archive held for it: every part of the
    projection reads the archive in one moment, taken once the replay's turn comes (held only
    while it projects), and what the archive holds then is what the replay is of. The scratch
    register's tables are made while that moment is taken and counted."""
    held: dict[str, Any] = {}

    async def whole(pool: asyncpg.Pool, schema: str) -> dict[str, Any]:
        tables = scratch_tables(pool, schema)
        try:
            async with exported_archive(database_url, archive_schema) as exported:
                held.update(await state_on(exported.conn, tenant, as_of))
                applied = await project_archive(
                    database_url, tenant, as_of, schema, None, archive_schema, answer_only=True,
                    pool=pool, found=held, exported=exported, tables=tables,
                )  # fmt: skip
                return await _answer(pool, tenant, as_of, applied, None)
        finally:
            if not tables.done():
                tables.cancel()
            await asyncio.gather(tables, return_exceptions=True)

    return await _in_scratch(database_url, as_of, now, whole, answer_first), held


async def _project(
    database_url: str,
    tenant: str,
    as_of: datetime,
    now: datetime,
    youth_id: uuid.UUID | None,
    progress: Progress | None,
    archive_schema: str,
    answer_first: bool = False,
) -> dict[str, Any]:
    """One youth's replay, or the whole register's with its progress shown."""

    async def projected(pool: asyncpg.Pool, schema: str) -> dict[str, Any]:
        applied = await project_archive(
            database_url, tenant, as_of, schema, progress, archive_schema,
            answer_only=youth_id is None, pool=pool,
        )  # fmt: skip
        return await _answer(pool, tenant, as_of, applied, youth_id)

    return await _in_scratch(database_url, as_of, now, projected, answer_first)


async def _in_scratch(
    database_url: str,
    as_of: datetime,
    now: datetime,
    work: Callable[[asyncpg.Pool, str], Awaitable[dict[str, Any]]],
    answer_first: bool,
) -> dict[str, Any]:
    """`work` done on a scratch register of its own, dropped afterwards (`answer_first`: in the
    background once it answered): one pool writes it, reads the answer from it and drops it
    (connections made and warmed once). No answer when the database restarted meanwhile (a
    crash empties the scratch register's unlogged tables)."""
    schema = _scratch_schema(as_of, now)
    pool = await scratch_pool(database_url, schema)
    answered = False
    try:
        started = await pool.fetchval(SERVER_STARTED)
        answer = await work(pool, schema)
        if await pool.fetchval(SERVER_STARTED) != started:
            raise ReplayInterrupted(
                "register: the database restarted during the replay, which empties its scratch "
                "tables; no answer is given: replay again"
            )
        answered = True
        return answer
    finally:
        if answered and answer_first:
            drop_later(pool, schema)
        else:
            await dropped(pool, schema)


class ReplayCache:
    """The last few whole-register replays of this process, by what they were made of (the
    tenant's archived events by then: their count and the last position), so that a replay
    already made is not projected again; one replay of a key at a time, and at most two
    projections at once (several inspectors at once queue rather than time out together)."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self.kept: OrderedDict[tuple[object, ...], dict[str, Any]] = OrderedDict()
        self.locks: dict[tuple[object, ...], asyncio.Lock] = {}
        self.running = asyncio.Semaphore(2)

    def lock(self, key: tuple[object, ...]) -> asyncio.Lock:
        return self.locks.setdefault(key, asyncio.Lock())

    def get(self, key: tuple[object, ...]) -> dict[str, Any] | None:
        found = self.kept.get(key)
        if found is not None:
            self.kept.move_to_end(key)
        return found

    def put(self, key: tuple[object, ...], replayed: dict[str, Any]) -> None:
        self.kept[key] = replayed
        while len(self.kept) > self.size:
            old, _ = self.kept.popitem(last=False)
            self.locks.pop(old, None)


_CACHES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ReplayCache] = (
    weakref.WeakKeyDictionary()
)


def replays() -> ReplayCache:
    """This event loop's cache (its locks belong to the loop that made them)."""
    loop = asyncio.get_running_loop()
    cache = _CACHES.get(loop)
    if cache is None:
        cache = _CACHES[loop] = ReplayCache()
    return cache


async def replay_from_topics(
    bootstrap_servers: str,
    database_url: str,
    namespace: str,
    tenants: Collection[str],
    tenant: str,
    as_of: datetime,
    now: datetime,
    youth_id: uuid.UUID | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The same as `replay`, read from every event topic from the beginning (as `kaa register
    rebuild` does): slower, and the check that the archive tells the same story."""
    schema = _scratch_schema(as_of, now, topics_name)
    try:
        await project_topics(
            bootstrap_servers, database_url, namespace, tenants, schema, progress,
            recorded_by=as_of,
        )  # fmt: skip
        return await _replayed(database_url, schema, tenant, as_of, None, youth_id)
    finally:
        await drop_schema(database_url, schema)


async def _replayed(
    database_url: str,
    schema: str,
    tenant: str,
    as_of: datetime,
    applied: int | None,
    youth_id: uuid.UUID | None,
) -> dict[str, Any]:
    """A replayed register's answer (`_answer`), read on a pool of its own."""
    pool = await create_pool(database_url, schema, min_size=1, max_size=1)
    try:
        return await _answer(pool, tenant, as_of, applied, youth_id)
    finally:
        await pool.close()


async def _answer(
    pool: asyncpg.Pool,
    tenant: str,
    as_of: datetime,
    applied: int | None,
    youth_id: uuid.UUID | None,
) -> dict[str, Any]:
    """A replayed register's answer; `applied` None: count the tenant's events it applied."""
    if applied is None:
        applied = int(
            await pool.fetchval("SELECT count(*) FROM applied_events WHERE tenant = $1", tenant)
        )
    head: dict[str, Any] = {
        "tenant": tenant,
        "as_of": as_of,
        "events_recorded_by_then": applied,
    }
    if youth_id is not None:
        return {**head, "youth": await readmodel.youth_timeline(pool, tenant, youth_id)}
    # Read side by side on the pool's connections (the register is not written meanwhile).
    youths, occupation, summary, corrections, in_error = await asyncio.gather(
        readmodel.every_youth(pool, tenant),
        readmodel.occupations_now(pool, tenant),
        readmodel.summary(pool, tenant),
        readmodel.corrections(pool, tenant),
        readmodel.registered_in_error(pool, tenant),
    )
    for row in youths:  # the current occupation then (a correction since changes it)
        row["occupation"] = occupation.get(row["youth_id"])
    return {
        **head,
        "summary": summary,
        "youths": youths,
        "corrections": corrections,
        "registered_in_error": in_error,
    }


def shown_in(replayed: dict[str, Any], youth_id: uuid.UUID | None) -> list[uuid.UUID]:
    """The youths a replay's answer shows (each goes in the access log, like every other read)."""
    if youth_id is not None:
        return [youth_id] if replayed.get("youth") is not None else []
    shown = [row["youth_id"] for row in replayed.get("youths", [])]
    more = [*replayed.get("corrections", []), *replayed.get("registered_in_error", [])]
    return list(dict.fromkeys([*shown, *(row["youth_id"] for row in more)]))


async def record_reading(
    database_url: str, reading: access_log.Access, youths: list[uuid.UUID]
) -> None:
    """Write the access log entries of a replay read outside the query API (the CLI)."""
    conn = await asyncpg.connect(database_url)
    try:
        await access_log.create(conn)
        await access_log.record(conn, reading, youths)
    finally:
        await conn.close()


async def youth_read(
    database: Database,
    keys: TenantKeys,
    reading: access_log.Access,
    youth_id: uuid.UUID,
    replayed: dict[str, Any],
) -> dict[str, Any]:
    """One youth's replay (`replay(..., youth_id)`, the youth in it) as it is shown, the same to
    an inspector's HTTP request and to `kaa audit replay --youth-id`: the reading in the access
    log first (purpose `audit-replay`), then the words caseworkers wrote (plan texts, measures'
    content, correction notes, why an episode was registered in error) opened with the youth's
    data key as the keyring holds it now; their sealed forms are not shown
    (`readmodel.open_free_text`)."""
    async with database.acquire() as conn:
        await access_log.record(conn, reading, [youth_id])
    replayed["youth"] = await readmodel.open_free_text(
        database, keys, reading.tenant, youth_id, replayed["youth"]
    )
    return replayed
