"""Each service's start-up, failed by the world after it opened its database pools, leaves no
connection open before it is tried again; and the register, rebuilt in the background after an
upgrade, opens its pools and producer once however often the projection loop is restarted.

On the launcher's PostgreSQL and Kafka, each test with a deployment (database and topics) of its
own; the connections counted are the deployment database's (`pg_stat_activity`). Kafka is made
to fail where a service starts its producer: that producer is given a port nothing listens on.
"""

from __future__ import annotations

import asyncio
import importlib
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from fastapi import FastAPI

from kaa.deployment import Deployment, free_port
from services.register import bootstrap as register_bootstrap
from shared import runtime
from shared.casework import bootstrap as casework_bootstrap
from shared.runtime import BackgroundLoops, Setup
from shared.settings import ServiceSettings
from tests.conftest import RunningInfra
from tests.integration.test_register_corrections import TENANT
from tests.integration.test_register_upgrade_serving import older_register


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


async def connections(deployment: Deployment, expected: int | None = None) -> int:
    """The connections to the deployment's database (once `expected`, waited for up to 5 s: a
    closed connection's server process ends a moment after the client closed it)."""
    conn = await asyncpg.connect(deployment.admin_database_url)
    try:
        deadline = time.monotonic() + 5.0
        while True:
            count: int = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", deployment.database
            )
            if expected is None or count == expected or time.monotonic() > deadline:
                return count
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


class Kafka:
    """The producer a service starts: on a port nothing listens on while `down`."""

    down = True

    def producer(self, settings: ServiceSettings) -> AIOKafkaProducer:
        if self.down:
            return AIOKafkaProducer(bootstrap_servers=f"127.0.0.1:{free_port()}")
        return runtime.idempotent_producer(settings)


def setup_of(
    service: str, deployment: Deployment, kafka: Kafka, monkeypatch: pytest.MonkeyPatch
) -> Setup:
    """The service's own `setup`, as its app hands it to `service_app`."""
    for name, value in deployment.env({}).items():
        monkeypatch.setenv(name, value)
    bootstrap = importlib.import_module(f"services.{service}.bootstrap")
    composed = casework_bootstrap if service in ("measures", "outreach") else bootstrap
    made: list[Setup] = []

    def capturing(**kwargs: Any) -> FastAPI:
        made.append(kwargs["setup"])
        return runtime.service_app(**kwargs)

    monkeypatch.setattr(composed, "service_app", capturing)
    monkeypatch.setattr(composed, "idempotent_producer", kafka.producer)
    bootstrap.create_app(ServiceSettings())
    return made[0]


@pytest.mark.parametrize("service", ["measures", "outreach", "identify", "register", "connect"])
async def test_a_start_up_failed_by_kafka_closes_the_database_pools_it_opened(
    service: str, deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    kafka = Kafka()
    setup = setup_of(service, deployment, kafka, monkeypatch)
    with pytest.raises(KafkaError):
        await setup(FastAPI(), BackgroundLoops())
    assert await connections(deployment, expected=0) == 0, "the failed attempt left them open"

    kafka.down = False
    teardown = await setup(FastAPI(), BackgroundLoops())
    assert await connections(deployment) > 0
    await teardown()
    assert await connections(deployment, expected=0) == 0, "the teardown left some open"


class Failing:
    """A projection consumer that fails at once (the loop guard restarts the loop then)."""

    async def run(self) -> None:
        raise ConnectionRefusedError("the broker went")


async def test_the_projection_loop_restarted_after_an_upgrade_opens_the_register_once(
    infra: RunningInfra, deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    await older_register(infra, deployment)
    kafka = Kafka()
    setup = setup_of("register", deployment, kafka, monkeypatch)
    monkeypatch.setattr(register_bootstrap, "projection_consumer", lambda *args: Failing())
    app, loops = FastAPI(), BackgroundLoops()
    teardown = await setup(app, loops)  # an upgrade is due: the projection loop opens the register
    assert await connections(deployment, expected=0) == 0
    projection = loops.loops["projection"]

    with pytest.raises(KafkaError):  # rebuilt, its pools opened, then its producer fails
        await projection()
    assert await connections(deployment, expected=0) == 0, "the partial open was left open"

    kafka.down = False
    counts: list[int] = []
    pools: list[tuple[Any, Any]] = []
    for _ in range(4):  # the loop guard restarting the projection loop
        with pytest.raises(ConnectionRefusedError):
            await projection()
        counts.append(await connections(deployment, expected=counts[0] if counts else None))
        pools.append((app.state.pool, app.state.reader))
    assert counts[0] > 0
    assert counts == [counts[0]] * 4, "each restart opened more connections"
    assert all(opened == pools[0] for opened in pools)
    await teardown()
    assert await connections(deployment, expected=0) == 0
