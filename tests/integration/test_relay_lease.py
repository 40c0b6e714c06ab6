"""One outbox relay per service publishes at a time; a standby takes over when the leader dies."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from aiokafka import AIOKafkaProducer

from services.identify.adapters.outbound import RELAYED, to_integration_event
from services.identify.adapters.store import IdentifyStore
from shared.eventstore import BatchProcessRecorder, eventsourcing_env
from shared.messaging.relay import RELAY_TRACKING_NAME, OutboxRelay
from tests.conftest import RunningInfra


@pytest.fixture
def app(infra: RunningInfra) -> Iterator[IdentifyStore]:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    application = IdentifyStore(
        eventsourcing_env(infra.database_url, schema), master_key="lease-test-master-key"
    )
    yield application
    application.close()
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def recorder(app: IdentifyStore) -> BatchProcessRecorder:
    assert isinstance(app.recorder, BatchProcessRecorder)
    return app.recorder


def test_a_lease_has_one_holder_until_released_or_its_session_ends(
    app: IdentifyStore, infra: RunningInfra
) -> None:
    first = recorder(app).try_lease("relay")
    assert first is not None
    assert first.held()
    assert recorder(app).try_lease("relay") is None
    another = recorder(app).try_lease("another")  # leases are per name
    assert another is not None
    another.release()

    first.release()
    second = recorder(app).try_lease("relay")
    assert second is not None

    # The holder's session dies (a killed process, a lost connection): the lease is free again.
    with psycopg.connect(infra.database_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (second.conn.info.backend_pid,))
    assert not second.held()
    third = recorder(app).try_lease("relay")
    assert third is not None
    third.release()


async def test_of_two_relays_one_leads_and_the_other_takes_over(
    app: IdentifyStore, infra: RunningInfra
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap_servers)
    await producer.start()
    relays = [
        OutboxRelay(app, producer, to_integration_event, relayed=RELAYED, standby_interval=0.1)
        for _ in range(2)
    ]
    tasks = [asyncio.create_task(r.run()) for r in relays]
    try:
        for _ in range(100):
            if any(r.leading for r in relays):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        assert [r.leading for r in relays].count(True) == 1
        leader = next(i for i, r in enumerate(relays) if r.leading)
        tasks[leader].cancel()
        await asyncio.gather(tasks[leader], return_exceptions=True)
        standby = relays[1 - leader]
        for _ in range(100):
            if standby.leading:
                break
            await asyncio.sleep(0.05)
        assert standby.leading
        assert recorder(app).try_lease(RELAY_TRACKING_NAME) is None
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await producer.stop()
