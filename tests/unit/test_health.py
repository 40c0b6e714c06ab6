"""`/health/live`, `/health/ready` and `/health` say what they mean; a command meets an unreachable
database with 503 at once; every request is timed under its route template; a library's repeated
complaint is written once per window (fast, in-process: a dependency checker the test makes fail)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
import structlog
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from shared import metrics
from shared.health import Dependency, DependencyWatch
from shared.logs import REPEAT_WINDOW_SECONDS, RepeatLimiter, configure_logging
from shared.loops import BackgroundLoops
from shared.runtime import service_app
from tests.unit.apps import offline_settings


class Switch:
    """A dependency probe the test turns off and on; counts its calls."""

    def __init__(self) -> None:
        self.up = True
        self.calls = 0

    async def __call__(self) -> None:
        self.calls += 1
        if not self.up:
            raise ConnectionRefusedError("refused")


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    saved_config, root = structlog.get_config(), logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging("unit", "INFO", stream=stream)
    try:
        yield stream
    finally:
        structlog.configure(**saved_config)
        root.handlers[:], root.level = saved


def app_with(database: Switch, kafka: Switch, loops: BackgroundLoops) -> FastAPI:
    """A service app as its lifespan leaves it: the loops and the dependency watch in place."""

    async def setup(app: FastAPI, loops: BackgroundLoops) -> Any:
        raise AssertionError("the lifespan does not run here")

    settings = offline_settings()
    app = service_app(title="probe", settings=settings, setup=setup)

    @app.post("/v1/youths/{youth_id}/contact-attempts", status_code=201)
    async def command(youth_id: str) -> dict[str, str]:
        return {"youth_id": youth_id}

    @app.post("/v1/broken")
    async def broken() -> None:
        raise psycopg.OperationalError("connection to server at 'x' failed")

    app.state.loops = loops
    app.state.dependencies = DependencyWatch([
        Dependency("PostgreSQL", "postgresql", database),
        Dependency("Kafka", "kafka", kafka),
    ])  # fmt: skip
    return app


def test_ready_and_live_follow_the_dependencies_and_say_why(lines: io.StringIO) -> None:
    database, kafka = Switch(), Switch()
    client = TestClient(app_with(database, kafka, BackgroundLoops()), raise_server_exceptions=False)
    assert client.get("/health/ready").json() == {"status": "ready"}
    assert client.get("/health").json() == {"status": "ok", "service": "probe"}

    database.up = False
    client.app.state.dependencies.dependencies["PostgreSQL"].checked = float("-inf")  # type: ignore[attr-defined]
    ready = client.get("/health/ready")
    assert ready.status_code == 503
    [problem] = ready.json()["problems"]
    assert problem.startswith("PostgreSQL unreachable for ")
    assert problem.endswith("(connection refused)")
    assert client.get("/health/live").json() == {"status": "live"}, "an outage is not death"
    degraded = client.get("/health")
    assert degraded.status_code == 200
    assert degraded.json()["status"] == "degraded"
    assert degraded.json()["problems"] == [problem]
    calls = database.calls
    for _ in range(5):
        client.get("/health/ready")
    assert database.calls == calls, "probes within 1.5 s read the last check"

    database.up = True
    client.app.state.dependencies.dependencies["PostgreSQL"].checked = float("-inf")  # type: ignore[attr-defined]
    assert client.get("/health/ready").status_code == 200
    said = [json.loads(line)["event"] for line in lines.getvalue().splitlines()]
    assert "PostgreSQL unavailable: connection refused" in said
    assert any(e.startswith("PostgreSQL reachable again after ") for e in said)
    scraped = metrics.exposition().decode()
    assert 'kaa_dependency_up{dependency="postgresql"} 1.0' in scraped


def test_a_loop_that_gave_up_makes_the_process_not_live() -> None:
    loops = BackgroundLoops()
    loops.gave_up = "background loop x failed 5 times in a row (KeyError)"
    client = TestClient(app_with(Switch(), Switch(), loops))
    live = client.get("/health/live")
    assert live.status_code == 503
    assert live.json() == {"status": "not live", "reason": loops.gave_up}


def test_a_command_meets_an_unreachable_database_with_503_at_once() -> None:
    database = Switch()
    client = TestClient(
        app_with(database, Switch(), BackgroundLoops()), raise_server_exceptions=False
    )
    assert client.post("/v1/youths/y1/contact-attempts").status_code == 201
    database.up = False
    asyncio.run(client.app.state.dependencies.check(fresh=0.0))  # type: ignore[attr-defined]
    refused = client.post("/v1/youths/y1/contact-attempts")
    assert refused.status_code == 503
    assert refused.json() == {"detail": "the database is unavailable; try again (same client id)"}
    assert refused.headers["Retry-After"] == "2"
    assert client.get("/health/live").status_code == 200, "health is answered regardless"
    assert client.get("/metrics").status_code == 200
    # A request that meets the database's failure itself (the check has not seen it yet).
    database.up = True
    asyncio.run(client.app.state.dependencies.check(fresh=0.0))  # type: ignore[attr-defined]
    met = client.post("/v1/broken")
    assert (met.status_code, met.headers["Retry-After"]) == (503, "2")


def test_every_request_is_timed_under_its_route_template() -> None:
    client = TestClient(app_with(Switch(), Switch(), BackgroundLoops()))
    client.post("/v1/youths/19900101-1234/contact-attempts")
    client.get("/no/such/path/19900101-1234")
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    samples = families["kaa_http_request_seconds"].samples
    routes = {s.labels["route"] for s in samples if s.name.endswith("_count")}
    assert "/v1/youths/{youth_id}/contact-attempts" in routes
    assert "unmatched" in routes
    assert not [r for r in routes if "19900101" in r], "never the raw path"
    assert client.get("/metrics").headers["content-type"] == metrics.CONTENT_TYPE_LATEST


def test_a_librarys_repeated_complaint_is_written_once_per_30_seconds(
    lines: io.StringIO,
) -> None:
    now = [0.0]
    handler = logging.getLogger().handlers[0]
    for old in list(handler.filters):
        handler.removeFilter(old)
    handler.addFilter(RepeatLimiter(clock=lambda: now[0]))
    assert REPEAT_WINDOW_SECONDS == 30.0
    for name in ("aiokafka.conn", "psycopg.pool", "asyncpg.pool"):
        for node in range(75):  # a second of a broker outage
            logging.getLogger(name).error("Unable connect to node with id %s", node)
    now[0] = 31.0
    logging.getLogger("aiokafka.conn").error("Unable connect to node with id %s", 1)
    written = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert [(w["logger"], w.get("repeated")) for w in written] == [
        ("aiokafka.conn", None), ("psycopg.pool", None), ("asyncpg.pool", None),
        ("aiokafka.conn", 74),
    ]  # fmt: skip


async def test_a_read_under_way_when_the_database_goes_is_answered_503_a_command_runs_out() -> None:
    """A read is answered 503 at once; a command is left to its own end (answered 503 early, its
    write could still commit and a retry without a client id would record it twice)."""
    database = Switch()
    app = app_with(database, Switch(), BackgroundLoops())
    hung = asyncio.Event()

    @app.get("/v1/reads")
    async def reads() -> dict[str, str]:
        await hung.wait()  # a connection the pool cannot make
        return {"read": "late"}

    @app.post("/v1/writes")
    async def writes() -> dict[str, str]:
        await hung.wait()
        return {"recorded": "once"}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
        read = asyncio.create_task(client.get("/v1/reads"))
        write = asyncio.create_task(client.post("/v1/writes"))
        await asyncio.sleep(0.05)
        assert not read.done()
        database.up = False
        await app.state.dependencies.check(fresh=0.0)
        answer = await asyncio.wait_for(read, 2.0)
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "2"
        await asyncio.sleep(0.1)
        assert not write.done(), "a command under way is not answered before it ended"
        hung.set()
        assert (await asyncio.wait_for(write, 2.0)).json() == {"recorded": "once"}
        await asyncio.sleep(0.05)
