"""The register's database: its schema (the SQL files in `schema/`, applied in the order of their
names) and the pools its statements run on.

The statements name tables without a schema; the pool's search path chooses the register they
write: the live one (`register`), or a fresh one a rebuild or an audit replay writes into. The
tables can be dropped and rebuilt from the topics at any time: they are a projection, not the
source of truth.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from shared.crypto import KEYRING_DDL

SCHEMA = "register"
Connection = asyncpg.Connection | PoolConnectionProxy
SCHEMA_FILES = Path(__file__).with_name("schema")

CONTENT_TABLES = (
    "youths", "scope_episodes", "identities", "contact_details", "contacts", "contact_log", "occupations", "measures",
    "measure_status", "plan_revisions", "assignments", "objections",
    # Corrections and what the register works the corrected truth out from (issue 16).
    "entry_corrections", "measure_steps", "assignment_entries", "contact_details_entries",
)  # fmt: skip
"""The tables that hold what the register says (the others record how it was read)."""


@cache
def schema_statements() -> tuple[str, ...]:
    """The schema's SQL files, in the order of their names (each idempotent: `IF NOT EXISTS`)."""
    return tuple(path.read_text("utf-8") for path in sorted(SCHEMA_FILES.glob("*.sql")))


async def create_pool(
    database_url: str, schema: str = SCHEMA, settings: dict[str, str] | None = None, **kwargs: Any
) -> asyncpg.Pool:
    """A pool whose statements name the register's tables without a schema: `schema` is the
    live register, or another one a rebuild or a replay writes into (`settings`: more of the
    sessions' settings)."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        database_url, server_settings={"search_path": schema, **(settings or {})}, **kwargs
    )
    return pool


_NOTE = re.compile(r"[A-Za-z0-9 ,.:-]{1,200}")
SCRATCH = {"synchronous_commit": "off"}
"""The settings of a register written from scratch (a rebuild, a replay): a commit does not wait
for its WAL to reach the disk. A crash loses at most the last commits, each whole with its position,
and such a register is made again from the beginning anyway; it becomes the live one only in a
transaction that commits as usual (and flushes everything written before it)."""


@cache
def unlogged_statements() -> tuple[str, ...]:
    """The schema's SQL files with every table made unlogged."""
    made = "CREATE TABLE IF NOT EXISTS"
    return tuple(
        s.replace(made, "CREATE UNLOGGED TABLE IF NOT EXISTS") for s in schema_statements()
    )


async def create_tables(
    pool: asyncpg.Pool, schema: str = SCHEMA, unlogged: bool = False, note: str | None = None
) -> None:
    """Make the schema and its tables where they are missing (running it again changes nothing).
    `unlogged`: tables whose writes cost no WAL and are emptied by a crash, for a scratch register
    dropped after use (an audit replay's). `note`: the schema's comment, set with it."""
    # One round trip: the script is one message, which the server runs as two transactions (the
    # register's schema from BEGIN to COMMIT, then the keyring's). Statement by statement, a replay
    # waited for its event loop, busy parsing the archive, before each next one was sent.
    comment = ""
    if note is not None:
        if not _NOTE.fullmatch(note):
            raise ValueError("note: letters, digits, spaces and , . : - only")
        comment = f";\nCOMMENT ON SCHEMA \"{schema}\" IS '{note}'"
    async with pool.acquire() as conn:
        try:
            await conn.execute(
                f"BEGIN;\n{ddl_script(schema, unlogged)}{comment};\nCOMMIT;\n{KEYRING_DDL}"
            )
        finally:
            if conn.is_in_transaction():  # a statement failed: the rest was not run
                await conn.execute("ROLLBACK")


def ddl_script(schema: str, unlogged: bool = False) -> str:
    """The schema and its tables in one script. The advisory lock serialises concurrent starts of
    several replicas on an empty database."""
    return "\n;\n".join((
        "SELECT pg_advisory_xact_lock(hashtext('kaa.ddl'))",
        f'CREATE SCHEMA IF NOT EXISTS "{schema}"',
        *(unlogged_statements() if unlogged else schema_statements()),
    ))  # fmt: skip
