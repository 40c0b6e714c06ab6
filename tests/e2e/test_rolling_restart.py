"""A rolling restart while the feeds and caseworker commands flow: SIGTERM to each service process
in turn, and start it again. Each stops within seconds with exit code 0 (its consumer finishes the
batch, commits and leaves the group); no command gets an error but one its client retries with
the same client id; the register ends equal to an independent count of the feeds and every
command is recorded once."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from kaa.deployment import Deployment
from kaa.dev.synthetic_feeds import generate
from tests.conftest import RunningInfra
from tests.e2e.conftest import TODAY
from tests.e2e.expected import expected_register
from tests.e2e.outage_support import (
    FOUR,
    RetryingCaseworker,
    deployment_on,
    summary,
    wait_for,
    youths_in_scope,
)


@pytest.fixture
def rolling(infra: RunningInfra, tmp_path: Path) -> Iterator[Deployment]:
    logs = infra.infrastructure.settings.logs_dir / "e2e-rolling" / tmp_path.name
    made = deployment_on(infra, infra.database_url, logs)
    made.start(dict(os.environ))
    try:
        yield made
    finally:
        made.stop()
        if not os.environ.get("KAA_KEEP_E2E"):
            asyncio.run(made.drop())


def commands_while(
    caseworker: RetryingCaseworker, youths: list[str], done: threading.Event
) -> None:
    """Contact attempts, one after another, until `done` (and at least one per youth)."""
    for count in range(10_000):
        if done.is_set() and count >= len(youths):
            return
        caseworker.contact_attempt(youths[count % len(youths)])
        time.sleep(0.2)


def scrape(deployment: Deployment, name: str) -> dict[str, list[dict[str, str]]]:
    """A service's metrics by family: the labels of each sample."""
    assert deployment.platform is not None
    text = httpx.get(f"{deployment.platform.url(name)}/metrics", timeout=10).text
    return {
        family.name: [sample.labels for sample in family.samples]
        for family in text_string_to_metric_families(text)
    }


def test_a_rolling_restart_loses_nothing_and_each_stop_is_clean(
    rolling: Deployment, tmp_path: Path
) -> None:
    deployment = rolling
    assert deployment.platform is not None
    feeds = generate(2000, "0180", seed=17, out=tmp_path, today=TODAY)
    expected = expected_register(feeds.population, feeds.ss12000, "0180", TODAY, as_read=False)
    asyncio.run(deployment.load("population", feeds.population))
    asyncio.run(deployment.drained())
    asyncio.run(deployment.load("ss12000", feeds.ss12000))
    wait_for(lambda: summary(deployment)["in_scope"] >= 20, 90, "decisions reach the register")
    youths = youths_in_scope(deployment, 20)
    assert summary(deployment)["known"] < expected.identified, "the restarts fall mid-stream"

    caseworker = RetryingCaseworker(deployment)
    done = threading.Event()
    flowing = threading.Thread(target=commands_while, args=(caseworker, youths, done))
    flowing.start()
    stops: dict[str, tuple[int | None, float]] = {}
    try:
        for name in ["outreach", "identify", "register", "measures"]:
            time.sleep(1.5)  # commands and batches under way
            started = time.monotonic()
            code = deployment.platform.processes[name].stop(timeout=20)
            stops[name] = (code, time.monotonic() - started)
            deployment.platform.restart(name)
    finally:
        done.set()
        flowing.join(timeout=180)

    for name, (code, seconds) in stops.items():
        assert code == 0, f"{name} exited {code} on SIGTERM"
        assert seconds < 10.0, f"{name} took {seconds:.1f} s to stop"
    assert caseworker.errors == [], "no command got an error but a retried one"
    asyncio.run(deployment.drained(max_wait=240))
    after = summary(deployment)
    assert after["known"] == expected.identified
    assert after["in_scope"] == expected.in_scope
    assert after["left_scope"] == expected.left_scope
    assert after["scope_episodes"] == expected.identified, "every youth exactly once"
    assert after["contact_attempts"] == len(caseworker.recorded), "every command exactly once"
    assert len(set(caseworker.recorded)) == len(caseworker.recorded)
    assert all(deployment.platform.processes[n].running() for n in FOUR)
    # The register restarted before the last commands: it applied their events since.
    assert scrape(deployment, "register")["kaa_consumer_batch_messages"], "batches counted"
    scraped = scrape(deployment, "outreach")
    routes = {labels["route"] for labels in scraped["kaa_http_request_seconds"]}
    assert "/v1/youths/{youth_id}/contact-attempts" in routes, "requests under their template"
    assert scraped["kaa_relay_published"], "the relay counts what it published"
    print("stops (exit, seconds):", {n: (c, round(s, 2)) for n, (c, s) in stops.items()},
          "commands:", len(caseworker.recorded), "retried:", caseworker.retried)  # fmt: skip
