"""The read pool's connections remember their municipality: set once, set again whenever another
is asked for, and forgotten when the pool resets a connection on release."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from shared.casework.adapters.reader import SET_TENANT, RememberedTenant, TenantConnection
from tests.conftest import RunningInfra


class CountingConnection(TenantConnection):
    """Counts the times the municipality is set."""

    sets = 0

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:  # noqa: ASYNC109
        if query == SET_TENANT:
            CountingConnection.sets += 1
        result: str = await super().execute(query, *args, timeout=timeout)
        return result


async def _keep_session(conn: asyncpg.Connection) -> None:
    """As the caseworker services' read pool: a connection is not reset on release."""


@dataclass
class Pool:
    pool: asyncpg.Pool
    keeps_sessions: bool


@pytest.fixture(params=[True, False], ids=["keeps sessions", "resets"])
async def pool(infra: RunningInfra, request: pytest.FixtureRequest) -> AsyncIterator[Pool]:
    CountingConnection.sets = 0
    options: dict[str, Any] = {"reset": _keep_session} if request.param else {}
    made = await asyncpg.create_pool(
        infra.database_url, min_size=1, max_size=1, connection_class=CountingConnection, **options
    )
    yield Pool(made, request.param)
    await made.close()


async def setting_as(pool: Pool, tenant: str) -> str:
    async with RememberedTenant(pool.pool, tenant).acquire() as conn:
        value: str = await conn.fetchval("SELECT current_setting('kaa.tenant', true)")
        return value


async def test_the_municipality_is_set_only_when_the_connection_holds_another(
    pool: Pool,
) -> None:
    seen = [await setting_as(pool, t) for t in ("0180", "0180", "1480", "0180", "0180")]
    assert seen == ["0180", "0180", "1480", "0180", "0180"]
    if pool.keeps_sessions:
        assert CountingConnection.sets == 3, "set for the first, for 1480 and for 0180 again"
    else:  # the pool's reset cleared it each time
        assert CountingConnection.sets == 5
