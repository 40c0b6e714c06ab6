"""Running the platform's services as separate OS processes, and waiting for the pipeline to drain.

Used by `kaa up`, the demo, the end-to-end and crash tests, and the benchmark: each service is
`python -m kaa run NAME` with its own HTTP port and its own log file.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from shared.contracts.topics import SUBSCRIPTIONS
from shared.messaging import partitions_of, stop_consumer

SERVICES: dict[str, int] = {"identify": 8101, "outreach": 8102, "measures": 8103, "register": 8104}
WEB_PORT = 8100  # the web application (`kaa run web`), in front of the four
# The connectors (`kaa run connect`): SS 12000 organisers and population deliveries into the feeds.
CONNECT_PORT = 8105
PORTS: dict[str, int] = {**SERVICES, "connect": CONNECT_PORT}

# Which topics each service's consumer group reads (for lag).
CONSUMES: dict[str, tuple[str, ...]] = SUBSCRIPTIONS


@dataclass
class ServiceProcess:
    name: str
    port: int
    log_file: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "kaa", "run", self.name],
                env={**self.env, "KAA_HTTP_PORT": str(self.port)},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(
                    f"service {self.name} exited during start-up; see {self.log_file}"
                )
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(
            f"service {self.name} did not answer /health within {timeout:.0f} s; see {self.log_file}"
        )

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def last_error_line(self, tail_bytes: int = 65536) -> str:
        """The last line of the log that says what went wrong (an error or the exception's last
        line), else the last line; shortened."""
        try:
            with self.log_file.open("rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - tail_bytes))
                lines = [
                    line.strip() for line in log.read().decode("utf-8", "replace").splitlines()
                ]
        except OSError:
            return "(no log)"
        lines = [line for line in lines if line]
        for line in reversed(lines):
            if '"level": "error"' in line or '"level": "critical"' in line:
                return _shorten(line)
            if _EXCEPTION_LINE.match(line):
                return _shorten(line)
        return _shorten(lines[-1]) if lines else "(empty log)"

    def kill(self) -> None:
        """SIGKILL: the crash the exactly-once design must survive."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b.*")


def _exit(code: int | None) -> str:
    if code is not None and code < 0:
        return f"killed by signal {-code}"
    return f"exit {code}"


def _shorten(line: str, limit: int = 300) -> str:
    return line if len(line) <= limit else line[: limit - 1] + "…"


# A stopped service is started again after these pauses (1 s, doubling); one that keeps
# stopping is left stopped (and reported) once it stopped this many times within RESTART_WINDOW
# seconds. A service rides out a database or broker outage in-process: it stops only on a fault
# it cannot recover from (shared/loops.py), or when it is stopped.
RESTART_DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0)
RESTART_WINDOW = 300.0


@dataclass
class Supervision:
    """What `kaa up` knows of one service's stops (see Platform.supervise)."""

    stops: list[float] = field(default_factory=list)
    restart_at: float | None = None
    given_up: bool = False


@dataclass
class Platform:
    env: Mapping[str, str]
    logs_dir: Path
    ports: Mapping[str, int] = field(default_factory=lambda: dict(PORTS))
    processes: dict[str, ServiceProcess] = field(default_factory=dict)

    def start(self, names: list[str] | None = None) -> None:
        for name in names or list(SERVICES):
            proc = ServiceProcess(
                name, self.ports[name], self.logs_dir / f"{name}.log", dict(self.env)
            )
            proc.start()
            self.processes[name] = proc
        for name in names or list(SERVICES):
            self.processes[name].wait_healthy()

    def add_replica(self, name: str, port: int) -> str:
        """Start one more process of a service: another member of its consumer group."""
        key = f"{name}-{sum(1 for p in self.processes.values() if p.name == name) + 1}"
        proc = ServiceProcess(name, port, self.logs_dir / f"{key}.log", dict(self.env))
        proc.start()
        proc.wait_healthy()
        self.processes[key] = proc
        return key

    def start_web(
        self, port: int = WEB_PORT, *, dev_signin: bool = False, key: str = "web"
    ) -> ServiceProcess:
        """Start a web application process in front of the running services (`key` names it:
        `web`, `web-2`, …); `dev_signin` offers the development sign-in page."""
        env = {
            **self.env,
            **{f"KAA_WEB_{n.upper()}_URL": self.processes[n].url for n in PORTS
               if n in self.processes},
            "KAA_WEB_DEV_SIGNIN": "1" if dev_signin else "0",
        }  # fmt: skip
        proc = ServiceProcess("web", port, self.logs_dir / f"{key}.log", env)
        proc.start()
        proc.wait_healthy()
        self.processes[key] = proc
        return proc

    def restart(self, name: str) -> None:
        self.processes[name].start()
        self.processes[name].wait_healthy()

    def stop(self) -> dict[str, int | None]:
        return {name: proc.stop() for name, proc in self.processes.items()}

    def supervise(self, supervision: dict[str, Supervision], now: float) -> list[str]:
        """One round of `kaa up`'s watch: a service that stopped is reported (its exit code and
        the last error line of its log) and started again after a pause; one that stopped
        len(RESTART_DELAYS) times within RESTART_WINDOW seconds is left stopped. The others keep
        running throughout. Returns what to tell the operator."""
        said: list[str] = []
        for name, proc in self.processes.items():
            state = supervision.setdefault(name, Supervision())
            if state.given_up or proc.running():
                continue
            if state.restart_at is None:
                code = proc.process.returncode if proc.process is not None else None
                state.stops = [t for t in state.stops if now - t < RESTART_WINDOW] + [now]
                said.append(
                    f"{name} stopped ({_exit(code)}): {proc.last_error_line()} "
                    f"(log {proc.log_file})"
                )
                if len(state.stops) > len(RESTART_DELAYS):
                    state.given_up = True
                    said.append(
                        f"{name} stopped {len(state.stops)} times in "
                        f"{RESTART_WINDOW / 60:.0f} minutes; left stopped (kaa run {name} to "
                        "try it in the foreground); the other services keep running"
                    )
                    continue
                delay = RESTART_DELAYS[len(state.stops) - 1]
                state.restart_at = now + delay
                said.append(f"{name} restarts in {delay:.0f} s; the other services keep running")
            elif now >= state.restart_at:
                state.restart_at = None
                proc.start()
                said.append(f"{name} started again")
        return said

    def url(self, name: str) -> str:
        return self.processes[name].url


async def consumer_lag(bootstrap_servers: str, namespace: str, services: list[str]) -> int:
    """Messages not yet processed by the services' consumer groups (committed offsets vs ends)."""
    return sum((await lag_by_partition(bootstrap_servers, namespace, services)).values())


async def lag_by_partition(
    bootstrap_servers: str, namespace: str, services: list[str]
) -> dict[str, int]:
    """Lag per "service topic[partition]" where it is not zero."""
    wanted = {service: [f"{namespace}{t}" for t in CONSUMES[service]] for service in services}
    every = sorted({t for topics in wanted.values() for t in topics})
    all_partitions = await partitions_of(bootstrap_servers, every)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers)
    await admin.start()
    await consumer.start()
    try:
        ends = await consumer.end_offsets(all_partitions) if all_partitions else {}
        lag: dict[str, int] = {}
        for service, topics in wanted.items():
            committed = await admin.list_consumer_group_offsets(f"{namespace}kaa.{service}")
            for tp in all_partitions:
                if tp.topic in topics:
                    done = committed.get(tp)
                    behind = ends[tp] - (
                        done.offset if done is not None and done.offset >= 0 else 0
                    )
                    if behind:
                        lag[f"{service} {tp.topic}[{tp.partition}]"] = behind
        return lag
    finally:
        await stop_consumer(consumer)
        await admin.close()


async def wait_drained(
    bootstrap_servers: str,
    namespace: str,
    *,
    settle: float = 1.5,
    max_wait: float = 300.0,
    services: list[str] | None = None,
) -> float:
    """Wait until every service's group has no lag for `settle` seconds.

    Returns the `time.monotonic()` at which the lag was first seen at zero in that calm window,
    i.e. when the pipeline had actually drained (the settle time is not part of it).

    The relays publish after the feed consumer has committed, so zero lag must hold for a while
    (longer than a relay's poll) before the pipeline counts as drained.
    """
    names = services or list(SERVICES)
    started = time.monotonic()
    calm_since: float | None = None
    while time.monotonic() - started < max_wait:
        lag = await consumer_lag(bootstrap_servers, namespace, names)
        now = time.monotonic()
        if lag == 0:
            calm_since = calm_since or now
            if now - calm_since >= settle:
                return calm_since
        else:
            calm_since = None
        await asyncio.sleep(0.25)
    behind = await lag_by_partition(bootstrap_servers, namespace, names)
    raise TimeoutError(f"the pipeline did not drain within {max_wait:.0f} s; behind: {behind}")
