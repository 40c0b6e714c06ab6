"""A stored event the relay cannot make into its public event is parked, and the relay goes on.

The case the platform met: a plan goal holding NUL, recorded before the contract refused it. Its
public event no longer validates; retried forever, it would stop the service's outbox for good.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import psycopg
import pytest
from aiokafka import AIOKafkaProducer
from eventsourcing.domain import Aggregate, event

from shared.contracts.events import ObjectionRecorded
from shared.eventstore import KafkaFedApplication, eventsourcing_env
from shared.infra.kafka_admin import TopicSpec, delete_topics, ensure_topics
from shared.messaging import read_topics
from shared.messaging.relay import OutboxRelay
from tests.conftest import RunningInfra


class Objection(Aggregate):
    @event("Recorded")
    def __init__(self, actor: str) -> None:
        self.actor = actor


class Objections(KafkaFedApplication):
    pass


def to_public(e: Any) -> ObjectionRecorded:
    return ObjectionRecorded(
        event_id=uuid.uuid4(), tenant="0180", youth_id=e.originator_id,
        occurred_at=e.timestamp, recorded_at=e.timestamp, actor=e.actor,
        correlation_id=uuid.uuid4(), objected_on=date(2026, 3, 1),
    )  # fmt: skip


@pytest.fixture
def app(infra: RunningInfra) -> Iterator[Objections]:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    application = Objections(eventsourcing_env(infra.database_url, schema))
    yield application
    application.close()
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


async def test_the_relay_parks_an_event_it_cannot_publish_and_goes_on(
    app: Objections, infra: RunningInfra
) -> None:
    topic = f"relay-parking-{uuid.uuid4().hex[:8]}.{ObjectionRecorded.topic}"
    park = f"{topic}.dlq"
    await ensure_topics(infra.bootstrap_servers, [TopicSpec(topic, 1), TopicSpec(park, 1)])
    stored = [Objection("user:anna"), Objection("user:a\u0000b"), Objection("user:bertil")]
    for aggregate in stored:
        app.save_tracked([aggregate], None, 0, 0)
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap_servers)
    await producer.start()
    try:
        relay = OutboxRelay(
            app, producer, to_public, topic_prefix=topic.removesuffix(ObjectionRecorded.topic),
            park_topic=park, service="test",
        )  # fmt: skip
        position = await relay.publish_after(0)
        assert position == 3, "the relay moved past the event it could not publish"
        assert await relay.publish_after(position) is None
    finally:
        await producer.stop()
    published = await read_topics(infra.bootstrap_servers, [topic])
    assert [r.key for r in published] == [str(stored[0].id).encode(), str(stored[2].id).encode()]
    [parked] = await read_topics(infra.bootstrap_servers, [park])
    headers = dict(parked.headers or ())
    reason = headers["kaa.dlq.reason"].decode()
    assert reason == "stored event Recorded #2 could not be published: actor: holds a NUL character"
    assert "a\x00b" not in reason
    assert parked.key == str(stored[1].id).encode()
    assert parked.value, "the stored bytes"
    assert relay.parked.count == 1
    await delete_topics(infra.bootstrap_servers, [topic, park])
