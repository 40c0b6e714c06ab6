"""The register's archive (`applied_events`: every event the register applied, as published, in
the order it applied them), projected into a scratch schema of its own: what an audit replay of one
municipality reads without reading the others' events (seconds for thousands of youths).

The use case, and the same replay from the topics, are in `commands.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import TypeAdapter, ValidationError

from services.register.adapters.collector import young_collections_less_often
from services.register.adapters.database import SCHEMA, SCRATCH, create_pool
from services.register.adapters.projection.handlers import apply_events
from services.register.adapters.scratch import scratch_tables
from services.register.adapters.snapshot import ExportedArchive, imported, reading_archive
from shared.contracts.events import AnyEvent, YouthIdentified
from shared.contracts.validation import FastJson, describe

CHUNK = 5000
# The types in $5 are not read (`NOT_IN_THE_ANSWER`, and what a fast replay copies in SQL).
_ARCHIVED = """
SELECT position, payload FROM applied_events
WHERE tenant = $1 AND recorded_at <= $2 AND position > $3 AND position <= $6
  AND event_type <> ALL($5::text[])
ORDER BY position LIMIT $4
"""
NOT_IN_THE_ANSWER = (
    "ContactEstablished", "YouthInformed", "IndividualPlanRevised", "MeasureAccepted",
    "MeasureDeclined", "MeasureStarted", "MeasureEnded", "CaseAssigned", "ContactDetailsRecorded",
    "ObjectionRecorded", "PersonalDetailsRecorded",
)  # fmt: skip
"""The event types whose rows no whole-register replay answer reads (`commands/replay.py` reads
the youths and their episodes, contact attempts and measure offers counted, occupations,
corrections and episodes registered in error; not the contact log, plans, a measure's later
steps, assignments, contact details, objections or sealed personal details, an identification's
too). Such a replay leaves them out (most of its work) unless a correction or withdrawal was
recorded by then: that is in the answer, and the entry it names may be one of theirs. Left out,
the contact attempts, measure offers and occupations are copied from the archive unparsed
(`COUNTED`), and so are the identifications (`IDENTIFIED`)."""
# Contact attempts and measure offers (counted by the answer, per youth and in the summary) and
# occupations (each youth's current one): without corrections each archived one is one row, as its
# handler writes it (a measure's status, which an offer also sets, and its sealed content are read
# by no answer). In such a replay they go from the archive to the scratch register unparsed, in one
# statement over one pass of the archive, each payload read as JSON once. $1 tenant, $2 recorded by,
# $3 the last position the replay's archive state counted (every part of a replay reads the archive
# in the one snapshot that state was read in, `snapshot.py`: an event archived since, however early
# its time or its position, is in no part of it).
COUNTED = {
    "ContactAttempted": """contacts (event_id, tenant, youth_id, contact_attempt_id, channel,
                      outcome, attempted_at, actor)
SELECT event_id, tenant, youth_id, (e->>'contact_attempt_id')::uuid, e->>'channel', e->>'outcome',
       (e->>'attempted_at')::timestamptz, e->>'actor'""",
    "MeasureOffered": """measures (event_id, tenant, youth_id, measure_id, measure_type, offered_on,
                      can_start_on, actor)
SELECT event_id, tenant, youth_id, (e->>'measure_id')::uuid, e->>'measure_type',
       (e->>'offered_on')::date, (e->>'can_start_on')::date, e->>'actor'""",
    "OccupationRecorded": """occupations (event_id, tenant, youth_id, occupation_id, category,
                         code_list_version, tense, from_date, to_date, confirmed_on, actor)
SELECT event_id, tenant, youth_id, (e->>'occupation_id')::uuid, e->>'category',
       e->>'code_list_version', e->>'tense', (e->>'from_date')::date, (e->>'to_date')::date,
       (e->>'confirmed_on')::date, e->>'actor'""",
}
# Read and parsed into a temporary table of the writing session while the scratch register's tables
# are made (the larger half of the copy's work), then copied into them: `_copy_counted`.
_COUNTED_READ = """
CREATE TEMPORARY TABLE IF NOT EXISTS archived_counted
    (event_id uuid, tenant char(4), youth_id uuid, event_type text, e jsonb);
TRUNCATE pg_temp.archived_counted
"""
_COUNTED_PARSED = """
INSERT INTO pg_temp.archived_counted
SELECT event_id, tenant, youth_id, event_type, convert_from(payload, 'UTF8')::jsonb
FROM "{archive}".applied_events
WHERE tenant = $1 AND recorded_at <= $2 AND position <= $3 AND event_type IN ({types})
"""


def _counted_parsed(archive_schema: str) -> str:
    """The statement that reads and parses the `COUNTED` events of the archive."""
    types = ", ".join(f"'{event_type}'" for event_type in COUNTED)
    return _COUNTED_PARSED.format(archive=archive_schema, types=types)


def _counted_copy() -> str:
    """The one statement that copies the parsed `COUNTED` events into the scratch register."""
    inserts = ",\n".join(
        f"copied_{n} AS (\nINSERT INTO {insert}\nFROM pg_temp.archived_counted "
        f"WHERE event_type = '{kind}'\n)"
        for n, (kind, insert) in enumerate(COUNTED.items())
    )
    return f"WITH {inserts}\nSELECT"


# Identifications, in such a replay, go from the archive to the scratch register in SQL too, as
# their handler writes them (`youths_identified`, the sealed details left out as `_unsealed`
# does): an episode as its first identification says (later copies change nothing), a youth's row
# as their last one says. Copied before any other event is applied: the handlers of every batch
# apply its identifications first, so the whole archive's first is the same register. $1 tenant,
# $2 recorded by, $3 the last position counted.
IDENTIFIED = "YouthIdentified"
_IDENTIFIED_ROWS = """
WITH identified AS MATERIALIZED (
    SELECT position, tenant, youth_id, (e->>'scope_episode_id')::uuid AS episode,
           (e->>'entered_on')::date AS entered_on, (e->>'scope_ends_on')::date AS scope_ends_on,
           e->>'rule_version' AS rule_version, e->'facts' AS facts, e->>'actor' AS actor,
           (e->>'recorded_at')::timestamptz AS recorded_at,
           e->>'school_background' AS school_background,
           (e->>'identified_on')::date AS identified_on
    FROM (SELECT position, tenant, youth_id, convert_from(payload, 'UTF8')::jsonb AS e
          FROM "{archive}".applied_events
          WHERE tenant = $1 AND recorded_at <= $2 AND position <= $3
            AND event_type = 'YouthIdentified'
          OFFSET 0) AS a
), episodes AS (
INSERT INTO scope_episodes
    (scope_episode_id, tenant, youth_id, entered_on, scope_ends_on, entered_rule_version,
     entered_facts, entered_actor, entered_recorded_at, school_background, identified_on)
SELECT DISTINCT ON (episode) episode, tenant, youth_id, entered_on, scope_ends_on, rule_version,
       facts, actor, recorded_at, school_background, identified_on
FROM identified ORDER BY episode, position
)
INSERT INTO youths (tenant, youth_id, status, scope_episode_id, entered_on, scope_ends_on,
                    rule_version)
SELECT DISTINCT ON (tenant, youth_id) tenant, youth_id, 'in_scope', episode, entered_on,
       scope_ends_on, rule_version
FROM identified ORDER BY tenant, youth_id, position DESC
"""


WITHDRAWALS = ("OutreachEntryWithdrawn", "MeasuresEntryWithdrawn")
# In one pass over the tenant's archive: events applied before their copies were kept, the events
# recorded by $2 and the last one's position, all the archive holds, whether a correction or
# withdrawal ($3) was recorded by then, and which table the archive is.
_ARCHIVE_BY = """
SELECT count(*) FILTER (WHERE payload IS NULL) AS unarchived,
       count(*) FILTER (WHERE recorded_at <= $2) AS recorded,
       EXISTS (SELECT FROM entry_corrections WHERE tenant = $1 AND recorded_at <= $2)
       OR coalesce(bool_or(recorded_at <= $2 AND event_type = ANY($3::text[])), false)
           AS corrected,
       coalesce(max(position) FILTER (WHERE recorded_at <= $2), 0) AS last, count(*) AS total,
       'applied_events'::regclass::oid::bigint AS archive
FROM applied_events WHERE tenant = $1
"""
_EVENT: FastJson[AnyEvent] = FastJson(TypeAdapter(AnyEvent))  # the text checks in Rust


async def project_archive(
    database_url: str,
    tenant: str,
    as_of: datetime,
    schema: str,
    progress: Callable[[int, int], None] | None = None,
    archive_schema: str = SCHEMA,
    answer_only: bool = False,
    pool: asyncpg.Pool | None = None,
    found: Mapping[str, Any] | None = None,
    exported: ExportedArchive | None = None,
    tables: asyncio.Task[None] | None = None,
) -> int:
    """Project the tenant's archived events recorded by `as_of` into `schema` (made here), in
    the order the register applied them; returns how many. A ValueError when the register holds
    events it applied before it kept their copies. The archive is the live register's
    (`archive_schema`: another register's, e.g. a test's own). A correction or withdrawal
    recorded by `as_of` is in it with who and why; one recorded later is not (the entry stands as
    it was recorded then). With `answer_only`, what a whole-register replay's answer reads only
    (`NOT_IN_THE_ANSWER`): the other tables of `schema` stay incomplete. Written through `pool`
    (on `schema`: the caller reads the answer on it), or a pool of its own.

    Every read of the archive sees it as it stood at one moment (`exported`: the caller's,
    `snapshot.exported_archive`, read on its connection; else one exported here): a batch the
    register commits meanwhile may hold events numbered before the last one this replay counts
    (batches of several partitions are written at once), and is in no part of it. `found`: what
    the archive said in that snapshot (read here otherwise). `tables`: the scratch register's
    tables being made by the caller (made here otherwise)."""
    own = pool is None
    if pool is None:
        pool = await create_pool(database_url, schema, SCRATCH, min_size=1, max_size=2)
    try:
        with young_collections_less_often():
            async with reading_archive(database_url, archive_schema, exported) as (archive, taken):
                return await _project(pool, archive, taken, tenant, as_of, schema, progress,
                                      archive_schema, answer_only, found, tables)  # fmt: skip
    finally:
        if own:
            await pool.close()


async def _project(
    pool: asyncpg.Pool,
    archive: asyncpg.Connection,
    snapshot: str,
    tenant: str,
    as_of: datetime,
    schema: str,
    progress: Callable[[int, int], None] | None,
    archive_schema: str,
    answer_only: bool,
    found: Mapping[str, Any] | None,
    tables: asyncio.Task[None] | None,
) -> int:
    # The scratch register's tables are made while the archive is first read (and awaited before
    # anything is written into them).
    if tables is None:
        tables = scratch_tables(pool, schema)
    try:
        if found is None:
            row = await archive.fetchrow(_ARCHIVE_BY, tenant, as_of, WITHDRAWALS)
            assert row is not None
            found = dict(row)
        if found["unarchived"]:
            raise ValueError(
                "register: holds events applied before it kept their copies; run "
                "`kaa register rebuild` and switch to it, or replay from the topics"
            )
        left_out: list[str] = []
        applied, after, total = 0, 0, int(found["recorded"])
        last = int(found["last"])  # every read below stops there: the replay is `found`'s events
        writing: asyncio.Task[None] | None = None
        copying: asyncio.Task[None] | None = None
        ready: asyncio.Task[None] = tables  # what the first chunk written waits for
        if answer_only and not found["corrected"]:
            left_out = [*NOT_IN_THE_ANSWER, *COUNTED, IDENTIFIED]
            # Copied by the database while the other events are read (no handler of those
            # touches the tables the counted ones go to; they apply after the identifications).
            copying = asyncio.create_task(
                _copy_counted(pool, tables, archive_schema, tenant, as_of, last, snapshot)
            )
            ready = asyncio.create_task(_copy(pool, tables, _identified_copy, archive_schema,
                                              tenant, as_of, last, snapshot))  # fmt: skip
        try:
            while rows := await archive.fetch(
                _ARCHIVED, tenant, as_of, after, CHUNK, left_out, last
            ):
                # The archive holds each event once, in the order the register applied them.
                # The next chunk is read while the last is written.
                events = [_archived(row) for row in rows]
                if left_out:
                    events = [_unsealed(event) for event in events]
                await (ready if writing is None else writing)
                writing = asyncio.create_task(_apply(pool, events))
                applied += len(rows)
                after = rows[-1]["position"]
                if progress is not None:
                    progress(applied, total)
            await asyncio.gather(tables, ready, *(task for task in (writing, copying) if task))
        finally:
            for task in (writing, copying, ready):
                if task is not None and not task.done():
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
        if left_out:  # the events left out or copied are in the count too
            applied = total
            if progress is not None:
                progress(applied, total)
        return applied
    finally:
        if not tables.done():
            tables.cancel()
        await asyncio.gather(tables, return_exceptions=True)


def _unsealed(event: AnyEvent) -> AnyEvent:
    """An identification without the sealed personal details it carries: read by no answer (as
    `PersonalDetailsRecorded`, left out), and a third of the identifications' work."""
    if type(event) is YouthIdentified and event.personal_details is not None:
        return event.model_copy(update={"personal_details": None})
    return event


async def _copy_counted(
    pool: asyncpg.Pool,
    tables: asyncio.Task[None],
    archive_schema: str,
    tenant: str,
    as_of: datetime,
    last: int,
    snapshot: str,
) -> None:
    async with pool.acquire() as conn:
        await conn.execute(_COUNTED_READ)
        async with conn.transaction(isolation="repeatable_read"):
            await conn.execute(imported(snapshot))
            await conn.execute(_counted_parsed(archive_schema), tenant, as_of, last)
        await tables
        await conn.execute(_counted_copy())
        await conn.execute("DROP TABLE pg_temp.archived_counted")


def _identified_copy(archive_schema: str) -> str:
    """The one statement that copies the identifications from the archive."""
    return _IDENTIFIED_ROWS.format(archive=archive_schema)


async def _copy(
    pool: asyncpg.Pool,
    tables: asyncio.Task[None],
    statement: Callable[[str], str],
    archive_schema: str,
    tenant: str,
    as_of: datetime,
    last: int,
    snapshot: str,
) -> None:
    await tables
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        await conn.execute(imported(snapshot))  # writes the scratch register's fresh tables
        await conn.execute(statement(archive_schema), tenant, as_of, last)


async def _apply(pool: asyncpg.Pool, events: list[AnyEvent]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await apply_events(conn, events)


async def archive_state(
    database_url: str, tenant: str, as_of: datetime, archive_schema: str = SCHEMA
) -> dict[str, Any]:
    """The tenant's archive as of `as_of` in one pass (`_ARCHIVE_BY`): what `archived` says of
    it, and what a projection reads first (`project_archive`'s `found`)."""
    conn = await asyncpg.connect(database_url, server_settings={"search_path": archive_schema})
    try:
        return await state_on(conn, tenant, as_of)
    finally:
        await conn.close()


async def state_on(conn: asyncpg.Connection, tenant: str, as_of: datetime) -> dict[str, Any]:
    """`archive_state` read on `conn` (in its snapshot: `snapshot.exported_archive`)."""
    row = await conn.fetchrow(_ARCHIVE_BY, tenant, as_of, WITHDRAWALS)
    assert row is not None
    return dict(row)


def archived(state: Mapping[str, Any]) -> tuple[int, int, int, int]:
    """How many of the tenant's archived events were recorded by `as_of` and the last one's
    position (what a replay at `as_of` is made of: the same pair, the same replay), how many the
    archive holds in all (the same count: the live register is that register), and which table
    the archive is (a rebuilt register swapped in under the same name is another)."""
    return (int(state["recorded"]), int(state["last"]), int(state["total"]),
            int(state["archive"]))  # fmt: skip


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
