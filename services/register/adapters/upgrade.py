"""A register built by an older version of the projection, rebuilt from the topics at start-up.

The register is a projection of the event topics. When what it keeps changes (issue 16 added the
history corrections are applied against: `entry_corrections`, `measure_steps`,
`assignment_entries`, `contact_details_entries`), a register built before holds no rows there for
its old entries, and every correction or withdrawal of one would be parked. So the register
records the projection version that built it (`projection_version`); at start-up, a register
built by an older one (or before versions were recorded) is rebuilt from the topics beside itself
(`kaa register rebuild`'s own code, progress logged) and put in its place in one transaction; the
old one is kept as `<schema>_before_v<version>` for the operator to compare and drop. A fresh
register is stamped with the current version. Replicas starting together wait for the one that
rebuilds (an advisory lock).

The rebuild of a sizeable register takes longer than a supervisor or an orchestrator waits for
`/health`, so the service runs it in the background (`bootstrap.py`): `/health` answers at once,
degraded, with what `Upgrade.problems` says (waiting for another process's upgrade, or "rebuilding
the register from the topics (n of m events read)"); its reads answer 503; the projection starts
when the register is in place. A process stopped mid-rebuild leaves the old register as it was
(the swap is one transaction): the next start drops the unfinished `<schema>_upgrade` and rebuilds
from the beginning.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

import asyncpg
import structlog

from services.register.adapters.database import SCHEMA
from services.register.adapters.topics import project_topics

log = structlog.get_logger(__name__)

PROJECTION_VERSION = 3
"""1: before issue 16 (no history tables); 2: corrections and withdrawals applied against them;
3: an objection corrected in place of the one it names, and a withdrawn one gone (version 2 kept
a corrected objection as a second row and parked a withdrawal of one)."""

State = Literal["fresh", "current", "older"]
_LOCK = "SELECT pg_advisory_lock(hashtext('kaa.register.upgrade'))"
_UNLOCK = "SELECT pg_advisory_unlock(hashtext('kaa.register.upgrade'))"


@dataclass
class Upgrade:
    """What a start-up upgrade running in the background is doing (for `/health` and the 503
    answers of the register's reads); `active` from when it is started until the register is in
    place."""

    active: bool = False
    stage: Literal["waiting", "rebuilding", "swapping"] = "waiting"
    read: int = 0
    events: int = 0

    def progress(self, done: int, total: int) -> None:
        self.stage, self.read, self.events = "rebuilding", done, total

    def why(self) -> str | None:
        """Why the register does not serve yet (None: it does)."""
        if not self.active:
            return None
        doing = {
            "waiting": "waiting for the upgrade another process of the register runs",
            "rebuilding": "rebuilding the register from the topics after an upgrade "
            + (f"({self.read} of {self.events} events read)" if self.events else "(starting)"),
            "swapping": "putting the rebuilt register in place",
        }[self.stage]
        return (
            f"{doing}; its reads answer 503 and the projection waits until it is in place "
            f"(the old register is kept as {SCHEMA}_before_v{PROJECTION_VERSION})"
        )

    async def problems(self) -> list[str]:
        why = self.why()
        return [f"register upgrade: {why}"] if why else []


def _table(schema: str, table: str) -> str:
    return f'"{schema}".{table}'


async def projection_state(conn: asyncpg.Connection, schema: str = SCHEMA) -> State:
    """Whether the register in `schema` is missing (fresh), built by this projection version
    (current), or by an older one (older: it holds events but no version, or a lower one)."""
    if await conn.fetchval("SELECT to_regclass($1)", _table(schema, "applied_events")) is None:
        return "fresh"
    if await conn.fetchval("SELECT to_regclass($1)", _table(schema, "projection_version")):
        built = await conn.fetchval(
            f"SELECT max(version) FROM {_table(schema, 'projection_version')}"  # noqa: S608
        )
        if built is not None:
            return "current" if built >= PROJECTION_VERSION else "older"
    holds = await conn.fetchval(
        f"SELECT EXISTS (SELECT FROM {_table(schema, 'applied_events')})"  # noqa: S608
    )
    return "older" if holds else "fresh"


async def needs_upgrade(database_url: str, schema: str = SCHEMA) -> bool:
    """Whether the register was built by an older projection version (a quick look: the rebuild
    itself is `upgrade`, which looks again under the lock)."""
    conn = await asyncpg.connect(database_url)
    try:
        return await projection_state(conn, schema) == "older"
    finally:
        await conn.close()


async def stamp(
    conn: asyncpg.Connection | asyncpg.pool.PoolConnectionProxy, schema: str = SCHEMA
) -> None:
    """Record that this projection version built the register (once; after `upgrade` and the
    tables were made, so a register found older was rebuilt first)."""
    table = _table(schema, "projection_version")
    await conn.execute(
        f"INSERT INTO {table} (version) SELECT $1::int"  # noqa: S608
        f" WHERE NOT EXISTS (SELECT FROM {table} WHERE version >= $1::int)",
        PROJECTION_VERSION,
    )


async def upgrade(
    database_url: str,
    bootstrap_servers: str,
    namespace: str,
    tenants: Collection[str],
    schema: str = SCHEMA,
    shown: Upgrade | None = None,
) -> State:
    """At start-up, before the register's pool is opened: rebuild an older register from the
    topics and put it in place (progress logged, and kept in `shown`); returns the state found.
    The caller then makes the tables and stamps the register (`stamp`: a fresh one gets the
    current version)."""
    shown = shown or Upgrade()
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(_LOCK)
        state = await projection_state(conn, schema)
        if state != "older":
            return state
        beside, kept = f"{schema}_upgrade", f"{schema}_before_v{PROJECTION_VERSION}"
        shown.stage = "rebuilding"
        log.warning(
            "register built by an older projection version: rebuilding it from the topics",
            schema=schema, version=PROJECTION_VERSION, kept_as=kept,
        )  # fmt: skip
        reported = [-1]

        def progress(done: int, total: int) -> None:
            shown.progress(done, total)
            percent = 100 * done // total if total else 100
            if percent // 10 > reported[0]:
                reported[0] = percent // 10
                log.info("register rebuild", events_read=done, events=total, percent=percent)

        # In this process: the service stays one (`kaa register rebuild` reads in several).
        result = await project_topics(
            bootstrap_servers, database_url, namespace, tenants, beside, progress, processes=1
        )
        shown.stage = "swapping"
        async with conn.transaction():
            await conn.execute(f'DROP SCHEMA IF EXISTS "{kept}" CASCADE')
            await conn.execute(f'ALTER SCHEMA "{schema}" RENAME TO "{kept}"')
            await conn.execute(f'ALTER SCHEMA "{beside}" RENAME TO "{schema}"')
            await stamp(conn, schema)
        log.warning(
            "register rebuilt from the topics and put in place",
            schema=schema, events=result.events, applied=result.applied, kept_as=kept,
        )  # fmt: skip
        return state
    finally:
        # Stopped while waiting or rebuilding: closing the session releases the lock as well.
        with contextlib.suppress(Exception):
            await conn.execute(_UNLOCK)
        await conn.close()
