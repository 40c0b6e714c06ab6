"""Is this process alive, and can it do its work? `/health/live`, `/health/ready` and `/health`.

- `GET /health/live`: 200 `{"status": "live"}` while the process answers and no background loop
  gave up; 503 with the reason once one did (the process is about to exit 1). An orchestrator
  restarts a process whose liveness fails; a database outage never fails it.
- `GET /health/ready`: 200 `{"status": "ready"}` when PostgreSQL and Kafka answer and every loop
  runs; 503 `{"status": "not ready", "problems": [...]}` otherwise, in words, without personal data.
  An orchestrator sends no traffic to a process that is not ready.
- `GET /health`: as before, 200 `ok`, or `degraded` with the problems (parked messages, loops not
  running, dependencies unreachable): for people and for `kaa up`'s wait.

The dependencies are checked by one watcher per process (`DependencyWatch`): a `SELECT 1` on a
connection it keeps to the service's database, and a metadata request for the brokers (no topic)
through a Kafka client it keeps, each with a 2-second timeout, every second, at once when a loop failed for its reason, and
on a probe when the last check is older than 1.5 seconds. A change is one log line in kaa's words ("PostgreSQL unavailable: …",
"PostgreSQL reachable again after 14.2 s") and the `kaa_dependency_up` gauge.

`kaa_ready` says at each scrape what `/health/ready` would answer, from the watch's last round
(at most a second old) and the loops' state, without a probe: a process that is not ready still
answers `/metrics`, so Prometheus' `up` cannot tell; this can (the alert `KaaServiceNotReady`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError
from aiokafka.protocol.metadata import MetadataRequest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shared import metrics

log = structlog.get_logger(__name__)

PROBE_TIMEOUT = 2.0
PROBE_INTERVAL = 1.0
FRESH_SECONDS = 1.5
# A dependency that timed out (rather than refused) counts as down from the second time in a row:
# one slow answer on a busy machine does not turn the service away.
TIMEOUTS_BEFORE_DOWN = 2

Probe = Callable[[], Awaitable[None]]


class PostgresProbe:
    """`SELECT 1` on one connection kept for it (made again after a failure)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn: asyncpg.Connection | None = None

    async def __call__(self) -> None:
        try:
            if self.conn is None or self.conn.is_closed():
                self.conn = await asyncpg.connect(self.url, timeout=PROBE_TIMEOUT)
            await self.conn.fetchval("SELECT 1", timeout=PROBE_TIMEOUT)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.terminate()


class KafkaProbe:
    """A metadata request through one Kafka client kept for it, for the brokers only: the
    client's own refresh asks for every topic of the cluster, 16 ms for 239 topics on the
    development broker (a cluster a consortium shares has more) where the brokers alone take
    1 ms, every second in every process."""

    def __init__(self, bootstrap_servers: str) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.client: AIOKafkaClient | None = None

    async def __call__(self) -> None:
        if self.client is None:
            client = AIOKafkaClient(
                bootstrap_servers=self.bootstrap_servers,
                request_timeout_ms=int(PROBE_TIMEOUT * 1000),
                metadata_max_age_ms=3_600_000,  # no background refresh: the probe asks
            )
            try:
                await asyncio.wait_for(client.bootstrap(), PROBE_TIMEOUT)
            except BaseException:
                await client.close()
                raise
            self.client = client
            return
        try:
            await asyncio.wait_for(brokers_answer(self.client), PROBE_TIMEOUT)
        except BaseException:
            await self.close()  # the next probe connects afresh, from the bootstrap servers
            raise

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            await client.close()


async def brokers_answer(client: AIOKafkaClient) -> None:
    """Ask the brokers the client knows, in random order, for the cluster's brokers (no topic);
    KafkaError when none answers with any. The answer keeps the client's list of brokers fresh."""
    request = MetadataRequest([])  # an empty list: no topic (None would be every topic)
    nodes = [broker.nodeId for broker in client.cluster.brokers()]
    random.shuffle(nodes)
    for node in nodes:
        try:
            answer = await client.send(node, request)
        except (TimeoutError, KafkaError):
            continue
        if answer.brokers:
            client.cluster.update_metadata(answer)
            return
    raise KafkaError("no Kafka broker answered a metadata request")


@dataclass
class Dependency:
    name: str  # in words: PostgreSQL, Kafka
    metric: str  # the gauge's label: postgresql, kafka
    probe: Probe
    up: bool | None = None
    since: float = 0.0  # when `up` last changed
    checked: float = float("-inf")
    reason: str | None = None
    timeouts: int = 0

    def problem(self, now: float) -> str | None:
        if self.up is not False:
            return None
        return f"{self.name} unreachable for {now - self.since:.0f} s ({self.reason})"


class DependencyWatch:
    """The process's view of its dependencies, kept fresh by `run()` and by the probes."""

    def __init__(
        self, dependencies: list[Dependency], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.dependencies = {d.name: d for d in dependencies}
        self.clock = clock
        self._locks = {d.name: asyncio.Lock() for d in dependencies}
        self._down = {d.name: asyncio.Event() for d in dependencies}
        self._wake = asyncio.Event()
        # Told when a dependency is reachable again (the loops waiting to retry try at once).
        self.on_back: Callable[[str], None] = lambda name: None

    @classmethod
    def of(cls, database_url: str, bootstrap_servers: str) -> DependencyWatch:
        return cls([
            Dependency("PostgreSQL", "postgresql", PostgresProbe(database_url)),
            Dependency("Kafka", "kafka", KafkaProbe(bootstrap_servers)),
        ])  # fmt: skip

    def down(self, name: str) -> bool:
        """True when the last check found `name` unreachable (no check now)."""
        dependency = self.dependencies.get(name)
        return dependency is not None and dependency.up is False

    async def went_down(self, name: str) -> None:
        """Return when a check finds `name` unreachable."""
        await self._down[name].wait()

    def suspect(self, name: str) -> None:
        """Check `name` now (a loop just failed for its reason), not at the next interval."""
        dependency = self.dependencies.get(name)
        if dependency is not None:
            dependency.checked = float("-inf")
            self._wake.set()

    async def check(self, fresh: float = FRESH_SECONDS) -> list[str]:
        """Check each dependency not checked within `fresh` seconds; the problems, in words."""
        await asyncio.gather(*(self._check(d, fresh) for d in self.dependencies.values()))
        return self.problems()

    def problems(self) -> list[str]:
        """The problems the last checks found (no check now)."""
        now = self.clock()
        return [p for d in self.dependencies.values() if (p := d.problem(now)) is not None]

    def all_up(self) -> bool:
        """True when the last check of every dependency found it reachable (no check now)."""
        return all(d.up is True for d in self.dependencies.values())

    async def _check(self, dependency: Dependency, fresh: float) -> None:
        async with self._locks[dependency.name]:  # one probe at a time; the others read it
            if self.clock() - dependency.checked < fresh:
                return
            try:
                await asyncio.wait_for(dependency.probe(), PROBE_TIMEOUT + 0.5)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                timed_out = isinstance(exc, TimeoutError)
                dependency.timeouts = dependency.timeouts + 1 if timed_out else 0
                if not timed_out or dependency.timeouts >= TIMEOUTS_BEFORE_DOWN:
                    self._record(dependency, False, "timed out" if timed_out else _kind(exc))
            else:
                dependency.timeouts = 0
                self._record(dependency, True, None)
            dependency.checked = self.clock()

    def _record(self, dependency: Dependency, up: bool, reason: str | None) -> None:
        now = self.clock()
        was, dependency.reason = dependency.up, reason
        if was == up:
            return
        dependency.up = up
        metrics.dependency(dependency.metric, up)
        if up:
            self._down[dependency.name].clear()
        else:
            self._down[dependency.name].set()
        if not up:
            log.warning(f"{dependency.name} unavailable: {reason}")
        elif was is False:
            log.info(f"{dependency.name} reachable again after {now - dependency.since:.1f} s")
            with contextlib.suppress(Exception):
                self.on_back(dependency.name)
        dependency.since = now

    async def run(self) -> None:
        """Check every PROBE_INTERVAL seconds, so outages are seen (and logged) without probes."""
        while True:
            self._wake.clear()
            with contextlib.suppress(Exception):
                await self.check(fresh=PROBE_INTERVAL / 2)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), PROBE_INTERVAL)

    async def close(self) -> None:
        for dependency in self.dependencies.values():
            close = getattr(dependency.probe, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()


def _kind(exc: BaseException) -> str:
    """The failure's kind in words, without its message (which names hosts at most, but still)."""
    name = type(exc).__name__
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"{name} (errno {exc.errno})"
    return name


def ready_now(app: FastAPI | None) -> bool:
    """What `/health/ready` would answer, from the state at hand (no probe): started, every
    dependency reachable at the watch's last round, no loop ended, retrying or given up."""
    state = getattr(app, "state", None)
    loops = getattr(state, "loops", None)
    watch = getattr(state, "dependencies", None)
    if loops is None or not isinstance(watch, DependencyWatch):
        return False
    return watch.all_up() and not loops.loop_problems()


def add_health_routes(app: FastAPI, title: str) -> None:
    """`/health`, `/health/live` and `/health/ready` on `app` (see the module's docstring), and
    `kaa_ready` read from it (one app per process; a weak reference, so a test's app can go)."""
    this = weakref.ref(app)
    metrics.readiness(lambda: ready_now(this()))

    def parts(request: Request) -> tuple[Any, DependencyWatch | None]:
        state = request.app.state
        return getattr(state, "loops", None), getattr(state, "dependencies", None)

    @app.get("/health", include_in_schema=False)
    async def health(request: Request) -> dict[str, Any]:
        """`ok`, or `degraded` with the problems (a loop not running, parked messages, a
        dependency unreachable): the process answers either way; an operator reads why."""
        loops, watch = parts(request)
        problems = await watch.check() if watch is not None else []
        problems += await loops.problems() if loops is not None else []
        if not problems:
            return {"status": "ok", "service": title}
        return {"status": "degraded", "service": title, "problems": problems}

    @app.get("/health/live", include_in_schema=False)
    async def live(request: Request) -> JSONResponse:
        loops, _ = parts(request)
        reason = loops.live() if loops is not None else None
        if reason is None:
            return JSONResponse({"status": "live"})
        return JSONResponse({"status": "not live", "reason": reason}, status_code=503)

    @app.get("/health/ready", include_in_schema=False)
    async def ready(request: Request) -> JSONResponse:
        loops, watch = parts(request)
        if loops is None or watch is None:
            return JSONResponse({"status": "not ready", "problems": ["starting"]}, 503)
        problems = await watch.check() + loops.loop_problems()
        if not problems:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "not ready", "problems": problems}, status_code=503)
