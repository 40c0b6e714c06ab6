"""Apache Kafka 4 in KRaft mode, run from the official jars on Maven Central: one node, or a
cluster of `KAA_KAFKA_BROKERS` nodes on loopback.

The jars are fetched once with Maven into a cache outside git (`KAA_CACHE_DIR`), the storage is
formatted once, and each node runs as a background JVM on loopback. Every node is broker and
controller at once (the nodes together are the controller quorum), on the ports from
`KAA_KAFKA_PORT` and `KAA_KAFKA_CONTROLLER_PORT` on (`node_ports`). The cluster counts as ready when
the metadata lists all its brokers and a client can create a topic, which is the first thing the
platform does with it.

One node keeps its files where it always did (`$KAA_HOME/kafka`, logs in `$KAA_HOME/logs`); a
cluster keeps each node's under `$KAA_HOME/kafka-cluster/node-N` (logs in `$KAA_HOME/logs/kafka-N`),
so switching between the two never reuses storage formatted for the other.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from string import Template

from aiokafka.admin import AIOKafkaAdminClient

from kaa.dev.launcher import processes, system
from kaa.dev.launcher.blocking import ensure_blocking_allowed, run_blocking
from kaa.dev.launcher.errors import InfraError
from kaa.dev.launcher.settings import InfraSettings
from shared.infra.kafka_admin import TopicSpec, broker_count, ensure_topics, replication_for
from shared.infra.settings import PROJECT_ROOT

DEPLOY_DIR = PROJECT_ROOT / "deploy" / "kafka"
READINESS_TOPIC = "kaa.infra.readiness"
MAIN_CLASS = "kafka.Kafka"


@dataclass(frozen=True)
class KafkaPaths:
    root: Path
    config: Path
    log4j: Path
    data: Path
    stdout_log: Path
    logs_dir: Path

    @classmethod
    def of(cls, settings: InfraSettings, node_id: int = 1) -> KafkaPaths:
        if settings.kafka_brokers == 1:
            root = settings.home / "kafka"
            stdout_log, logs_dir = settings.logs_dir / "kafka.out", settings.logs_dir
        else:
            root = cluster_root(settings) / f"node-{node_id}"
            stdout_log = settings.logs_dir / f"kafka-{node_id}.out"
            logs_dir = settings.logs_dir / f"kafka-{node_id}"
        return cls(
            root=root,
            config=root / "server.properties",
            log4j=root / "log4j2.properties",
            data=root / "data",
            stdout_log=stdout_log,
            logs_dir=logs_dir,
        )


def cluster_root(settings: InfraSettings) -> Path:
    return settings.home / "kafka-cluster"


def node_ports(settings: InfraSettings) -> list[tuple[int, int]]:
    """(client port, controller port) of each node, node 1 first.

    Client ports are `KAA_KAFKA_PORT` and the next ones; controller ports `KAA_KAFKA_CONTROLLER_PORT`
    and the next ones, or, when those would fall among the client ports (the defaults 19092 and
    19093 do for more than one node), the ports right after the client ports."""
    n = settings.kafka_brokers
    clients = [settings.kafka_port + i for i in range(n)]
    first = settings.kafka_controller_port
    if first in clients:
        first = clients[-1] + 1
    controllers = [first + i for i in range(n)]
    if set(clients) & set(controllers) or max(clients + controllers) > 65535:
        raise InfraError(
            f"{n} Kafka nodes need {n} client ports from KAA_KAFKA_PORT={settings.kafka_port} and "
            f"{n} controller ports from KAA_KAFKA_CONTROLLER_PORT={settings.kafka_controller_port}, "
            "apart and below 65536; choose other ports"
        )
    return list(zip(clients, controllers, strict=True))


class KafkaBroker:
    """Starts, recognises and stops one node of the launcher's Kafka (node 1 of 1 by default)."""

    def __init__(self, settings: InfraSettings, node_id: int = 1) -> None:
        self.settings = settings
        self.node_id = node_id
        self.paths = KafkaPaths.of(settings, node_id)
        self.port, self.controller_port = node_ports(settings)[node_id - 1]

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.settings.kafka_host}:{self.port}"

    @property
    def marker(self) -> str:
        """Part of the broker's command line that no other process on the machine has."""
        return str(self.paths.config)

    def is_ours(self, pid: int | None) -> bool:
        return processes.is_ours(pid, self.marker)

    # -- jars ---------------------------------------------------------------------------------

    @property
    def libs_dir(self) -> Path:
        return self.settings.cache_dir / "kafka" / self.settings.kafka_version / "libs"

    def ensure_jars(self) -> Path:
        """The broker's classpath directory, fetched with Maven on first use and reused after."""
        libs = self.libs_dir
        complete = libs / ".complete"
        if complete.is_file():
            return libs
        mvn = system.ensure_maven(self.settings)
        staging = libs.with_name(f"libs.partial-{uuid.uuid4().hex[:8]}")
        log = self.settings.logs_dir / "maven.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            result = subprocess.run(
                [
                    str(mvn),
                    "-B",
                    "-f",
                    str(DEPLOY_DIR / "pom.xml"),
                    f"-Dkafka.version={self.settings.kafka_version}",
                    "dependency:copy-dependencies",
                    "-DincludeScope=runtime",
                    f"-DoutputDirectory={staging}",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        if result.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
            shutil.rmtree(staging, ignore_errors=True)
            raise InfraError(
                f"fetching the Kafka {self.settings.kafka_version} jars with Maven failed; "
                f"see {log} (Maven must reach its central repository)"
            )
        (staging / ".complete").write_text(self.settings.kafka_version + "\n")
        shutil.rmtree(libs, ignore_errors=True)
        staging.rename(libs)
        return libs

    # -- configuration and storage ------------------------------------------------------------

    def write_config(self) -> None:
        self.paths.root.mkdir(parents=True, exist_ok=True)
        template = Template((DEPLOY_DIR / "server.properties").read_text())
        host = self.settings.kafka_host
        voters = ",".join(
            f"{node}@{host}:{controller}"
            for node, (_, controller) in enumerate(node_ports(self.settings), start=1)
        )
        replication, min_insync = replication_for(self.settings.kafka_brokers)
        self.paths.config.write_text(
            template.substitute(
                node_id=self.node_id,
                voters=voters,
                host=host,
                port=self.port,
                controller_port=self.controller_port,
                data_dir=self.paths.data,
                partitions=self.settings.kafka_partitions,
                replication=replication,
                min_insync=min_insync,
            )
        )
        shutil.copyfile(DEPLOY_DIR / "log4j2.properties", self.paths.log4j)

    def _java_argv(self, java: Path, libs: Path, main: str, *args: str) -> list[str]:
        return [
            str(java),
            f"-Xms{self.settings.kafka_heap}",
            f"-Xmx{self.settings.kafka_heap}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={self.paths.logs_dir}",
            f"-Dlog4j2.configurationFile={self.paths.log4j}",
            "-cp",
            f"{libs}/*",
            main,
            *args,
        ]

    def format_storage(self, java: Path, libs: Path, cluster_id: str | None = None) -> None:
        """Format the KRaft storage once; a formatted directory is kept across restarts. The
        nodes of a cluster share `cluster_id`; one node makes its own."""
        if (self.paths.data / "meta.properties").is_file():
            return
        cluster_id = cluster_id or new_cluster_id()
        result = subprocess.run(
            self._java_argv(
                java,
                libs,
                "kafka.tools.StorageTool",
                "format",
                "--cluster-id",
                cluster_id,
                "--config",
                str(self.paths.config),
                "--ignore-formatted",
            ),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise InfraError(f"formatting the Kafka storage failed: {detail[0]}")

    # -- lifecycle ----------------------------------------------------------------------------

    def require_free_ports(self) -> None:
        what = "Kafka" if self.settings.kafka_brokers == 1 else f"Kafka node {self.node_id}"
        processes.require_free_port(self.settings.kafka_host, self.port, what, "KAA_KAFKA_PORT")
        processes.require_free_port(
            self.settings.kafka_host,
            self.controller_port,
            f"{what}'s controller",
            "KAA_KAFKA_CONTROLLER_PORT",
        )

    def launch(self, java: Path, libs: Path, cluster_id: str | None = None) -> int:
        """Start the node in the background without waiting for it; return its pid."""
        self.write_config()
        self.format_storage(java, libs, cluster_id)
        return processes.start_detached(
            self._java_argv(java, libs, MAIN_CLASS, str(self.paths.config)),
            log_file=self.paths.stdout_log,
            cwd=self.paths.root,
        )

    def stop(self, pid: int) -> None:
        # SIGTERM runs the broker's controlled shutdown, which flushes and closes the logs cleanly.
        processes.stop(pid, first_signal=signal.SIGTERM, timeout=self.settings.stop_timeout)


class KafkaCluster:
    """The launcher's Kafka: its nodes (one by default), started, recognised and stopped together.

    Each node's pid is kept under its own key in the launcher's state: `kafka` for node 1 (as with
    one node), `kafka-2`, `kafka-3` … for the others."""

    def __init__(self, settings: InfraSettings) -> None:
        self.settings = settings
        self.nodes = [KafkaBroker(settings, n) for n in range(1, settings.kafka_brokers + 1)]

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(node.bootstrap_servers for node in self.nodes)

    @property
    def marker(self) -> str:
        """Part of every node's command line, and of no other process's."""
        if len(self.nodes) == 1:
            return self.nodes[0].marker
        return f"{cluster_root(self.settings)}/"

    @property
    def any_layout_marker(self) -> str:
        """Part of the command line of a node of this home's Kafka, one node or a cluster."""
        return str(self.settings.home / "kafka")

    @staticmethod
    def key(node: KafkaBroker) -> str:
        return "kafka" if node.node_id == 1 else f"kafka-{node.node_id}"

    @staticmethod
    def is_key(key: str) -> bool:
        return key == "kafka" or key.startswith("kafka-")

    def running(self, pids: Mapping[str, int]) -> dict[str, int]:
        """The nodes' pids among `pids` (the launcher's state) whose processes still run."""
        return {
            self.key(node): pid
            for node in self.nodes
            if (pid := pids.get(self.key(node))) is not None and node.is_ours(pid)
        }

    def strays(self, pids: Mapping[str, int]) -> dict[str, int]:
        """Nodes of this home's Kafka that run but are not nodes of this layout: started with
        another KAA_KAFKA_BROKERS."""
        mine = self.running(pids)
        return {
            key: pid
            for key, pid in pids.items()
            if self.is_key(key)
            and key not in mine
            and processes.is_ours(pid, self.any_layout_marker)
        }

    def missing(self, running: Mapping[str, int]) -> list[KafkaBroker]:
        return [node for node in self.nodes if self.key(node) not in running]

    def prepare(self, running: Mapping[str, int]) -> tuple[Path, Path]:
        """Check the ports of the nodes not running, Java and the jars: everything that can fail
        before a process starts. Returns the Java executable and the classpath directory."""
        for node in self.missing(running):
            node.require_free_ports()
        return system.ensure_java(self.settings), self.nodes[0].ensure_jars()

    def start(self, running: Mapping[str, int]) -> dict[str, int]:
        """Start the nodes that do not run, all before waiting (a quorum needs a majority), and
        wait until the whole cluster is ready; return the pids of those started."""
        java, libs = self.prepare(running)
        cluster_id = self.cluster_id() if len(self.nodes) > 1 else None
        started: dict[str, int] = {}
        try:
            for node in self.missing(running):
                started[self.key(node)] = node.launch(java, libs, cluster_id)
            self.wait_ready({**running, **started})
        except BaseException:
            for pid in started.values():
                processes.stop(pid, first_signal=signal.SIGKILL, timeout=5)
            raise
        return started

    def cluster_id(self) -> str:
        """The id every node of the cluster is formatted with, made once and kept."""
        path = cluster_root(self.settings) / "cluster.id"
        if path.is_file():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        cluster_id = new_cluster_id()
        path.write_text(cluster_id + "\n")
        return cluster_id

    def wait_ready(self, pids: Mapping[str, int]) -> None:
        """Block until the metadata lists every node as a broker and a client can create a topic;
        raise when a node dies or the time runs out."""
        ensure_blocking_allowed()
        timeout = self.settings.kafka_ready_timeout
        deadline = time.monotonic() + timeout
        last_error = "no answer"
        while time.monotonic() < deadline:
            self._raise_if_dead(pids)
            try:
                run_blocking(
                    self._probe(attempt_seconds=min(10.0, max(1.0, deadline - time.monotonic())))
                )
                return
            except Exception as exc:  # any failure means "not yet"; the last one is reported
                last_error = f"{type(exc).__name__}: {exc}"[:200]
            time.sleep(0.5)
        log = self.nodes[0].paths.logs_dir / "kafka-server.log"
        raise InfraError(
            f"Kafka at {self.bootstrap_servers} did not become ready within {timeout:.0f} s "
            f"({last_error}); see {log}, or raise KAA_KAFKA_READY_TIMEOUT on a slow machine"
        )

    def _raise_if_dead(self, pids: Mapping[str, int]) -> None:
        for node in self.nodes:
            pid = pids.get(self.key(node))
            if pid is not None and not processes.is_running(pid):
                log = node.paths.logs_dir / "kafka-server.log"
                tail = processes.log_tail(log, 1)
                what = "Kafka" if len(self.nodes) == 1 else f"Kafka node {node.node_id}"
                raise InfraError(
                    f"{what} exited during start-up; see {log}"
                    + (f" (last line: {tail})" if tail else "")
                )

    async def _probe(self, attempt_seconds: float) -> None:
        # Refused connections are expected while the broker boots; the client would log each one.
        client_log = logging.getLogger("aiokafka")
        level = client_log.level
        client_log.setLevel(logging.CRITICAL)
        try:
            async with asyncio.timeout(attempt_seconds):
                if len(self.nodes) > 1:
                    await require_brokers(self.bootstrap_servers, len(self.nodes))
                await probe_topic_creation(self.bootstrap_servers)
        finally:
            client_log.setLevel(level)

    def stop(self, pids: Mapping[str, int], *, crash: bool = False) -> None:
        """Stop the nodes of `pids` together: one by one, the last ones would wait for a
        controller quorum that already left. SIGTERM runs each broker's controlled shutdown;
        `crash` kills them (SIGKILL) as a power cut would."""
        first = signal.SIGKILL if crash else signal.SIGTERM
        for pid in pids.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, first)
        for pid in pids.values():
            processes.stop(pid, first_signal=first, timeout=self.settings.stop_timeout)


async def require_brokers(bootstrap_servers: str, brokers: int) -> None:
    """Succeeds when the cluster's metadata lists at least `brokers` brokers."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=5000)
    await admin.start()
    try:
        listed = await broker_count(admin)
    finally:
        await admin.close()
    if listed < brokers:
        raise InfraError(f"{listed} of {brokers} brokers registered")


async def probe_topic_creation(bootstrap_servers: str) -> None:
    """Succeeds when the cluster at `bootstrap_servers` can create (or already has) a topic."""
    await ensure_topics(
        bootstrap_servers,
        [TopicSpec(READINESS_TOPIC, partitions=1)],
        request_timeout_ms=5000,
    )


def new_cluster_id() -> str:
    """A KRaft cluster id as Kafka's own Uuid.randomUuid makes it: base64url of 16 random bytes,
    never starting with "-", which the storage tool's argument parser would take for an option
    (one format in 64 failed before)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id
