"""Fingerprints of a register: what `kaa register verify` compares, and what it reports besides.

`content_hashes` fingerprints a register's tables (every row, in a fixed order), so two registers
(the live one and a rebuild) can be told to hold the same content or not; `content_hash` makes
one value of them, which an operator writes down before a disaster recovery drill and compares
after it (`kaa register fingerprint`).
"""

from __future__ import annotations

import hashlib

import asyncpg

from services.register.adapters.database import CONTENT_TABLES, SCHEMA


async def content_hashes(database_url: str, schema: str) -> dict[str, tuple[int, str]]:
    """Per content table: its row count and an MD5 of all its rows in a fixed order."""
    conn = await asyncpg.connect(database_url)
    try:
        hashes = {}
        for table in CONTENT_TABLES:
            row = await conn.fetchrow(
                f"SELECT count(*) AS n, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text),"  # noqa: S608
                f" '')) AS h FROM \"{schema}\".{table} t"
            )
            assert row is not None
            hashes[table] = (int(row["n"]), str(row["h"]))
        return hashes
    finally:
        await conn.close()


def content_hash(hashes: dict[str, tuple[int, str]]) -> str:
    """One value for a register's whole content: every content table's rows and hash, in order."""
    joined = "\n".join(f"{t} {hashes[t][0]} {hashes[t][1]}" for t in CONTENT_TABLES)
    return hashlib.sha256(joined.encode()).hexdigest()[:32]


async def dead_event_count(database_url: str, schema: str = SCHEMA) -> tuple[int, int]:
    """How many events a register could not apply (kept in its `dead_events` with the reason,
    not re-applied since), and how much casework waits for its youth's identification; (0, 0) for
    a register made before that table existed (it kept none)."""
    conn = await asyncpg.connect(database_url)
    try:
        if await conn.fetchval("SELECT to_regclass($1)", f'"{schema}".dead_events') is None:
            return 0, 0
        counts = (
            "count(*) FILTER (WHERE reapplied_at IS NULL AND NOT waits_for_youth) AS dead,"
            " count(*) FILTER (WHERE reapplied_at IS NULL AND waits_for_youth) AS waiting"
        )
        row = await conn.fetchrow(f'SELECT {counts} FROM "{schema}".dead_events')  # noqa: S608
        assert row is not None
        return int(row["dead"]), int(row["waiting"])
    finally:
        await conn.close()


_ORPHANS = """
SELECT count(*) FROM (
    SELECT tenant, youth_id FROM contacts UNION SELECT tenant, youth_id FROM contact_log
    UNION SELECT tenant, youth_id FROM occupations UNION SELECT tenant, youth_id FROM measure_status
    UNION SELECT tenant, youth_id FROM plan_revisions UNION SELECT tenant, youth_id FROM assignments
    UNION SELECT tenant, youth_id FROM objections
) r
WHERE NOT EXISTS (SELECT 1 FROM youths y WHERE y.tenant = r.tenant AND y.youth_id = r.youth_id)
"""


async def orphan_youths(database_url: str, schema: str = SCHEMA) -> int:
    """Youths with casework in the register but no scope episode: events about a youth the
    register was never told had entered scope (from another service's topic, so they are kept,
    and counted here until their identification arrives)."""
    conn = await asyncpg.connect(database_url, server_settings={"search_path": schema})
    try:
        return int(await conn.fetchval(_ORPHANS))
    finally:
        await conn.close()
