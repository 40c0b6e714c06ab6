"""Fixtures the integration tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.register.adapters.database import create_pool, create_tables
from tests.conftest import RunningInfra


@pytest.fixture
async def register(infra: RunningInfra, db_schema: str) -> AsyncIterator[asyncpg.Pool]:
    """The register's tables in this test's own schema, and a pool on it."""
    pool = await create_pool(infra.database_url, db_schema, min_size=1, max_size=3)
    await create_tables(pool, db_schema)
    yield pool
    await pool.close()
