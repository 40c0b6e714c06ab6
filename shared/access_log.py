"""The access log: who read which identified youth's data, when, and why (DOMAIN.md section 7).

Every service that shows a youth's data writes an entry per youth per read (API, export, replay)
into one append-only table: the database refuses an update, a delete or a truncate, whoever asks.
Row-level security keys it on the reading municipality, so an inspector of that municipality reads
its entries and nobody else's. The entry holds ids and a purpose, never the data that was read.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg
from asyncpg.pool import PoolConnectionProxy

Purpose = Literal[
    "casework",
    "identity",
    "register",
    "audit-replay",
    "scb-report",
    "retention",
    "inspection",
    "extract",  # the youth's own extract (GDPR art. 15)
]

DDL = """
SELECT pg_advisory_xact_lock(hashtext('kaa.ddl'));
CREATE SCHEMA IF NOT EXISTS access_log;
CREATE TABLE IF NOT EXISTS access_log.entries (
    position bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    tenant char(4) NOT NULL,
    actor text NOT NULL,
    youth_id uuid NOT NULL,
    purpose text NOT NULL,
    what text NOT NULL,
    service text NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_youth ON access_log.entries (tenant, youth_id, at);
CREATE INDEX IF NOT EXISTS entries_at ON access_log.entries (tenant, at);
CREATE OR REPLACE FUNCTION access_log.append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the access log is append-only: % is not allowed', TG_OP;
END $$;
DROP TRIGGER IF EXISTS entries_append_only ON access_log.entries;
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON access_log.entries
    FOR EACH STATEMENT EXECUTE FUNCTION access_log.append_only();
ALTER TABLE access_log.entries ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_isolation ON access_log.entries;
CREATE POLICY tenant_isolation ON access_log.entries
    USING (tenant = current_setting('kaa.tenant', true))
    WITH CHECK (tenant = current_setting('kaa.tenant', true));
"""
_WRITE = """
INSERT INTO access_log.entries (tenant, actor, youth_id, purpose, what, service)
SELECT $1, $2, y, $4, $5, $6 FROM unnest($3::uuid[]) AS y
"""
_MATCHING = """
WHERE tenant = $1 AND ($2::uuid IS NULL OR youth_id = $2)
  AND ($3::timestamptz IS NULL OR at >= $3) AND ($4::timestamptz IS NULL OR at < $4)
  AND ($5::text IS NULL OR actor = $5)
"""
_READ = f"""
SELECT position, at, actor, youth_id, purpose, what, service FROM access_log.entries
{_MATCHING}
ORDER BY position DESC LIMIT $6 OFFSET $7
"""  # noqa: S608 (fixed fragments; every value is a parameter)
_COUNT = f"SELECT count(*) FROM access_log.entries {_MATCHING}"  # noqa: S608

Connection = asyncpg.Connection | asyncpg.Pool | PoolConnectionProxy


@dataclass(frozen=True)
class Access:
    tenant: str
    actor: str
    purpose: Purpose
    what: str
    service: str


async def create(conn: Connection) -> None:
    await conn.execute(DDL)


async def record(conn: Connection, access: Access, youth_ids: Sequence[uuid.UUID]) -> None:
    """One entry per youth read (in the caller's transaction when `conn` is in one)."""
    if youth_ids:
        await conn.execute(
            _WRITE, access.tenant, access.actor, list(youth_ids), access.purpose, access.what,
            access.service,
        )  # fmt: skip


async def entries(
    conn: Connection,
    tenant: str,
    youth_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 500,
    offset: int = 0,
    *,
    actor: str | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """How many entries match in all, and one page of them, newest first (of one reader's,
    `actor`, when given)."""
    total = await conn.fetchval(_COUNT, tenant, youth_id, since, until, actor)
    rows = await conn.fetch(_READ, tenant, youth_id, since, until, actor, limit, offset)
    return int(total), [dict(row) for row in rows]
