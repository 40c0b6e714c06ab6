"""A rebuild in several processes, each reading its share of the partitions, builds the register a
rebuild in one process builds (issue 21: parsing and encoding the events is most of a rebuild's
work, and one process has one core). On real Kafka and PostgreSQL."""

from __future__ import annotations

import asyncpg
from aiokafka import AIOKafkaProducer

from kaa.dev.synthetic import generate
from services.register.adapters.archive import drop_schema
from services.register.adapters.topics import project_topics
from services.register.commands.rebuild import verify
from shared.contracts.events import AnyEvent
from shared.contracts.topics import EVENT_TOPICS
from tests.conftest import RunningInfra, Topics

TENANTS = ("0180", "0114")


async def published(infra: RunningInfra, namespace: str, events: list[AnyEvent]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap_servers, linger_ms=5)
    await producer.start()
    try:
        for event in events:
            await producer.send(
                f"{namespace}{event.topic}", event.to_bytes(), key=str(event.youth_id).encode()
            )
        await producer.flush()
    finally:
        await producer.stop()


async def counts(infra: RunningInfra, schema: str) -> tuple[int, int]:
    conn = await asyncpg.connect(infra.database_url, server_settings={"search_path": schema})
    try:
        return (
            int(await conn.fetchval("SELECT count(*) FROM applied_events")),
            int(await conn.fetchval("SELECT count(*) FROM youths")),
        )
    finally:
        await conn.close()


async def test_a_rebuild_in_two_processes_builds_the_register_one_process_builds(
    infra: RunningInfra, topics: Topics
) -> None:
    for topic in EVENT_TOPICS:
        await topics.create(topic, partitions=3)
    namespace = f"{topics.prefix}."
    made = generate(3000, "rebuild-processes-test-key-0123456789", tenants=TENANTS,
                    first_tenant_youths=80)  # fmt: skip
    events: list[AnyEvent] = list(made.events)  # type: ignore[arg-type]
    await published(infra, namespace, events)
    one, two = f"{topics.prefix}_one".replace(".", "_"), f"{topics.prefix}_two".replace(".", "_")
    told: list[tuple[int, int]] = []
    try:
        alone = await project_topics(infra.bootstrap_servers, infra.database_url, namespace,
                                     TENANTS, one, processes=1)  # fmt: skip
        shared = await project_topics(
            infra.bootstrap_servers, infra.database_url, namespace, TENANTS, two,
            lambda done, total: told.append((done, total)), processes=2,
        )  # fmt: skip
        assert (alone.events, alone.applied, alone.rejected) == (len(events), len(events), 0)
        assert (shared.events, shared.applied, shared.rejected) == (len(events), len(events), 0)
        assert await counts(infra, two) == await counts(infra, one)
        assert (await counts(infra, two))[0] == len(events)
        assert await verify(infra.database_url, one, two) == {}
        assert told, "progress is told while the processes read"
        assert [done for done, _ in told] == sorted(done for done, _ in told)
        assert told[-1][0] == len(events), "the last figure told is every event read"
        assert (alone.processes, shared.processes) == (1, 2)
        # As of an instant (an audit replay from the topics): the same events left out in both.
        instant = sorted(event.recorded_at for event in events)[len(events) // 2]
        for schema, processes in ((one, 1), (two, 2)):
            then = await project_topics(infra.bootstrap_servers, infra.database_url, namespace,
                                        TENANTS, schema, recorded_by=instant,
                                        processes=processes)  # fmt: skip
            assert then.applied == sum(event.recorded_at <= instant for event in events)
        assert await verify(infra.database_url, one, two) == {}
    finally:
        for schema in (one, two):
            await drop_schema(infra.database_url, schema)
