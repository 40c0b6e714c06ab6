"""kill -9 a service in the middle of the stream: after a restart nothing is lost or doubled."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from kaa.deployment import Deployment
from kaa.dev.synthetic_feeds import generate
from tests.conftest import RunningInfra
from tests.e2e.conftest import TODAY, new_deployment
from tests.e2e.expected import expected_register


@pytest.fixture
def slow_deployment(infra: RunningInfra) -> Iterator[Deployment]:
    """Small batches, so the stream lasts long enough to be interrupted; the production default
    for the feeds (population and SS 12000 watermarks), so the persons wait as pending until both
    are complete and the kill falls while they are being decided."""
    made = new_deployment(infra, batch_size=40, feed_sources=None)
    asyncio.run(made.reset())
    made.start(dict(os.environ))
    try:
        yield made
    finally:
        made.stop()
        # KAA_KEEP_E2E=1 keeps the database and topics of a failed run for a post-mortem.
        if not os.environ.get("KAA_KEEP_E2E"):
            asyncio.run(made.drop())


def summary(deployment: Deployment) -> dict[str, int]:
    with deployment.client("register", "0180", "caseworker") as client:
        result: dict[str, int] = client.get("/v1/summary").json()
        return result


def wait_until(condition: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def pending_count(deployment: Deployment) -> int:
    conn = await asyncpg.connect(deployment.database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM identify.scope_pending"))
    finally:
        await conn.close()


async def kill_while_deciding(deployment: Deployment, waiting: int) -> bool:
    """kill -9 identify once its release has decided some of the waiting persons, not all."""
    assert deployment.platform is not None
    conn = await asyncpg.connect(deployment.database_url)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            left = int(await conn.fetchval("SELECT count(*) FROM identify.scope_pending"))
            if 0 < left < waiting - 100:
                deployment.platform.processes["identify"].kill()
                return True
            if left == 0:
                return False
            await asyncio.sleep(0.005)
        return False
    finally:
        await conn.close()


def crash_mid_stream(deployment: Deployment, victim: str, tmp_path: Path) -> None:
    feeds = generate(2000, "0180", seed=11, out=tmp_path, today=TODAY)
    expected = expected_register(feeds.population, feeds.ss12000, "0180", TODAY, as_read=False)
    asyncio.run(deployment.load("population", feeds.population))
    asyncio.run(deployment.drained())
    assert summary(deployment)["known"] == 0, "everyone waits for the school data"
    waiting = asyncio.run(pending_count(deployment))
    assert waiting > 1000
    asyncio.run(deployment.load("ss12000", feeds.ss12000))
    assert deployment.platform is not None
    if victim == "identify":
        # Killed while the persons who waited for the school data are being decided.
        assert asyncio.run(kill_while_deciding(deployment, waiting)), "killed mid-release"
    else:
        # Killed while the decisions stream into it.
        seen: list[int] = []

        def some_arrived() -> bool:
            seen.append(summary(deployment)["known"])
            return seen[-1] > 0

        wait_until(some_arrived, timeout=60)
        deployment.platform.processes[victim].kill()
        assert seen[-1] < expected.identified, "the kill really happened mid-stream"
    time.sleep(1.0)  # the others keep running; the topics keep their messages for the restart
    deployment.platform.restart(victim)

    # Caseworkers work while the stream is still flowing.
    wait_until(lambda: summary(deployment)["in_scope"] >= 15)
    with deployment.client("register", "0180", "caseworker") as register:
        youths = register.get("/v1/youths", params={"status": "in_scope", "limit": 15}).json()[
            "items"
        ]
    with (
        deployment.client("outreach", "0180", "caseworker") as outreach,
        deployment.client("measures", "0180", "caseworker") as measures,
    ):
        for youth in youths[:12]:
            outreach.post(
                f"/v1/youths/{youth['youth_id']}/contact-attempts",
                json={
                    "channel": "sms",
                    "outcome": "not_reached",
                    "attempted_at": f"{TODAY.isoformat()}T10:00:00+01:00",
                },
            ).raise_for_status()
        for youth in youths[:6]:
            measures.post(
                f"/v1/youths/{youth['youth_id']}/measure-offers",
                json={"measure_type": "study_visit", "offered_on": TODAY.isoformat()},
            ).raise_for_status()

    asyncio.run(deployment.drained())
    assert asyncio.run(pending_count(deployment)) == 0, "nobody left waiting"

    after = summary(deployment)
    assert after["known"] == expected.identified
    assert after["in_scope"] == expected.in_scope
    assert after["left_scope"] == expected.left_scope
    assert after["scope_episodes"] == expected.identified, "every youth exactly once"
    assert (after["contact_attempts"], after["contacted"]) == (12, 12), "every contact exactly once"
    assert (after["measure_offers"], after["offered"]) == (6, 6), "every measure exactly once"


def test_register_killed_mid_stream_loses_and_doubles_nothing(
    slow_deployment: Deployment, tmp_path: Path
) -> None:
    crash_mid_stream(slow_deployment, "register", tmp_path)


def test_identify_killed_mid_stream_loses_and_doubles_nothing(
    slow_deployment: Deployment, tmp_path: Path
) -> None:
    crash_mid_stream(slow_deployment, "identify", tmp_path)
