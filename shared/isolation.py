"""Isolation between municipalities in the database itself (issue 7; DOMAIN.md section 7).

Every read table carries the tenant and is protected by PostgreSQL row-level security: a row is
visible only when its tenant equals the connection's `kaa.tenant` setting. A service's query API
does not read as the tables' owner (its projections write every municipality's rows) but as a
reader role that cannot bypass the policies (no superuser, no BYPASSRLS, not the owner), and every
connection it hands out has the caller's municipality set first. So even a raw `SELECT *` made
under municipality A's setting returns no row of B, whatever a query forgets to filter.

The reader role is made per database and service (`<database>_<service>_reader`) with a password
derived from the master key, unless `KAA_READER_DATABASE_URL` names one an operator made.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SETTING = "kaa.tenant"
_POLICY = f"tenant = current_setting('{SETTING}', true)"
Connection = asyncpg.Connection | PoolConnectionProxy


def reader_role(database_url: str, service: str) -> str:
    database = urlsplit(database_url).path.lstrip("/") or "kaa"
    return f"{database}_{service}_reader"[:63]


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


async def protect(
    owner: asyncpg.Pool,
    role: str,
    password: str | None,
    *,
    readable: Sequence[str],
    writable: Sequence[str] = (),
    untenanted: Sequence[str] = (),
) -> None:
    """Create the reader role when missing (and set its password), let it read `readable` and
    append to `writable` (schema-qualified tables), and put the tenant policy on all of them.
    `untenanted` tables hold no municipality's data (e.g. consumer positions): readable as they are."""
    r = _ident(role)
    tables = [*readable, *writable]
    async with owner.acquire() as conn, conn.transaction():
        # One lock for every service's schema set-up: two services changing the same catalog
        # rows at once (a policy here, a trigger there) fail with "tuple concurrently updated".
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('kaa.ddl'))")
        if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
            try:
                await conn.execute(f"CREATE ROLE {r} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB")
            except asyncpg.InsufficientPrivilegeError:
                raise RuntimeError(
                    f"reader role {role}: the database user may not create roles; create a "
                    "login role without BYPASSRLS and give its URL in KAA_READER_DATABASE_URL"
                ) from None
        if password is not None:
            # The password is hex derived from the master key: nothing to escape.
            await conn.execute(f"ALTER ROLE {r} PASSWORD '{password}'")
        schemas = sorted({t.split(".", 1)[0] for t in [*tables, *untenanted]})
        statements = [f"GRANT USAGE ON SCHEMA {', '.join(schemas)} TO {r}"]
        statements += [f"GRANT SELECT ON {t} TO {r}" for t in [*readable, *untenanted]]
        statements += [f"GRANT SELECT, INSERT ON {t} TO {r}" for t in writable]
        statements += [
            f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {s} TO {r}"
            for s in sorted({t.split(".", 1)[0] for t in writable})
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


async def reader_pool(
    owner: asyncpg.Pool,
    database_url: str,
    given_reader_url: str | None,
    master_key: str,
    service: str,
    *,
    readable: Sequence[str],
    writable: Sequence[str] = (),
    untenanted: Sequence[str] = (),
    **pool_options: Any,
) -> asyncpg.Pool:
    """Protect the tables and open a pool as the service's reader role."""
    tables = {"readable": readable, "writable": writable, "untenanted": untenanted}
    if given_reader_url is not None:
        await protect(owner, urlsplit(given_reader_url).username or "", None, **tables)
        url = given_reader_url
    else:
        role = reader_role(database_url, service)
        password = reader_password(master_key, role)
        await protect(owner, role, password, **tables)
        url = reader_url(database_url, role, password)
    pool: asyncpg.Pool = await asyncpg.create_pool(url, **pool_options)
    return pool


class TenantScoped:
    """A reader pool as one municipality sees it: every connection it hands out has
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
