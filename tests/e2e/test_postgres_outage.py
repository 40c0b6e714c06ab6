"""PostgreSQL killed mid-stream and started again: every service rides it out in-process.

The deployment runs on a PostgreSQL server of the test's own (the launcher's is shared). While the
server is down no service process exits, each says it is not ready and why (PostgreSQL) and that
it is live, a caseworker's command is answered 503 at once (to be retried with its client id),
and the logs hold a bounded number of lines; once the server is back every service is ready again
and the register ends equal to an independent count of the feeds: nothing lost, nothing twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kaa.deployment import Deployment
from kaa.dev.synthetic_feeds import generate
from shared.contracts.topics import all_topic_specs
from shared.infra.kafka_admin import delete_topics
from tests.conftest import RunningInfra
from tests.e2e.conftest import TODAY
from tests.e2e.expected import expected_register
from tests.e2e.outage_support import (
    FOUR,
    OwnPostgres,
    RetryingCaseworker,
    deployment_on,
    health,
    log_lines,
    log_sizes,
    own_postgres,
    summary,
    wait_for,
    youths_in_scope,
)

pytestmark = pytest.mark.launcher


@pytest.fixture
def outage(infra: RunningInfra, tmp_path: Path) -> Iterator[tuple[OwnPostgres, Deployment]]:
    with own_postgres(infra) as server:
        logs = infra.infrastructure.settings.logs_dir / "e2e-outage" / tmp_path.name
        made = deployment_on(infra, server.url(), logs)
        made.start(dict(os.environ))
        try:
            yield server, made
        finally:
            made.stop()
            # The deployment's topics on the shared broker (its database goes with the server).
            specs = all_topic_specs(prefix=made.namespace)
            asyncio.run(delete_topics(made.bootstrap_servers, [spec.name for spec in specs]))


def while_down(deployment: Deployment, youth_id: str, seconds: float) -> dict[str, set[str]]:
    """Watch the services for `seconds` while the database is down: what they answered."""
    assert deployment.platform is not None
    seen: dict[str, set[str]] = {name: set() for name in FOUR}
    refused_in: list[float] = []
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        for name in FOUR:
            assert deployment.platform.processes[name].running(), f"{name} exited"
            status, body = health(deployment, name, "/health/ready")
            problems = body.get("problems", [])
            if status == 503 and any(p.startswith("PostgreSQL unreachable") for p in problems):
                seen[name].add("not ready: PostgreSQL")
            live, said = health(deployment, name, "/health/live")
            if (live, said) != (200, {"status": "live"}):
                seen[name].add(f"not live: {live} {said}")
            degraded = health(deployment, name, "/health")
            if degraded[0] == 200 and degraded[1].get("status") == "degraded":
                seen[name].add("degraded")
        if len(refused_in) < 3 and all("not ready: PostgreSQL" in seen[n] for n in FOUR):
            started = time.monotonic()
            with deployment.client("outreach", "0180", "caseworker") as outreach:
                outreach.timeout = httpx.Timeout(10.0)
                answer = outreach.post(
                    f"/v1/youths/{youth_id}/contact-attempts",
                    json={"channel": "sms", "outcome": "not_reached",
                          "attempted_at": f"{TODAY.isoformat()}T10:00:00+01:00"},
                )  # fmt: skip
            refused_in.append(time.monotonic() - started)
            assert answer.status_code == 503, answer.text
            assert "try again (same client id)" in answer.json()["detail"]
            assert answer.headers["Retry-After"]
        time.sleep(0.3)
    assert refused_in, "a command was tried while every service said PostgreSQL was down"
    assert max(refused_in) < 5.0, f"a command answered 503 at once: {refused_in}"
    return seen


def restarted_while_down(deployment: Deployment, name: str) -> list[tuple[int | None, float]]:
    """SIGTERM `name` while the database is down and start it again: its start-up waits
    (running, not answering yet) instead of failing, and a SIGTERM while it waits stops it too;
    then it is started to wait once more. The exit codes and seconds of both stops."""
    assert deployment.platform is not None
    proc = deployment.platform.processes[name]
    size = proc.log_file.stat().st_size
    stops = []
    for _ in range(2):
        started = time.monotonic()
        code = proc.stop(timeout=30)
        stops.append((code, time.monotonic() - started))
        proc.start()
        time.sleep(6.0)
        assert proc.running(), f"{name} waits for the database instead of exiting"
        assert health(deployment, name, "/health/live") == (0, {}), "it serves once started"
    with proc.log_file.open("rb") as log:
        log.seek(size)
        said = [json.loads(line).get("event", "") for line in log if line.startswith(b"{")]
    assert [e for e in said if e.startswith("start-up: waiting; ")], "one line: it waits"
    assert "service stopped while it waited for its dependencies" in said
    assert "Application startup failed. Exiting." not in said
    return stops


def test_postgres_killed_mid_stream_is_ridden_out_and_nothing_lost_or_doubled(
    outage: tuple[OwnPostgres, Deployment], tmp_path: Path
) -> None:
    server, deployment = outage
    feeds = generate(2000, "0180", seed=13, out=tmp_path, today=TODAY)
    expected = expected_register(feeds.population, feeds.ss12000, "0180", TODAY, as_read=False)
    asyncio.run(deployment.load("population", feeds.population))
    asyncio.run(deployment.drained())
    asyncio.run(deployment.load("ss12000", feeds.ss12000))
    wait_for(lambda: summary(deployment)["in_scope"] >= 10, 60, "decisions reach the register")
    youth = youths_in_scope(deployment, 1)[0]
    before = summary(deployment)["known"]
    assert before < expected.identified, "the kill falls mid-stream"
    logs = deployment.logs_dir
    sizes = log_sizes(logs)

    server.kill()
    seen = while_down(deployment, youth, 14.0)
    stopped_while_down = restarted_while_down(deployment, "measures")
    server.start()
    back = wait_for(
        lambda: all(health(deployment, n, "/health/ready")[0] == 200 for n in FOUR),
        90, "every service ready again",
    )  # fmt: skip
    assert back < 30.0, "the loops waiting to retry try at once when the database is back"

    for code, seconds in stopped_while_down:
        assert code == 0, "a clean stop exits 0, the database down or not, started or waiting"
        assert seconds < 10.0, f"stopped in {seconds:.1f} s"
    for name in FOUR:
        assert {"not ready: PostgreSQL", "degraded"} <= seen[name], (name, seen[name])
        assert not [s for s in seen[name] if s.startswith("not live")], (name, seen[name])
    asyncio.run(deployment.drained(max_wait=240))  # outreach knows every youth in scope
    caseworker = RetryingCaseworker(deployment)
    for youth_id in youths_in_scope(deployment, 8):
        caseworker.contact_attempt(youth_id)
    assert caseworker.errors == []
    asyncio.run(deployment.drained(max_wait=120))

    after = summary(deployment)
    assert after["known"] == expected.identified
    assert after["in_scope"] == expected.in_scope
    assert after["left_scope"] == expected.left_scope
    assert after["scope_episodes"] == expected.identified, "every youth exactly once"
    assert after["contact_attempts"] == 8, "every command exactly once"
    assert deployment.platform is not None
    assert all(deployment.platform.processes[n].running() for n in FOUR), "no process exited"

    written = log_lines(logs, sizes)
    for name, lines in written.items():
        parsed = [json.loads(line) for line in lines if line.startswith("{")]
        events = [line.get("event", "") for line in parsed]
        assert len(lines) < 400, f"{name}: {len(lines)} lines during and after the outage"
        assert sum("Traceback" in line for line in lines) <= 3, f"{name}: tracebacks"
        assert any(e.startswith("PostgreSQL unavailable") for e in events), name
        assert not {"message dead-lettered", "message parked"} & set(events), "nothing parked"
        assert any(e.startswith("PostgreSQL reachable again") for e in events), name
    print(f"ready again {back:.1f} s after the restart; lines per service:",
          {n: len(lines) for n, lines in written.items()})  # fmt: skip
