"""`kaa infra up | down | status`: bring the development infrastructure to a known state.

`up` is idempotent: it finds what is already running (by the pids in `$KAA_HOME/infra.json`, checked
against each process's command line) and starts only what is missing: also a single node of a Kafka
cluster (`KAA_KAFKA_BROKERS`) that died or was killed. `down` stops only what `up`
started. When `up` fails half-way, whatever that call started is stopped again, so a failure never
leaves a half-started platform behind.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from kaa.dev.launcher import processes
from kaa.dev.launcher.blocking import run_blocking
from kaa.dev.launcher.errors import InfraError
from kaa.dev.launcher.kafka import KafkaCluster, probe_topic_creation
from kaa.dev.launcher.postgres import PostgresServer, ping_database
from kaa.dev.launcher.settings import InfraSettings

Component = Literal["kafka", "postgres"]
# degraded: some nodes of the Kafka cluster run, not all (`kaa infra up` starts the others).
Outcome = Literal["started", "running", "external", "stopped", "not running", "degraded"]


@dataclass
class ComponentStatus:
    name: Component
    outcome: Outcome
    address: str
    pid: int | None = None
    detail: str = ""


@dataclass
class InfraStatus:
    kafka: ComponentStatus
    postgres: ComponentStatus
    env: dict[str, str] = field(default_factory=dict)
    # Each node of the launched Kafka (one line each); empty when Kafka is external.
    kafka_nodes: list[ComponentStatus] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return all(
            c.outcome in ("started", "running", "external") for c in (self.kafka, self.postgres)
        )


class Infrastructure:
    """The Kafka cluster and PostgreSQL server the platform runs on, launched or external."""

    def __init__(self, settings: InfraSettings | None = None) -> None:
        self.settings = settings or InfraSettings()
        self.kafka = KafkaCluster(self.settings)
        self.postgres = PostgresServer(self.settings)

    # -- state ---------------------------------------------------------------------------------

    def _read_state(self) -> dict[str, int]:
        try:
            raw = json.loads(self.settings.state_file.read_text())
        except (OSError, ValueError):
            return {}
        return {k: int(v) for k, v in raw.get("pids", {}).items() if isinstance(v, int)}

    def _write_state(self, pids: dict[str, int]) -> None:
        self.settings.home.mkdir(parents=True, exist_ok=True)
        tmp = self.settings.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pids": pids}, indent=2) + "\n")
        tmp.replace(self.settings.state_file)

    def _managed_postgres(self, state: dict[str, int]) -> int | None:
        """The pid of the PostgreSQL `up` started, if that very process still runs."""
        pid = state.get("postgres")
        return pid if self.postgres.is_ours(pid) else None

    def kafka_pids(self) -> dict[str, int]:
        """The running Kafka nodes `up` started, by state key (`kafka`, `kafka-2`, …)."""
        return self.kafka.running(self._read_state())

    def _stop(self, key: str, pid: int) -> None:
        if key == "postgres":
            self.postgres.stop(pid)
        else:
            self.kafka.stop({key: pid})

    def bootstrap_servers(self) -> str:
        return self.settings.kafka_bootstrap_servers or self.kafka.bootstrap_servers

    def database_url(self) -> str:
        return self.settings.database_url or self.postgres.url()

    def env(self) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers(),
            "DATABASE_URL": self.database_url(),
        }

    def launched_env(self) -> dict[str, str]:
        """The lines `infra.env` holds: the addresses of the servers this launcher runs. A server
        given by `KAFKA_BOOTSTRAP_SERVERS` or `DATABASE_URL` is the user's own setting, which
        reaches the services from the environment and is never written into the file."""
        env: dict[str, str] = {}
        if not self.settings.kafka_bootstrap_servers:
            env["KAFKA_BOOTSTRAP_SERVERS"] = self.kafka.bootstrap_servers
        if not self.settings.database_url:
            env["DATABASE_URL"] = self.postgres.url()
        return env

    def _write_env(self) -> dict[str, str]:
        """Bring `infra.env`'s lines for the launched servers up to date; any other line (and
        the whole file, when nothing in it changes or nothing was launched) is left as it is."""
        path = self.settings.env_file
        existing = path.read_text() if path.is_file() else None
        updated = env_file_text(existing, values=self.launched_env())
        if updated != existing and updated is not None:
            _replace_file(path, updated)
        return self.env()

    # -- commands ------------------------------------------------------------------------------

    def up(self) -> InfraStatus:
        """Make Kafka and PostgreSQL available; start only what is not already there."""
        self.settings.logs_dir.mkdir(parents=True, exist_ok=True)
        state = self._read_state()
        pids: dict[str, int] = {}
        postgres_pid = self._managed_postgres(state)
        if postgres_pid is not None:
            pids["postgres"] = postgres_pid
        launch_kafka = not self.settings.kafka_bootstrap_servers
        if launch_kafka:
            self._refuse_strays(state)
            pids.update(self.kafka.running(state))
        # Everything that can fail without a running process (ports, Java, Maven download,
        # PostgreSQL binaries) is checked first, so a missing tool starts nothing at all.
        if not self.settings.database_url and "postgres" not in pids:
            self.postgres.prepare()
        if launch_kafka and self.kafka.missing(pids):
            self.kafka.prepare(pids)
        started: list[tuple[str, int]] = []
        try:
            postgres = self._up_postgres(pids, started)
            kafka = self._up_kafka(pids, started)
        except BaseException:
            for key, pid in reversed(started):
                self._stop(key, pid)
                pids.pop(key, None)
            self._write_state(pids)
            raise
        self._write_state(pids)
        return InfraStatus(
            kafka=kafka,
            postgres=postgres,
            env=self._write_env(),
            kafka_nodes=self._node_lines(pids, "running") if launch_kafka else [],
        )

    def _refuse_strays(self, state: dict[str, int]) -> None:
        strays = self.kafka.strays(state)
        if strays:
            raise InfraError(
                f"a Kafka of another size from an earlier 'kaa infra up' runs (pids "
                f"{', '.join(map(str, strays.values()))}); run 'kaa infra down' first, then "
                f"'kaa infra up' with KAA_KAFKA_BROKERS={self.settings.kafka_brokers}"
            )

    def _up_postgres(self, pids: dict[str, int], started: list[tuple[str, int]]) -> ComponentStatus:
        s = self.settings
        if s.database_url:
            _check_external(
                lambda: ping_database(s.database_url or ""), "DATABASE_URL", "PostgreSQL"
            )
            return ComponentStatus("postgres", "external", _redact(s.database_url))
        address = self._address("postgres")
        pid = pids.get("postgres")
        if pid is not None:
            self.postgres.wait_ready(pid)
            return ComponentStatus("postgres", "running", address, pid)
        pid = self.postgres.start()
        started.append(("postgres", pid))
        pids["postgres"] = pid
        self._write_state(pids)
        return ComponentStatus("postgres", "started", address, pid)

    def _up_kafka(self, pids: dict[str, int], started: list[tuple[str, int]]) -> ComponentStatus:
        s = self.settings
        if s.kafka_bootstrap_servers:
            servers = s.kafka_bootstrap_servers
            _check_external(
                lambda: probe_topic_creation(servers), "KAFKA_BOOTSTRAP_SERVERS", "Kafka"
            )
            return ComponentStatus("kafka", "external", servers)
        running = self.kafka.running(pids)
        if not self.kafka.missing(running):
            self.kafka.wait_ready(running)
            return self._kafka_status("running", running)
        new = self.kafka.start(running)
        started.extend(new.items())
        pids.update(new)
        self._write_state(pids)
        return self._kafka_status("started", pids, new)

    def _kafka_status(
        self, outcome: Outcome, pids: dict[str, int], new: dict[str, int] | None = None
    ) -> ComponentStatus:
        nodes = len(self.kafka.nodes)
        if nodes == 1:
            detail = ""
        elif new is not None and len(new) < nodes:
            detail = f"{nodes} nodes ({len(new)} started now)"
        else:
            detail = f"{nodes} nodes"
        return ComponentStatus(
            "kafka", outcome, self.kafka.bootstrap_servers, pids.get("kafka"), detail
        )

    def _node_lines(self, pids: dict[str, int], absent: Outcome) -> list[ComponentStatus]:
        """One line per node of the launched Kafka: running with its pid, or `absent`."""
        return [
            ComponentStatus(
                "kafka",
                "running" if self.kafka.key(node) in pids else absent,
                node.bootstrap_servers,
                pids.get(self.kafka.key(node)),
                f"node {node.node_id}",
            )
            for node in self.kafka.nodes
        ]

    def down(self) -> InfraStatus:
        """Stop what `up` started (by pid), and nothing else."""
        pids = self._read_state()
        result: dict[Component, ComponentStatus] = {}
        # Every node of this home's Kafka, also one started with another KAA_KAFKA_BROKERS.
        nodes = {**self.kafka.running(pids), **self.kafka.strays(pids)}
        address = self._address("kafka")
        if nodes:
            self.kafka.stop(nodes)
            result["kafka"] = ComponentStatus("kafka", "stopped", address, nodes.get("kafka"))
        else:
            result["kafka"] = ComponentStatus("kafka", "not running", address)
        postgres_pid = self._managed_postgres(pids)
        address = self._address("postgres")
        if postgres_pid is not None:
            self.postgres.stop(postgres_pid)
            result["postgres"] = ComponentStatus("postgres", "stopped", address, postgres_pid)
        else:
            result["postgres"] = ComponentStatus("postgres", "not running", address)
        pids = {k: v for k, v in pids.items() if k != "postgres" and not self.kafka.is_key(k)}
        self._write_state(pids)
        # The lines of the servers this launcher runs go; a line it did not write stays.
        stopped = {ENV_KEY[n] for n, c in result.items() if c.outcome == "stopped"}
        path = self.settings.env_file
        if path.is_file():
            existing = path.read_text()
            updated = env_file_text(existing, drop=stopped | set(self.launched_env_keys()))
            if updated is None:
                path.unlink(missing_ok=True)
            elif updated != existing:
                _replace_file(path, updated)
        return InfraStatus(kafka=result["kafka"], postgres=result["postgres"])

    def launched_env_keys(self) -> list[str]:
        """The variables of `infra.env` this launcher's own servers stand for (no password file
        is made to name them)."""
        s = self.settings
        return [k for k, given in (("KAFKA_BOOTSTRAP_SERVERS", s.kafka_bootstrap_servers),
                                   ("DATABASE_URL", s.database_url)) if not given]  # fmt: skip

    def restart(self, name: Component, *, crash: bool = False) -> ComponentStatus:
        """Stop a component `up` started and start it again on the same data.

        With `crash=True` the process is killed with SIGKILL first, as a power cut or an OOM kill
        would: what was acknowledged before must still be there afterwards.
        """
        pids = self._read_state()
        if name == "kafka":
            nodes = self.kafka.running(pids)
            if not nodes:
                raise InfraError(
                    "kafka is not running under this launcher; run 'kaa infra up' first"
                )
            self.kafka.stop(nodes, crash=crash)
            new = self.kafka.start({})
            pids.update(new)
            self._write_state(pids)
            return self._kafka_status("started", pids, new)
        pid = self._managed_postgres(pids)
        if pid is None:
            raise InfraError(f"{name} is not running under this launcher; run 'kaa infra up' first")
        if crash:
            processes.stop(pid, first_signal=signal.SIGKILL, timeout=10)
        else:
            self.postgres.stop(pid)
        new_pid = self.postgres.start()
        pids[name] = new_pid
        self._write_state(pids)
        return ComponentStatus(name, "started", self._address(name), new_pid)

    def status(self) -> InfraStatus:
        """What runs now, without starting or stopping anything."""
        s = self.settings
        state = self._read_state()
        nodes: list[ComponentStatus] = []
        if s.kafka_bootstrap_servers:
            kafka = ComponentStatus("kafka", "external", s.kafka_bootstrap_servers)
        else:
            running = self.kafka.running(state)
            outcome: Outcome = "running" if running else "not running"
            if running and self.kafka.missing(running):
                outcome = "degraded"
            kafka = self._kafka_status(outcome, running)
            nodes = self._node_lines(running, "not running")
        if s.database_url:
            postgres = ComponentStatus("postgres", "external", _redact(s.database_url))
        else:
            pid = self._managed_postgres(state)
            address = self._address("postgres")
            postgres = ComponentStatus(
                "postgres", "running" if pid else "not running", address, pid
            )
        env = self.env() if self.settings.env_file.is_file() else {}
        return InfraStatus(kafka=kafka, postgres=postgres, env=env, kafka_nodes=nodes)

    def _address(self, name: Component) -> str:
        if name == "kafka":
            return self.kafka.bootstrap_servers
        return f"{self.settings.postgres_host}:{self.settings.postgres_port}"


ENV_KEY: dict[Component, str] = {"kafka": "KAFKA_BOOTSTRAP_SERVERS", "postgres": "DATABASE_URL"}


def env_file_text(
    existing: str | None,
    *,
    values: dict[str, str] | None = None,
    drop: Collection[str] = (),
) -> str | None:
    """`infra.env` with the variables of `values` given their values and those of `drop`
    removed; every other line (comments, variables the user added) kept as it was. None: no file
    (it would hold nothing)."""
    wanted = dict(values or {})
    lines: list[str] = []
    for line in (existing or "").splitlines():
        key = line.split("=", 1)[0].strip().removeprefix("export ").strip() if "=" in line else ""
        if key and key in drop:
            continue
        if key and key in wanted:
            line = f"{key}={wanted.pop(key)}"
        lines.append(line)
    lines += [f"{k}={v}" for k, v in wanted.items()]
    if not any(line.strip() for line in lines):
        return None
    return "".join(f"{line}\n" for line in lines)


def _replace_file(path: Path, text: str) -> None:
    """Write `path` whole or not at all, readable by its owner only (it holds a password)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.write_text(text)
    tmp.replace(path)


def _check_external(probe: Callable[[], Awaitable[None]], variable: str, what: str) -> None:
    try:
        run_blocking(asyncio.wait_for(probe(), 30))
    except Exception as exc:
        raise InfraError(
            f"{what} given by {variable} is not reachable ({type(exc).__name__}: {exc}); "
            f"check the address and credentials, or unset {variable} to let kaa start its own"
        ) from exc


def _redact(url: str) -> str:
    """A database URL without its password, for terminals and logs."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
