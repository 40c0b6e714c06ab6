"""One moment of the register's archive for every part of an audit replay: a read-only
transaction exports its snapshot, and each connection that reads the archive for the replay
imports it (PostgreSQL's `pg_export_snapshot`, `SET TRANSACTION SNAPSHOT`).

The register writes the batches of several partitions at once, and an archived event's position is
taken when it is written, not when its batch commits: a batch committed while a replay reads may
hold events numbered before the last one the replay counted. Read at their own moments, the parts
of a replay (its count, the events parsed, the ones copied in SQL) could each see a different
archive; in one snapshot they see the same one.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg

from services.register.adapters.database import SCHEMA

EXPORT = "SELECT pg_export_snapshot()"
_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")


def imported(snapshot: str) -> str:
    """The statement that makes a transaction (repeatable read, before its first query) see the
    database as the exporting one does."""
    if not _SNAPSHOT_ID.fullmatch(snapshot):
        raise ValueError("snapshot: not an id pg_export_snapshot gives")
    return f"SET TRANSACTION SNAPSHOT '{snapshot}'"


@dataclass(frozen=True)
class ExportedArchive:
    """The archive as it stood at one moment, held while a replay reads it: a connection reading
    in that moment (`archive.state_on`), and the snapshot's id for `archive.project_archive`."""

    conn: asyncpg.Connection
    snapshot: str


@asynccontextmanager
async def exported_archive(
    database_url: str, archive_schema: str = SCHEMA
) -> AsyncIterator[ExportedArchive]:
    """A read-only transaction on the archive whose snapshot every part of a replay imports;
    open until the replay is read (a snapshot can be imported only while it is)."""
    async with archive_at(database_url, archive_schema, None) as (conn, snapshot):
        yield ExportedArchive(conn, snapshot)


@asynccontextmanager
async def archive_at(
    database_url: str, archive_schema: str, snapshot: str | None
) -> AsyncIterator[tuple[asyncpg.Connection, str]]:
    """A connection reading the archive in one read-only snapshot: `snapshot` imported, else
    one exported here."""
    conn = await asyncpg.connect(database_url, server_settings={"search_path": archive_schema})
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            if snapshot is None:
                snapshot = str(await conn.fetchval(EXPORT))
            else:
                await conn.execute(imported(snapshot))
            yield conn, snapshot
    finally:
        await conn.close()


@asynccontextmanager
async def reading_archive(
    database_url: str, archive_schema: str, exported: ExportedArchive | None
) -> AsyncIterator[tuple[asyncpg.Connection, str]]:
    """The connection to read the archive on and its snapshot: the caller's exported one (its
    own connection, read on in the same transaction), else one exported here."""
    if exported is not None:
        yield exported.conn, exported.snapshot
        return
    async with archive_at(database_url, archive_schema, None) as held:
        yield held
