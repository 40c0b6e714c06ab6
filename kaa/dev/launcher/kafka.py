"""A single-node Apache Kafka 4 broker in KRaft mode, run from the official jars on Maven Central.

The jars are fetched once with Maven into a cache outside git (`KAA_CACHE_DIR`), the storage is
formatted once, and the broker runs as a background JVM on loopback. It counts as ready when a client
can create a topic, which is the first thing the platform does with it.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from string import Template

from kaa.dev.launcher import processes, system
from kaa.dev.launcher.blocking import ensure_blocking_allowed, run_blocking
from kaa.dev.launcher.errors import InfraError
from kaa.dev.launcher.settings import InfraSettings
from shared.infra.kafka_admin import TopicSpec, ensure_topics
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
    def of(cls, settings: InfraSettings) -> KafkaPaths:
        root = settings.home / "kafka"
        return cls(
            root=root,
            config=root / "server.properties",
            log4j=root / "log4j2.properties",
            data=root / "data",
            stdout_log=settings.logs_dir / "kafka.out",
            logs_dir=settings.logs_dir,
        )


class KafkaBroker:
    """Starts, recognises and stops the launcher's own broker."""

    def __init__(self, settings: InfraSettings) -> None:
        self.settings = settings
        self.paths = KafkaPaths.of(settings)

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.settings.kafka_host}:{self.settings.kafka_port}"

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
        self.paths.config.write_text(
            template.substitute(
                host=self.settings.kafka_host,
                port=self.settings.kafka_port,
                controller_port=self.settings.kafka_controller_port,
                data_dir=self.paths.data,
                partitions=self.settings.kafka_partitions,
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

    def format_storage(self, java: Path, libs: Path) -> None:
        """Format the KRaft storage once; a formatted directory is kept across restarts."""
        if (self.paths.data / "meta.properties").is_file():
            return
        cluster_id = new_cluster_id()
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

    def prepare(self) -> tuple[Path, Path]:
        """Check ports and Java, fetch the jars: everything that can fail before a process starts.

        Returns the Java executable and the classpath directory.
        """
        processes.require_free_port(
            self.settings.kafka_host, self.settings.kafka_port, "Kafka", "KAA_KAFKA_PORT"
        )
        processes.require_free_port(
            self.settings.kafka_host,
            self.settings.kafka_controller_port,
            "Kafka's controller",
            "KAA_KAFKA_CONTROLLER_PORT",
        )
        return system.ensure_java(self.settings), self.ensure_jars()

    def start(self) -> int:
        """Start the broker in the background and wait until it accepts a topic; return its pid."""
        java, libs = self.prepare()
        self.write_config()
        self.format_storage(java, libs)
        pid = processes.start_detached(
            self._java_argv(java, libs, MAIN_CLASS, str(self.paths.config)),
            log_file=self.paths.stdout_log,
            cwd=self.paths.root,
        )
        try:
            self.wait_ready(pid)
        except BaseException:
            processes.stop(pid, first_signal=signal.SIGKILL, timeout=5)
            raise
        return pid

    def wait_ready(self, pid: int | None) -> None:
        """Block until a client can create a topic, or raise when the broker dies or times out."""
        ensure_blocking_allowed()
        timeout = self.settings.kafka_ready_timeout
        deadline = time.monotonic() + timeout
        last_error = "no answer"
        while time.monotonic() < deadline:
            if pid is not None and not processes.is_running(pid):
                tail = processes.log_tail(self.paths.logs_dir / "kafka-server.log", 1)
                raise InfraError(
                    f"Kafka exited during start-up; see {self.paths.logs_dir}/kafka-server.log"
                    + (f" (last line: {tail})" if tail else "")
                )
            try:
                run_blocking(
                    self._probe(attempt_seconds=min(10.0, max(1.0, deadline - time.monotonic())))
                )
                return
            except Exception as exc:  # any failure means "not yet"; the last one is reported
                last_error = f"{type(exc).__name__}: {exc}"[:200]
            time.sleep(0.5)
        raise InfraError(
            f"Kafka at {self.bootstrap_servers} did not become ready within {timeout:.0f} s "
            f"({last_error}); see {self.paths.logs_dir}/kafka-server.log, "
            "or raise KAA_KAFKA_READY_TIMEOUT on a slow machine"
        )

    async def _probe(self, attempt_seconds: float) -> None:
        # Refused connections are expected while the broker boots; the client would log each one.
        client_log = logging.getLogger("aiokafka")
        level = client_log.level
        client_log.setLevel(logging.CRITICAL)
        try:
            async with asyncio.timeout(attempt_seconds):
                await probe_topic_creation(self.bootstrap_servers)
        finally:
            client_log.setLevel(level)

    def stop(self, pid: int) -> None:
        # SIGTERM runs the broker's controlled shutdown, which flushes and closes the logs cleanly.
        processes.stop(pid, first_signal=signal.SIGTERM, timeout=self.settings.stop_timeout)


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
