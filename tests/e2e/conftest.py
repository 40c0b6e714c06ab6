"""End-to-end fixtures: the four services as separate processes in an isolated deployment."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date

import asyncpg
import pytest

from kaa.deployment import Deployment
from tests.conftest import RunningInfra

TODAY = date(2026, 3, 2)


# Tests about other things publish a few feed lines and expect them decided as they are read: their
# deployments wait for no watermark (KAA_FEED_SOURCES empty). The order-independence tests, the
# pipeline and the crash tests use the production default (None): population and SS 12000.
AS_READ: tuple[str, ...] = ()


def new_deployment(
    infra: RunningInfra, batch_size: int = 500, feed_sources: tuple[str, ...] | None = AS_READ
) -> Deployment:
    return Deployment(
        name=f"e2e-{uuid.uuid4().hex[:10]}",
        bootstrap_servers=infra.bootstrap_servers,
        admin_database_url=infra.database_url,
        logs_dir=infra.infrastructure.settings.logs_dir / "e2e",
        tenants=("0180",),
        today=TODAY,
        batch_size=batch_size,
        feed_sources=feed_sources,
    )


@contextlib.contextmanager
def running(
    infra: RunningInfra,
    tenants: tuple[str, ...] = ("0180",),
    today: date = TODAY,
    services: list[str] | None = None,
    feed_sources: tuple[str, ...] | None = AS_READ,
    feed_settle: float | None = None,
) -> Iterator[Deployment]:
    """A fresh deployment with its services started, dropped afterwards."""
    made = new_deployment(infra, feed_sources=feed_sources)
    made.feed_settle = feed_settle
    made.tenants = tenants
    made.today = today
    asyncio.run(made.reset())
    try:
        made.start(dict(os.environ), services)  # a service that fails to start stops the others
        yield made
    finally:
        made.stop()
        asyncio.run(made.drop())


@pytest.fixture
def deployment(infra: RunningInfra) -> Iterator[Deployment]:
    with running(infra) as made:
        yield made


def kaa(deployment: Deployment, *args: str) -> subprocess.CompletedProcess[str]:
    """The `kaa` command line, as an operator runs it against this deployment."""
    return subprocess.run(
        [sys.executable, "-m", "kaa", *args], env=deployment.env(dict(os.environ)),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


async def sql(deployment: Deployment, statement: str) -> None:
    """Run SQL in the deployment's database (a test's stand-in for a bug, or the fix)."""
    conn = await asyncpg.connect(deployment.database_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()
