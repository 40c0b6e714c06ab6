"""Rebuild the register from the event topics beside the live one, and verify a register against
another (the register is a projection: everything in it follows from the events on the topics).

After a disaster (the live register's schema lost), the rebuild is put in its place: the register
service then starts on it and reads on from where the rebuild read to. What the register's
database keeps that is NOT on the topics cannot come back from them, and a rebuild says so
(`NOT_FROM_THE_LOG`): an inspector must know what a rebuild loses.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.register.adapters import fingerprint
from services.register.adapters.database import CONTENT_TABLES, SCHEMA
from services.register.adapters.topics import REBUILD_SCHEMA, RebuildResult, project_topics
from services.register.adapters.upgrade import PROJECTION_VERSION, stamp

Progress = Callable[[int, int], None]


async def rebuild(
    bootstrap_servers: str,
    database_url: str,
    namespace: str,
    tenants: Collection[str],
    schema: str = REBUILD_SCHEMA,
    progress: Progress | None = None,
    recorded_by: datetime | None = None,
    processes: int | None = None,
) -> RebuildResult:
    """Project every event on the topics afresh into `schema` beside the live register (dropped
    first if it exists); with `recorded_by`, only the events recorded by then; in `processes`
    processes (None: `topics.PROCESSES` of them when the topics hold many events)."""
    return await project_topics(
        bootstrap_servers, database_url, namespace, tenants, schema, progress, recorded_by,
        processes,
    )  # fmt: skip


async def verify(
    database_url: str, live: str, other: str
) -> dict[str, tuple[tuple[int, str], ...]]:
    """The tables whose content differs between two registers (empty: identical)."""
    left = await fingerprint.content_hashes(database_url, live)
    right = await fingerprint.content_hashes(database_url, other)
    return {t: (left[t], right[t]) for t in CONTENT_TABLES if left[t] != right[t]}


@dataclass(frozen=True)
class Verification:
    """The live register compared with another, and what the live one could not apply."""

    live: dict[str, tuple[int, str]]
    other: dict[str, tuple[int, str]]
    dead: int
    waiting: int
    orphans: int

    @property
    def differ(self) -> list[str]:
        return [t for t in CONTENT_TABLES if self.live[t] != self.other[t]]


async def verification(database_url: str, against: str) -> Verification:
    """`kaa register verify`: both registers' fingerprints, the live register's parked events and
    casework waiting for its youth, and its youths with casework but no scope episode."""
    live = await fingerprint.content_hashes(database_url, SCHEMA)
    other = await fingerprint.content_hashes(database_url, against)
    dead, waiting = await fingerprint.dead_event_count(database_url)
    orphans = await fingerprint.orphan_youths(database_url)
    return Verification(live, other, dead, waiting, orphans)


NOT_FROM_THE_LOG = (
    ("the access log (who read which youth's data)", "access_log.entries", ""),
    ("the SCB export history (files handed out)", "register_exports.events", ""),
    (
        "the keyring's data keys (without them no personal detail opens)",
        "keyring.youth_keys",
        "",
    ),
    (
        "operators' decisions on parked events (discarded: who, when and why)",
        f"{SCHEMA}.dead_events",
        " WHERE discarded_at IS NOT NULL",
    ),
)
"""What the register's database keeps that is not on the event topics: (what, table, which rows).
The parked events themselves come back (the rebuild parks what the live register parked), but an
operator's discard does not: a discarded event is parked again and `kaa register reapply` tries it
again. When the live register applied each event (`applied_events.applied_at`) is not kept either
(the audit replay reads when an event was recorded, which is kept)."""

_LOCK = "SELECT pg_advisory_xact_lock(hashtext('kaa.register.upgrade'))"


@dataclass(frozen=True)
class Kept:
    """Something a rebuild cannot restore, and how many rows the database holds of it now (None:
    its table is gone, and so is what it held)."""

    what: str
    table: str
    rows: int | None


@dataclass(frozen=True)
class Restored:
    """A rebuild, whether it was put in the place of a missing live register, and what it could
    not restore."""

    result: RebuildResult
    missing: bool
    placed: bool
    kept: tuple[Kept, ...]


async def live_register_exists(database_url: str) -> bool:
    conn = await asyncpg.connect(database_url)
    try:
        return bool(await conn.fetchval("SELECT to_regnamespace($1) IS NOT NULL", SCHEMA))
    finally:
        await conn.close()


async def put_in_place(database_url: str, rebuilt: str) -> bool:
    """Make the rebuilt register the live one when there is none (one transaction, under the
    lock a starting register service takes); False when a live register appeared meanwhile (a
    register service started on the empty database): then nothing is changed."""
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await conn.execute(_LOCK)
            if await conn.fetchval("SELECT to_regnamespace($1) IS NOT NULL", SCHEMA):
                return False
            await conn.execute(f'ALTER SCHEMA "{rebuilt}" RENAME TO "{SCHEMA}"')
            await stamp(conn, SCHEMA)
        return True
    finally:
        await conn.close()


async def not_from_the_log(database_url: str) -> tuple[Kept, ...]:
    """What the database holds that a rebuild cannot restore (`NOT_FROM_THE_LOG`), counted."""
    conn = await asyncpg.connect(database_url)
    try:
        kept = []
        for what, table, where in NOT_FROM_THE_LOG:
            rows = None
            if await conn.fetchval("SELECT to_regclass($1)", table) is not None:
                rows = int(await conn.fetchval(f"SELECT count(*) FROM {table}{where}"))  # noqa: S608
            kept.append(Kept(what, table, rows))
        return tuple(kept)
    finally:
        await conn.close()


async def restore(
    bootstrap_servers: str,
    database_url: str,
    namespace: str,
    tenants: Collection[str],
    schema: str = REBUILD_SCHEMA,
    progress: Progress | None = None,
    processes: int | None = None,
) -> Restored:
    """`kaa register rebuild`: project the topics into `schema`; when the live register is
    missing (its schema dropped or lost), put the rebuild in its place, stamped with this
    projection version, so the register service starts on it."""
    missing = not await live_register_exists(database_url)
    kept = await not_from_the_log(database_url)  # as the operator found the database
    result = await rebuild(
        bootstrap_servers, database_url, namespace, tenants, schema, progress, None, processes
    )
    placed = missing and await put_in_place(database_url, schema)
    if placed:
        result = RebuildResult(
            SCHEMA, result.events, result.applied, result.rejected, result.processes
        )
    return Restored(result, missing, placed, kept)


def describe_restore(found: Restored, into: str) -> list[str]:
    """What `kaa register rebuild` tells the operator: where the rebuild is, and what it lost."""
    result = found.result
    lines = []
    if found.placed:
        lines.append(
            f"the live register (schema {SCHEMA}) was missing: rebuilt from the topics and put "
            f"in its place (projection version {PROJECTION_VERSION}); start the register service "
            "on it: it reads on from where the rebuild read to"
        )
    lines.append(
        f"rebuilt into {result.schema}: {result.events} events read, {result.applied} applied, "
        f"{result.rejected} not applicable (dead-lettered by the live register too)"
    )
    lines.append("not restorable from the log (only the database and its backups hold them):")
    for kept in found.kept:
        held = "GONE: the log cannot restore it"
        if kept.rows is not None:
            held = f"{kept.rows} row{'' if kept.rows == 1 else 's'} kept"
        lines.append(f"  {kept.what}: {kept.table}, {held}")
    if found.missing and not found.placed:
        lines.append(
            f"a live register appeared while rebuilding (a register service started on the empty "
            f"database?): the rebuild stays in {into}; compare them with kaa register verify "
            f"--against {into}, or stop the register service, drop schema {SCHEMA} and rebuild"
        )
    elif not found.placed:
        lines.append(f"compare it with the live register: kaa register verify --against {into}")
    return lines
