"""`kaa infra up | down | status`: bring the development infrastructure to a known state.

`up` is idempotent: it finds what is already running (by the pids in `$KAA_HOME/infra.json`, checked
against each process's command line) and starts only what is missing. `down` stops only what `up`
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
from kaa.dev.launcher.kafka import KafkaBroker, probe_topic_creation
from kaa.dev.launcher.postgres import PostgresServer, ping_database
from kaa.dev.launcher.settings import InfraSettings

Component = Literal["kafka", "postgres"]
Outcome = Literal["started", "running", "external", "stopped", "not running"]


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

    @property
    def healthy(self) -> bool:
        return all(
            c.outcome in ("started", "running", "external") for c in (self.kafka, self.postgres)
        )


class Infrastructure:
    """The Kafka broker and PostgreSQL server the platform runs on, launched or external."""

    def __init__(self, settings: InfraSettings | None = None) -> None:
        self.settings = settings or InfraSettings()
        self.kafka = KafkaBroker(self.settings)
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

    def _owner(self, name: Component) -> KafkaBroker | PostgresServer:
        return self.kafka if name == "kafka" else self.postgres

    def _managed_pid(self, name: Component) -> int | None:
        """The pid of the component `up` started, if that very process still runs."""
        pid = self._read_state().get(name)
        return pid if self._owner(name).is_ours(pid) else None

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
        pids: dict[str, int] = {}
        for name in ("kafka", "postgres"):
            pid = self._managed_pid(name)
            if pid is not None:
                pids[name] = pid
        # Everything that can fail without a running process (ports, Java, Maven download,
        # PostgreSQL binaries) is checked first, so a missing tool starts nothing at all.
        if not self.settings.database_url and "postgres" not in pids:
            self.postgres.prepare()
        if not self.settings.kafka_bootstrap_servers and "kafka" not in pids:
            self.kafka.prepare()
        started: list[tuple[Component, int]] = []
        try:
            postgres = self._up_postgres(pids, started)
            kafka = self._up_kafka(pids, started)
        except BaseException:
            for name, pid in reversed(started):
                self._owner(name).stop(pid)
                pids.pop(name, None)
            self._write_state(pids)
            raise
        self._write_state(pids)
        return InfraStatus(kafka=kafka, postgres=postgres, env=self._write_env())

    def _up_postgres(
        self, pids: dict[str, int], started: list[tuple[Component, int]]
    ) -> ComponentStatus:
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

    def _up_kafka(
        self, pids: dict[str, int], started: list[tuple[Component, int]]
    ) -> ComponentStatus:
        s = self.settings
        if s.kafka_bootstrap_servers:
            servers = s.kafka_bootstrap_servers
            _check_external(
                lambda: probe_topic_creation(servers), "KAFKA_BOOTSTRAP_SERVERS", "Kafka"
            )
            return ComponentStatus("kafka", "external", servers)
        pid = pids.get("kafka")
        if pid is not None:
            self.kafka.wait_ready(pid)
            return ComponentStatus("kafka", "running", self.kafka.bootstrap_servers, pid)
        pid = self.kafka.start()
        started.append(("kafka", pid))
        pids["kafka"] = pid
        self._write_state(pids)
        return ComponentStatus("kafka", "started", self.kafka.bootstrap_servers, pid)

    def down(self) -> InfraStatus:
        """Stop what `up` started (by pid), and nothing else."""
        pids = self._read_state()
        result: dict[Component, ComponentStatus] = {}
        names: tuple[Component, ...] = ("kafka", "postgres")
        for name in names:
            address = self._address(name)
            pid = self._managed_pid(name)
            if pid is not None:
                self._owner(name).stop(pid)
                result[name] = ComponentStatus(name, "stopped", address, pid)
            else:
                result[name] = ComponentStatus(name, "not running", address)
            pids.pop(name, None)
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
        pid = self._managed_pid(name)
        if pid is None:
            raise InfraError(f"{name} is not running under this launcher; run 'kaa infra up' first")
        owner = self._owner(name)
        if crash:
            processes.stop(pid, first_signal=signal.SIGKILL, timeout=10)
        else:
            owner.stop(pid)
        new_pid = owner.start()
        pids = self._read_state()
        pids[name] = new_pid
        self._write_state(pids)
        return ComponentStatus(name, "started", self._address(name), new_pid)

    def status(self) -> InfraStatus:
        """What runs now, without starting or stopping anything."""
        s = self.settings
        kafka = (
            ComponentStatus("kafka", "external", s.kafka_bootstrap_servers)
            if s.kafka_bootstrap_servers
            else self._status_of("kafka")
        )
        postgres = (
            ComponentStatus("postgres", "external", _redact(s.database_url))
            if s.database_url
            else self._status_of("postgres")
        )
        env = self.env() if self.settings.env_file.is_file() else {}
        return InfraStatus(kafka=kafka, postgres=postgres, env=env)

    def _address(self, name: Component) -> str:
        if name == "kafka":
            return self.kafka.bootstrap_servers
        return f"{self.settings.postgres_host}:{self.settings.postgres_port}"

    def _status_of(self, name: Component) -> ComponentStatus:
        address = self._address(name)
        pid = self._managed_pid(name)
        if pid is None:
            return ComponentStatus(name, "not running", address)
        return ComponentStatus(name, "running", address, pid)


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
