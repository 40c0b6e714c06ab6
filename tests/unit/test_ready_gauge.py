"""`kaa_ready` follows readiness by itself: the dependency watch's rounds (every second) move it,
with no one asking `/health/ready` (a process that is not ready still answers `/metrics`, so
Prometheus' `up` cannot tell). PostgreSQL is the launcher's, reached through a proxy the test cuts
and restores; Kafka is the launcher's."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from shared import metrics
from shared.health import DependencyWatch, add_health_routes
from shared.loops import BackgroundLoops, LoopState
from tests.conftest import RunningInfra


class Cuttable:
    """A TCP proxy to PostgreSQL on a free local port; `cut()` refuses and drops connections."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.open = True
        self.writers: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.open:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        self.open = False
        for writer in self.writers:
            writer.close()
        self.writers.clear()

    async def stop(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@pytest.fixture
async def proxy(infra: RunningInfra) -> AsyncIterator[tuple[Cuttable, str]]:
    url = urlsplit(infra.database_url)
    cuttable = Cuttable(url.hostname or "127.0.0.1", url.port or 5432)
    port = await cuttable.start()
    netloc = url.netloc.rsplit("@", 1)[0] + f"@127.0.0.1:{port}"
    try:
        yield cuttable, urlunsplit(url._replace(netloc=netloc))
    finally:
        await cuttable.stop()


def scraped_ready() -> float:
    """`kaa_ready` as Prometheus reads it from `/metrics`."""
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        if family.name == "kaa_ready":
            (sample,) = family.samples
            return float(sample.value)
    raise AssertionError("kaa_ready is not exposed")


async def becomes(value: float, within: float) -> float:
    """Seconds until `kaa_ready` reads `value` (fails after `within` seconds)."""
    start = time.monotonic()
    while scraped_ready() != value:
        assert time.monotonic() - start < within, f"kaa_ready not {value} after {within} s"
        await asyncio.sleep(0.1)
    return time.monotonic() - start


async def test_kaa_ready_follows_the_database_and_the_loops_without_a_probe(
    proxy: tuple[Cuttable, str], infra: RunningInfra
) -> None:
    cuttable, url = proxy
    app = FastAPI()
    add_health_routes(app, "probe")
    assert scraped_ready() == 0.0, "not started: not ready"
    watch = DependencyWatch.of(url, infra.bootstrap_servers)
    app.state.dependencies = watch
    assert scraped_ready() == 0.0, "dependencies known, loops not started yet"
    loops = BackgroundLoops()
    app.state.loops = loops
    watching = asyncio.create_task(watch.run())
    try:
        await becomes(1.0, within=10)
        cuttable.cut()  # no one asks /health/ready from here on: the watch's rounds alone
        assert await becomes(0.0, within=5) < 5
        assert watch.down("PostgreSQL")
        assert not watch.down("Kafka")
        cuttable.open = True
        assert await becomes(1.0, within=5) < 5

        loops.states["relay"] = LoopState(failures=1, reason="OperationalError", waiting=True)
        assert scraped_ready() == 0.0, "a loop retrying: not ready"
        loops.states["relay"] = LoopState()
        assert scraped_ready() == 1.0
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
        await watch.close()
