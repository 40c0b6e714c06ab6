"""A Kafka node SIGKILLed while the pipeline runs, restarted, then another: the platform goes on and
the register ends equal to an independent count of the feeds, nothing lost, nothing twice.

The deployment runs on a private three-node cluster (topics with three replicas, min.insync.replicas
2, producers with acks=all) and the shared PostgreSQL; the session's single broker is not touched.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kaa.deployment import Deployment
from kaa.dev.synthetic_feeds import generate
from shared.contracts.topics import all_topic_specs
from tests.conftest import RunningInfra
from tests.e2e.conftest import TODAY
from tests.e2e.expected import expected_register
from tests.support.kafka_cluster import PrivateCluster, private_cluster

pytestmark = pytest.mark.launcher


@pytest.fixture
def cluster(infra: RunningInfra) -> Iterator[PrivateCluster]:
    base = infra.infrastructure.settings.home / "test-instances"
    with private_cluster(base, infra.database_url) as made:
        yield made


@pytest.fixture
def on_cluster(infra: RunningInfra, cluster: PrivateCluster) -> Iterator[Deployment]:
    """The five services on the cluster; small batches so the stream outlasts a node's outage,
    and the production default for the feeds (persons decided once both feeds are complete)."""
    made = Deployment(
        name=f"e2e-{uuid.uuid4().hex[:10]}",
        bootstrap_servers=cluster.bootstrap_servers,
        admin_database_url=infra.database_url,
        logs_dir=infra.infrastructure.settings.logs_dir / "e2e",
        today=TODAY,
        batch_size=40,
        feed_sources=None,
    )
    asyncio.run(made.reset())
    made.start(dict(os.environ))
    try:
        yield made
    finally:
        made.stop()
        if not os.environ.get("KAA_KEEP_E2E"):
            asyncio.run(made.drop())


def summary(deployment: Deployment) -> dict[str, int]:
    with deployment.client("register", "0180", "caseworker") as client:
        result: dict[str, int] = client.get("/v1/summary").json()
        return result


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"not in {timeout:.0f} s: {what}")


def still_running(deployment: Deployment) -> dict[str, str]:
    """The services that stopped, with the last error line of each one's log."""
    assert deployment.platform is not None
    return {
        name: proc.last_error_line()
        for name, proc in deployment.platform.processes.items()
        if not proc.running()
    }


class Caseworkers(threading.Thread):
    """Caseworkers recording a contact attempt for one youth in scope after another, until told to
    stop: outreach stores each with its outbox row, its relay publishes them, the register shows
    them. Any answer but 201 is kept (a broker's outage must not fail a command)."""

    def __init__(self, deployment: Deployment, youth_ids: list[str]) -> None:
        super().__init__(daemon=True)
        self.deployment = deployment
        self.youth_ids = youth_ids
        self.posted = 0
        self.refused: list[int] = []
        self.halt = threading.Event()

    def run(self) -> None:
        with self.deployment.client("outreach", "0180", "caseworker") as outreach:
            for youth_id in self.youth_ids:
                if self.halt.is_set():
                    return
                answer = outreach.post(
                    f"/v1/youths/{youth_id}/contact-attempts",
                    json={
                        "channel": "sms",
                        "outcome": "not_reached",
                        "attempted_at": f"{TODAY.isoformat()}T10:00:00+01:00",
                    },
                )
                if answer.status_code == 201:
                    self.posted += 1
                else:
                    self.refused.append(answer.status_code)
                time.sleep(0.02)


def in_scope_ids(deployment: Deployment) -> list[str]:
    with deployment.client("register", "0180", "caseworker") as register:
        page = register.get("/v1/youths", params={"status": "in_scope", "limit": 1000}).json()
    return [youth["youth_id"] for youth in page["items"]]


def publish(deployment: Deployment, path: Path, outcome: list[int | BaseException]) -> None:
    """The feed adapter's load in a thread of its own (the node dies meanwhile)."""
    try:
        outcome.append(asyncio.run(deployment.load("ss12000", path)))
    except BaseException as exc:  # reported by the test, which waits for the thread
        outcome.append(exc)


def test_leading_node_killed_then_another_loses_and_doubles_nothing(
    on_cluster: Deployment, cluster: PrivateCluster, tmp_path: Path
) -> None:
    deployment = on_cluster
    feeds = generate(3000, "0180", seed=17, out=tmp_path, today=TODAY)
    expected = expected_register(feeds.population, feeds.ss12000, "0180", TODAY, as_read=False)
    topics = [spec.name for spec in all_topic_specs(prefix=deployment.namespace)]
    asyncio.run(deployment.load("population", feeds.population))
    asyncio.run(deployment.drained())
    assert summary(deployment)["known"] == 0, "everyone waits for the school data"

    # 1. The node leading most partitions dies while the school data is being published.
    published: list[int | BaseException] = []
    loader = threading.Thread(target=publish, args=(deployment, feeds.ss12000, published))
    loader.start()
    time.sleep(0.5)
    first = cluster.most_leading(topics)
    cluster.kill(first)
    loader.join(timeout=120)
    assert [type(p) for p in published] == [int], f"published with a node down: {published}"
    wait_until(lambda: summary(deployment)["known"] > 0, "the register grows with a node down")
    cluster.up()
    cluster.wait_in_sync(topics)
    # The caseworkers' list is everyone in scope: taken while the register still grew, it could
    # be too short to outlast the second outage.
    wait_until(
        lambda: summary(deployment)["in_scope"] == expected.in_scope, "everyone in scope", 180
    )

    # 2. Another node dies while caseworkers record contacts, one after another.
    youth_ids = in_scope_ids(deployment)
    assert len(youth_ids) == expected.in_scope
    caseworkers = Caseworkers(deployment, youth_ids)
    caseworkers.start()
    wait_until(lambda: caseworkers.posted >= 40, "caseworkers at work")
    second = cluster.most_leading(topics, besides=[first])
    cluster.kill(second)
    posted_at_kill = caseworkers.posted
    assert caseworkers.is_alive(), "the kill fell while the commands still came"
    assert posted_at_kill + 80 < len(youth_ids), "enough commands left to come during the outage"
    wait_until(
        lambda: summary(deployment)["contacted"] > posted_at_kill + 40,
        "contacts recorded after the kill reach the register with the node down",
    )
    assert not still_running(deployment), still_running(deployment)
    cluster.up()
    caseworkers.halt.set()
    caseworkers.join(timeout=30)

    asyncio.run(deployment.drained(max_wait=180))
    after = summary(deployment)
    assert after["known"] == expected.identified
    assert after["in_scope"] == expected.in_scope
    assert after["left_scope"] == expected.left_scope
    assert after["scope_episodes"] == expected.identified, "every youth exactly once"
    assert caseworkers.refused == [], "no command refused during the outage"
    done = caseworkers.posted
    assert (after["contact_attempts"], after["contacted"]) == (done, done), "every contact once"
    assert not still_running(deployment), still_running(deployment)
