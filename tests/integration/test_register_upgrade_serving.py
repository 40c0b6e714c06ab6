"""The register's start-up upgrade runs in the background, on real PostgreSQL and Kafka with the
register as its own process: `/health` answers within a short wait (a supervisor's, an
orchestrator's probe) and says why the register is not serving yet, its reads answer 503 naming
the reason, a restart mid-upgrade keeps the old register, and the upgrade then finishes and the
rebuilt register serves.

The upgrade is held for as long as the test likes by holding its advisory lock (as a replica that
rebuilds holds it), so "longer than the health wait" does not depend on the machine's speed.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from kaa.deployment import Deployment, free_port
from kaa.supervisor import ServiceProcess
from services.register.adapters.database import create_pool, create_tables
from services.register.adapters.upgrade import _LOCK, PROJECTION_VERSION, projection_state
from shared.contracts.events import CaseAssigned
from shared.contracts.topics import IDENTIFY_EVENTS, OUTREACH_EVENTS
from tests.conftest import RunningInfra
from tests.integration.test_register_corrections import TENANT, Youth
from tests.integration.test_register_projection import Partition
from tests.integration.test_register_upgrade import publish

HEALTH_WAIT = 20.0  # seconds: far less than the upgrade is held for below


@pytest.fixture
async def deployment(infra: RunningInfra, tmp_path: Path) -> AsyncIterator[Deployment]:
    made = Deployment(name=f"it-{uuid.uuid4().hex[:10]}", bootstrap_servers=infra.bootstrap_servers,
                      admin_database_url=infra.database_url, logs_dir=tmp_path,
                      tenants=(TENANT,))  # fmt: skip
    await made.reset()
    try:
        yield made
    finally:
        await made.drop()


async def older_register(infra: RunningInfra, deployment: Deployment) -> None:
    """The register as a version before issue 16 left it (the events applied, no history, no
    projection version), and the schema an upgrade stopped mid-rebuild left beside it."""
    youth = Youth()
    identified = youth.identified(uuid.uuid4())
    assigned = CaseAssigned(**youth.envelope(), assignee_kind="caseworker", assignee="user:anna")
    await publish(infra, deployment.namespace, [identified, assigned])
    old = await create_pool(deployment.database_url, "register", min_size=1, max_size=1)
    await create_tables(old, "register")
    await Partition(old, IDENTIFY_EVENTS).apply([identified])
    await Partition(old, OUTREACH_EVENTS).apply([assigned])
    await old.execute("DELETE FROM assignment_entries; DROP TABLE projection_version")
    await old.execute("CREATE SCHEMA register_upgrade; CREATE TABLE register_upgrade.half (x int)")
    await old.close()


async def state(deployment: Deployment, schema: str) -> str:
    conn = await asyncpg.connect(deployment.database_url)
    try:
        return await projection_state(conn, schema)
    finally:
        await conn.close()


def health(process: ServiceProcess) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(f"{process.url}/health", timeout=5).json()
    return answer


def register_read(deployment: Deployment, process: ServiceProcess) -> httpx.Response:
    token = deployment.token(TENANT, "caseworker")
    return httpx.get(f"{process.url}/v1/youths", timeout=10,
                     headers={"Authorization": f"Bearer {token}"})  # fmt: skip


def in_place(process: ServiceProcess, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        said = health(process)
        if said["status"] == "ok":
            return said
        assert process.running(), "the register stopped"
        time.sleep(0.5)
    raise AssertionError(f"the upgrade did not finish: {health(process)}")


async def test_an_upgrade_longer_than_the_health_wait_finishes_and_health_says_why_meanwhile(
    infra: RunningInfra, deployment: Deployment, tmp_path: Path
) -> None:
    await older_register(infra, deployment)
    holder = await asyncpg.connect(deployment.database_url)
    await holder.execute(_LOCK)  # the upgrade waits while the test holds it
    env = deployment.env(dict(os.environ))
    process = ServiceProcess("register", free_port(), tmp_path / "register.log", env)
    try:
        process.start()
        await asyncio.to_thread(process.wait_healthy, HEALTH_WAIT)
        said = health(process)
        assert said["status"] == "degraded"
        [why] = [p for p in said["problems"] if p.startswith("register upgrade: ")]
        assert "waiting for the upgrade another process of the register runs" in why
        assert f"register_before_v{PROJECTION_VERSION}" in why
        refused = register_read(deployment, process)
        assert refused.status_code == 503
        assert refused.json()["detail"].startswith("register: waiting for the upgrade")
        assert refused.json()["errors"][0]["field"] == "register"
        # Stopped mid-upgrade (as a supervisor gives up): the old register is as it was.
        process.stop()
        assert await state(deployment, "register") == "older"
        process.start()
        await asyncio.to_thread(process.wait_healthy, HEALTH_WAIT)
        assert health(process)["status"] == "degraded"
        await holder.execute("SELECT pg_advisory_unlock_all()")
        await asyncio.to_thread(in_place, process)
        served = register_read(deployment, process)
        assert served.status_code == 200, served.text
        assert served.json()["total"] == 1
        assert await state(deployment, "register") == "current"
        assert await state(deployment, f"register_before_v{PROJECTION_VERSION}") == "older"
        rebuilt = await asyncpg.connect(deployment.database_url)
        try:
            held = await rebuilt.fetchval("SELECT count(*) FROM register.assignment_entries")
            half = await rebuilt.fetchval("SELECT to_regclass('register_upgrade.half')")
        finally:
            await rebuilt.close()
        assert (held, half) == (1, None), "rebuilt afresh, the unfinished rebuild dropped"
    finally:
        process.stop()
        await holder.close()
