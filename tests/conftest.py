"""Test fixtures on the real infrastructure.

The session brings Kafka and PostgreSQL up once through the launcher (or reuses what `kaa infra up`
already started, or the servers named by `KAFKA_BOOTSTRAP_SERVERS` / `DATABASE_URL`). Every test gets
its own topics and its own database schema, so tests can run in any order.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest

from kaa.dev.launcher import InfraSettings, Infrastructure
from shared.infra.kafka_admin import TopicSpec, delete_topics, ensure_topics


@dataclass(frozen=True)
class RunningInfra:
    bootstrap_servers: str
    database_url: str
    infrastructure: Infrastructure
    launched: bool  # False when the servers are external and cannot be restarted by tests


@pytest.fixture(scope="session")
def infra() -> RunningInfra:
    infrastructure = Infrastructure(InfraSettings())
    status = infrastructure.up()
    return RunningInfra(
        bootstrap_servers=infrastructure.bootstrap_servers(),
        database_url=infrastructure.database_url(),
        infrastructure=infrastructure,
        launched=status.kafka.outcome != "external",
    )


class Topics:
    """Creates uniquely named topics for one test and deletes them afterwards."""

    def __init__(self, bootstrap_servers: str) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.created: list[str] = []
        self.prefix = f"test.{uuid.uuid4().hex[:10]}"

    async def create(self, name: str, partitions: int = 3) -> str:
        topic = f"{self.prefix}.{name}"
        await ensure_topics(self.bootstrap_servers, [TopicSpec(topic, partitions=partitions)])
        self.created.append(topic)
        return topic


@pytest.fixture
async def topics(infra: RunningInfra) -> AsyncIterator[Topics]:
    made = Topics(infra.bootstrap_servers)
    yield made
    if made.created:
        await delete_topics(infra.bootstrap_servers, made.created)


@pytest.fixture
async def db_schema(infra: RunningInfra) -> AsyncIterator[str]:
    """A fresh PostgreSQL schema for this test, dropped afterwards."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(infra.database_url)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
        yield schema
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        await conn.close()


@pytest.fixture
async def db(infra: RunningInfra, db_schema: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection whose search_path is this test's own schema."""
    conn = await asyncpg.connect(infra.database_url, server_settings={"search_path": db_schema})
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
def launched_infra(infra: RunningInfra) -> RunningInfra:
    """The session infrastructure, for tests that restart the broker process themselves."""
    if not infra.launched:
        pytest.skip(
            "KAFKA_BOOTSTRAP_SERVERS points at an external cluster, which tests never restart"
        )
    return infra
