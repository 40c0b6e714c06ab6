"""A private three-node Kafka cluster for the broker-fault tests and `./run bench faults`.

Started by the development launcher (`KAA_KAFKA_BROKERS=3`) in a home of its own, on free ports,
with PostgreSQL given as external (the shared one, or the benchmark's private one), so the session's
single broker that every other test uses is never touched. Always stopped afterwards, also when the
test fails: `down`, then SIGKILL for anything of its home that still runs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from kaa.dev.launcher import InfraSettings, Infrastructure, processes
from kaa.dev.launcher.blocking import run_blocking
from kaa.dev.launcher.kafka import KafkaBroker
from shared.infra.kafka_admin import PartitionState, partition_states


def free_port_block(count: int, start: int = 30000, stop: int = 60000) -> int:
    """The first port of `count` consecutive free ports on loopback (a cluster's nodes take the
    configured port and the next ones)."""
    base = start + (os.getpid() * 7) % 1000 * 10  # parallel runs start their search apart
    for first in range(base, stop - count, count):
        if all(processes.port_is_free("127.0.0.1", port) for port in range(first, first + count)):
            return first
    raise RuntimeError(f"no {count} consecutive free ports between {start} and {stop}")


class PrivateCluster:
    """A launcher instance of three Kafka nodes; PostgreSQL is the given (external) database."""

    def __init__(self, base: Path, database_url: str, brokers: int = 3, heap: str = "512m") -> None:
        self.home = base / f"cluster-{uuid.uuid4().hex[:8]}"
        first = free_port_block(2 * brokers)
        self.settings = InfraSettings(
            home=self.home,
            kafka_brokers=brokers,
            kafka_port=first,
            kafka_controller_port=first + brokers,
            kafka_heap=heap,
            kafka_bootstrap_servers=None,
            database_url=database_url,
        )
        self.infra = Infrastructure(self.settings)

    @property
    def bootstrap_servers(self) -> str:
        return self.infra.kafka.bootstrap_servers

    def up(self) -> None:
        """Start what does not run (all nodes, or the one killed) and wait until all are ready."""
        self.infra.up()

    def node(self, node_id: int) -> KafkaBroker:
        return self.infra.kafka.nodes[node_id - 1]

    def pid(self, node_id: int) -> int | None:
        return self.infra.kafka_pids().get(self.infra.kafka.key(self.node(node_id)))

    def kill(self, node_id: int) -> None:
        """SIGKILL one node, as a power cut or the OOM killer would; return once it is gone."""
        pid = self.pid(node_id)
        assert pid is not None, f"node {node_id} is not running"
        processes.stop(pid, first_signal=signal.SIGKILL, timeout=10)

    def partitions(self, topics: Iterable[str]) -> list[PartitionState]:
        return run_blocking(partition_states(self.bootstrap_servers, list(topics)))

    def described(self, topics: Iterable[str], timeout: float = 30.0) -> list[PartitionState]:
        """Every partition of `topics`, once the node asked describes them all: the nodes learn of
        a new topic one after another, and the one asked now may not be the one asked before."""
        topics = list(topics)
        deadline = time.monotonic() + timeout
        while True:
            partitions = self.partitions(topics)
            if {p.topic for p in partitions} == set(topics) or time.monotonic() > deadline:
                return partitions
            time.sleep(0.5)

    def most_leading(self, topics: Iterable[str], besides: Iterable[int] = ()) -> int:
        """The node that leads most partitions of `topics` (of those not in `besides`)."""
        skip = set(besides)
        leaders = Counter(p.leader for p in self.described(topics) if p.leader not in skip)
        return leaders.most_common(1)[0][0]

    def wait_in_sync(self, topics: Iterable[str], timeout: float = 60.0) -> float:
        """Until every partition of `topics` has all its replicas in sync (what an operator waits
        for before taking the next broker down); returns the seconds it took."""
        topics = list(topics)
        started = time.monotonic()
        lagging: list[PartitionState] = []
        while time.monotonic() - started < timeout:
            with contextlib.suppress(Exception):  # metadata may be briefly unavailable
                partitions = self.partitions(topics)
                lagging = [p for p in partitions if set(p.isr) != set(p.replicas)]
                if not lagging and {p.topic for p in partitions} == set(topics):
                    return time.monotonic() - started
            time.sleep(0.5)
        raise AssertionError(f"under-replicated after {timeout:.0f} s: {lagging[:5]}")

    def cleanup(self) -> None:
        with contextlib.suppress(Exception):
            self.infra.down()
        marker = str(self.home)
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and processes.is_ours(int(entry.name), marker):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(entry.name), signal.SIGKILL)
        shutil.rmtree(self.home, ignore_errors=True)


@contextlib.contextmanager
def private_cluster(base: Path, database_url: str, brokers: int = 3) -> Iterator[PrivateCluster]:
    """A started private cluster, always stopped and removed afterwards."""
    cluster = PrivateCluster(base, database_url, brokers)
    try:
        cluster.up()
        yield cluster
    finally:
        cluster.cleanup()
