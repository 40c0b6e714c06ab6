"""`KAA_KAFKA_BROKERS=3`: a three-node KRaft cluster from the launcher, replicated topics, and a
write that still succeeds with acks=all after a node is killed.

Each test starts a cluster of its own (own home, free ports; the shared PostgreSQL given as
external), never the session's single broker.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError, UnknownTopicOrPartitionError

from kaa.dev.launcher import InfraSettings, processes
from kaa.dev.launcher.kafka import node_ports
from shared.contracts.topics import all_topic_specs, namespace_prefix
from shared.infra.kafka_admin import (
    TopicSpec,
    broker_count,
    ensure_topics,
    replication_for,
    topic_config,
)
from shared.messaging import stop_consumer
from shared.messaging.failures import is_transient
from tests.conftest import RunningInfra
from tests.support.kafka_cluster import PrivateCluster

pytestmark = pytest.mark.launcher

KAA = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "kaa"


@pytest.fixture
def cluster(infra: RunningInfra) -> Iterator[PrivateCluster]:
    made = PrivateCluster(infra.infrastructure.settings.home / "test-instances", infra.database_url)
    try:
        yield made
    finally:
        made.cleanup()


def test_node_ports_and_replication_rule() -> None:
    defaults = InfraSettings(kafka_brokers=3, kafka_port=19092, kafka_controller_port=19093)
    # The default controller port lies among three client ports: the controllers follow them.
    assert node_ports(defaults) == [(19092, 19095), (19093, 19096), (19094, 19097)]
    assert node_ports(InfraSettings(kafka_port=19092, kafka_controller_port=19093)) == [
        (19092, 19093)
    ]
    assert [replication_for(n) for n in (1, 2, 3, 5)] == [(1, 1), (2, 1), (3, 2), (3, 2)]


async def produce_and_read_back(bootstrap: str, topic: str, count: int) -> list[bytes]:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", request_timeout_ms=20000
    )
    await producer.start()
    try:
        for n in range(count):
            await producer.send_and_wait(topic, f"{n}".encode(), key=f"k{n % 17}".encode())
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    seen: list[bytes] = []
    try:
        async with asyncio.timeout(60):
            while len(seen) < count:
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    seen += [r.value for r in records if r.value is not None]
    finally:
        await stop_consumer(consumer)
    return seen


def wait_for_live_brokers(bootstrap: str, count: int, seconds: float = 60.0) -> bool:
    async def live() -> int:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            return await broker_count(admin)
        finally:
            await admin.close()

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if asyncio.run(live()) == count:
            return True
        time.sleep(1.0)
    return False


def min_insync(bootstrap: str, topic: str, seconds: float = 30.0) -> str | None:
    """The topic's min.insync.replicas, asked of any broker: one whose metadata has not yet
    reached a topic made a moment ago answers "unknown topic", and is asked again (any other
    refusal fails at once)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            config = asyncio.run(topic_config(bootstrap, topic, ["min.insync.replicas"]))
            return config.get("min.insync.replicas")
        except UnknownTopicOrPartitionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.5)


def test_three_brokers_replicate_every_topic_and_survive_a_killed_one(
    cluster: PrivateCluster,
) -> None:
    cluster.up()
    servers = cluster.bootstrap_servers.split(",")
    assert len(servers) == 3
    env_line = f"KAFKA_BOOTSTRAP_SERVERS={cluster.bootstrap_servers}"
    assert env_line in cluster.settings.env_file.read_text().splitlines()

    prefix = namespace_prefix(f"cluster-{uuid.uuid4().hex[:6]}")
    specs = all_topic_specs(prefix=prefix)
    names = [spec.name for spec in specs]
    assert sorted(asyncio.run(ensure_topics(cluster.bootstrap_servers, specs))) == sorted(names)
    cluster.wait_in_sync(names)
    partitions = cluster.described(names)
    assert len(partitions) == sum(spec.partitions for spec in specs)
    assert {len(p.replicas) for p in partitions} == {3}
    assert {len(p.isr) for p in partitions} == {3}
    assert len({p.leader for p in partitions}) == 3, "leadership spread over the nodes"
    for name in names:
        assert min_insync(cluster.bootstrap_servers, name) == "2", name

    topic = f"{prefix}kaa.identify.events.v1"
    victim = cluster.most_leading([topic])
    cluster.kill(victim)
    status = cluster.infra.status()
    assert status.kafka.outcome == "degraded"
    assert [n.outcome for n in status.kafka_nodes].count("not running") == 1
    # Every write is acknowledged by two in-sync copies, with the leader of most partitions gone.
    seen = asyncio.run(produce_and_read_back(cluster.bootstrap_servers, topic, 300))
    assert sorted(seen, key=int) == [f"{n}".encode() for n in range(300)]
    # Once the cluster lists the node no more, a topic made then still gets the cluster's three
    # copies (the broker's default.replication.factor; KRaft places one on the registered node),
    # never two for good — or, where Kafka refuses, the world's failure: a start-up waits.
    assert wait_for_live_brokers(cluster.bootstrap_servers, 2), "the dead node fenced"
    late = TopicSpec(f"{prefix}kaa.late.v1", partitions=1, replication_factor=None)
    try:
        asyncio.run(ensure_topics(cluster.bootstrap_servers, [late]))
    except KafkaError as refused:
        kept = is_transient(refused)
    else:
        kept = {len(p.replicas) for p in cluster.partitions([late.name])} == {3}
    assert kept, "three copies, or refused until the node is back"

    cluster.up()  # starts the killed node only
    assert cluster.infra.status().kafka.outcome == "running"
    cluster.wait_in_sync([topic])


def test_cli_up_status_down_handle_every_node(cluster: PrivateCluster) -> None:
    s = cluster.settings
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS",)}
    env.update(
        KAA_HOME=str(s.home),
        KAA_KAFKA_BROKERS="3",
        KAA_KAFKA_PORT=str(s.kafka_port),
        KAA_KAFKA_CONTROLLER_PORT=str(s.kafka_controller_port),
        KAA_KAFKA_HEAP=s.kafka_heap,
        DATABASE_URL=s.database_url or "",
    )

    def kaa(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(KAA), *args], env=env, capture_output=True, text=True, timeout=300
        )

    up = kaa("infra", "up")
    assert up.returncode == 0, up.stderr
    assert cluster.bootstrap_servers in up.stdout
    pids = cluster.infra.kafka_pids()
    assert sorted(pids) == ["kafka", "kafka-2", "kafka-3"]
    assert kaa("infra", "status").returncode == 0

    cluster.kill(2)
    assert kaa("infra", "status").returncode == 3, "one node missing is not healthy"
    again = kaa("infra", "up")
    assert again.returncode == 0, again.stderr
    restarted = cluster.infra.kafka_pids()
    assert (restarted["kafka"], restarted["kafka-3"]) == (pids["kafka"], pids["kafka-3"])
    assert restarted["kafka-2"] != pids["kafka-2"]

    down = kaa("infra", "down")
    assert down.returncode == 0, down.stderr
    assert not any(processes.is_running(pid) for pid in restarted.values())
    assert cluster.infra.kafka_pids() == {}
