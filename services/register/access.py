"""Isolation between municipalities in the database itself (issue 7; DOMAIN.md section 7).

Every register table carries the tenant and is protected by PostgreSQL row-level security: a row
is visible only when its tenant equals the connection's `kaa.tenant` setting. The query API does
not connect as the tables' owner (the projection, which writes every municipality's rows) but as a
reader role that cannot bypass the policies (no superuser, no BYPASSRLS, not the owner), and every
connection it hands out has the caller's municipality set first. So even a raw `SELECT *` made
under municipality A's setting returns no row of B, whatever a query forgets to filter.

The reader role is made per database (`<database>_register_reader`) with a password derived from
the master key, unless `KAA_READER_DATABASE_URL` names one an operator made.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from services.register.projection import SCHEMA
from services.register.rebuild import CONTENT_TABLES

SETTING = "kaa.tenant"
PROTECTED = (*CONTENT_TABLES, "applied_events", "dead_events")
_POLICY = f"tenant = current_setting('{SETTING}', true)"


def reader_role(database_url: str) -> str:
    database = urlsplit(database_url).path.lstrip("/") or "kaa"
    return f"{database}_register_reader"[:63]


def reader_password(master_key: str, role: str) -> str:
    return (
        HKDF(algorithm=hashes.SHA256(), length=24, salt=None, info=f"kaa/db-role/{role}".encode())
        .derive(master_key.encode())
        .hex()
    )


def reader_url(database_url: str, role: str, password: str) -> str:
    parts = urlsplit(database_url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{quote(role)}:{quote(password)}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def protect(owner: asyncpg.Pool, role: str, password: str | None) -> None:
    """Create the reader role when missing (and set its password), grant it reading, and put the
    tenant policy on every register table, the keyring and the export log. Idempotent."""
    r = _ident(role)
    async with owner.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('kaa.register.access'))")
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
        if not exists:
            await conn.execute(f"CREATE ROLE {r} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB")
        if password is not None:
            # The password is hex derived from the master key: nothing to escape.
            await conn.execute(f"ALTER ROLE {r} PASSWORD '{password}'")
        statements = [
            f"GRANT USAGE ON SCHEMA {SCHEMA}, keyring, register_exports TO {r}",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA {SCHEMA} TO {r}",
            f"GRANT SELECT ON keyring.youth_keys TO {r}",
            f"GRANT SELECT, INSERT ON register_exports.events TO {r}",
            f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA register_exports TO {r}",
        ]
        tables = [f"{SCHEMA}.{t}" for t in PROTECTED] + [
            "keyring.youth_keys",
            "register_exports.events",
        ]
        for table in tables:
            statements += [
                f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
                f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
                f"CREATE POLICY tenant_isolation ON {table} USING ({_POLICY}) "
                f"WITH CHECK ({_POLICY})",
            ]
        for statement in statements:
            await conn.execute(statement)


Connection = asyncpg.Connection | PoolConnectionProxy


class TenantScoped:
    """The reader pool, seen by one municipality: every connection it hands out has
    `kaa.tenant` set to that municipality before the first query."""

    def __init__(self, pool: asyncpg.Pool, tenant: str) -> None:
        self.pool = pool
        self.tenant = tenant

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[Connection]:
        async with self.pool.acquire() as conn:
            await conn.execute(f"SELECT set_config('{SETTING}', $1, false)", self.tenant)
            yield conn

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        async with self.acquire() as conn:
            rows: list[asyncpg.Record] = await conn.fetch(query, *args)
            return rows

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        async with self.acquire() as conn:
            return await conn.fetchrow(query, *args)

    async def fetchval(self, query: str, *args: Any) -> Any:
        async with self.acquire() as conn:
            return await conn.fetchval(query, *args)


Database = asyncpg.Pool | TenantScoped
"""What the register's queries read from: the owner's pool (CLI, replays) or the scoped reader."""
