"""Row-level security: under municipality A's setting, even a raw `SELECT *` sees no row of B.

A fresh database gets a register with two municipalities' histories (the platform's generator,
applied by the projection as the owner); the query API's reader role then reads it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from kaa.dev.synthetic import generate
from services.register.adapters import readmodel
from services.register.adapters.access import PROTECTED, READABLE, SERVICE, WRITABLE
from services.register.adapters.database import create_pool, create_tables
from services.register.adapters.export_log import create_export_log
from services.register.adapters.projection.applied import apply_items
from shared import access_log
from shared.contracts.events import AnyEvent
from shared.isolation import TenantScoped, protect, reader_password, reader_role, reader_url
from shared.messaging.consumer import Delivery, Parsed
from tests.conftest import RunningInfra

MASTER_KEY = "isolation-test-master-key-0123456789"
SPARSE = (
    "dead_events",
    "objections",
    "contact_details",
    "contact_details_entries",
    "entry_corrections",
)  # the generator makes none of these


@pytest.fixture
async def reader(infra: RunningInfra) -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    database = f"rls_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(infra.database_url)
    await admin.execute(f'CREATE DATABASE "{database}"')
    parts = urlsplit(infra.database_url)
    url = urlunsplit(parts._replace(path=f"/{database}"))
    owner = await create_pool(url, min_size=1, max_size=2)
    try:
        await create_tables(owner)
        await create_export_log(owner)
        await access_log.create(owner)
        made = generate(600, MASTER_KEY, tenants=("0180", "0181"), first_tenant_youths=30)
        items: list[Parsed[AnyEvent]] = [
            Parsed(Delivery("t", 0, n, None, e.to_bytes()), e)  # type: ignore[arg-type]
            for n, e in enumerate(made.events)
        ]
        async with owner.acquire() as conn, conn.transaction():
            await apply_items(conn, items)
            await conn.copy_records_to_table(
                "youth_keys", schema_name="keyring", records=made.wrapped_keys,
                columns=["tenant", "youth_id", "wrapped"],
            )  # fmt: skip
        role = reader_role(url, SERVICE)
        password = reader_password(MASTER_KEY, role)
        for _ in range(2):  # twice: idempotent
            await protect(owner, role, password, readable=READABLE, writable=WRITABLE)
        pool = await create_pool(reader_url(url, role, password), min_size=1, max_size=2)
        try:
            yield url, pool
        finally:
            await pool.close()
    finally:
        await owner.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.execute(f'DROP ROLE IF EXISTS "{database}_register_reader"')
        await admin.close()


async def test_a_raw_select_under_one_municipality_sees_none_of_the_other(
    reader: tuple[str, asyncpg.Pool],
) -> None:
    url, pool = reader
    owner = await asyncpg.connect(url)
    try:
        for table in (*PROTECTED, "keyring.youth_keys"):
            name = table if "." in table else f"register.{table}"
            both = {r[0] for r in await owner.fetch(f"SELECT DISTINCT tenant FROM {name}")}  # noqa: S608
            if table not in SPARSE:
                assert both == {"0180", "0181"}, f"{table} holds both municipalities"
    finally:
        await owner.close()
    async with pool.acquire() as conn:
        assert not await conn.fetchval("SELECT rolsuper OR rolbypassrls FROM pg_roles "
                                       "WHERE rolname = current_user")  # fmt: skip
        tables = [t if "." in t else f"register.{t}" for t in (*PROTECTED, "keyring.youth_keys")]
        for name in tables:
            assert await conn.fetch(f"SELECT * FROM {name}") == [], f"{name}: no setting, no rows"  # noqa: S608
        for tenant, other in (("0180", "0181"), ("0181", "0180")):
            await conn.execute("SELECT set_config('kaa.tenant', $1, false)", tenant)
            for name in tables:
                rows = await conn.fetch(f"SELECT * FROM {name}")  # noqa: S608
                assert all(r["tenant"] == tenant for r in rows), f"{name}: a row of {other}"
                if not name.endswith(SPARSE):
                    assert rows, f"{name}: {tenant}'s own rows are visible"
        # The reader can neither write nor lift the policy.
        for statement in (
            "DELETE FROM register.youths",
            "UPDATE register.youths SET status = 'out_of_scope'",
            "ALTER TABLE register.youths DISABLE ROW LEVEL SECURITY",
            "SET ROLE kaa",
        ):
            with pytest.raises(asyncpg.PostgresError):
                await conn.execute(statement)


async def test_the_query_api_sees_its_municipality_only(reader: tuple[str, asyncpg.Pool]) -> None:
    _, pool = reader
    mine = await readmodel.summary(TenantScoped(pool, "0180"), "0180")
    assert mine["known"] == 30
    # A query that forgot its tenant filter still cannot see the other municipality.
    rows = await TenantScoped(pool, "0180").fetch("SELECT DISTINCT tenant FROM youths")
    assert [r["tenant"] for r in rows] == ["0180"]
    theirs = await readmodel.summary(TenantScoped(pool, "0180"), "0181")
    assert theirs["known"] == 0, "asking for another municipality under your own setting: nothing"


async def test_a_database_user_that_may_not_create_roles_gets_a_clear_instruction(
    reader: tuple[str, asyncpg.Pool],
) -> None:
    _, pool = reader  # the reader role itself may not create roles
    with pytest.raises(RuntimeError, match="KAA_READER_DATABASE_URL"):
        await protect(pool, f"r_{uuid.uuid4().hex[:8]}", "x", readable=READABLE)
