"""Feeds in any order, over Kafka: the population feed read before SS 12000 gives the same register
as the reverse order, and a bad watermark is dead-lettered without holding anything up."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from kaa.deployment import Deployment
from kaa.dev.synthetic_feeds import generate
from shared.contracts.topics import POPULATION_FEED
from shared.messaging import partitions_of
from tests.conftest import RunningInfra
from tests.e2e.conftest import TODAY, kaa, running
from tests.e2e.expected import expected_register
from tests.e2e.test_bad_input_and_republication import read_all

TENANT = "0180"
PERIODS = ("2025H1", "2025H2", "2026H1")


def register_content(deployment: Deployment) -> dict[str, Any]:
    """What the register says, independent of the deployment's random youth ids: its counts and
    the SCB file of each half-year (personnummer and codes, in a fixed order)."""
    with (
        deployment.client("register", TENANT, "caseworker") as caseworker,
        deployment.client("register", TENANT, "coordinator") as coordinator,
    ):
        summary = caseworker.get("/v1/summary").json()
        files = {
            period: coordinator.get("/v1/scb/report", params={"period": period}).json()
            for period in PERIODS
        }
    return {
        "summary": {k: summary[k] for k in ("known", "in_scope", "left_scope", "scope_episodes")},
        "scb": {p: (f["youths"], f["content_sha256"]) for p, f in files.items()},
    }


def first_person_of(path: Path) -> str:
    return str(json.loads(path.read_text().splitlines()[0])["record"]["personnummer"])


def test_population_before_ss12000_gives_the_register_of_the_reverse_order(
    infra: RunningInfra, tmp_path: Path
) -> None:
    feeds = generate(600, TENANT, seed=21, out=tmp_path, today=TODAY)
    expected = expected_register(feeds.population, feeds.ss12000, TENANT, TODAY, as_read=False)
    registers = {}
    for first, second in (("population", "ss12000"), ("ss12000", "population")):
        # The production default: decide once population and SS 12000 are both complete.
        with running(infra, feed_sources=None) as deployment:
            asyncio.run(deployment.load(first, getattr(feeds, first)))
            asyncio.run(deployment.drained())
            with deployment.client("register", TENANT, "caseworker") as caseworker:
                assert caseworker.get("/v1/summary").json()["known"] == 0, (
                    f"nobody is decided on {first} alone"
                )
            if first == "population":
                explained = kaa(
                    deployment, "scope", "explain", "--tenant", TENANT,
                    "--personnummer", first_person_of(feeds.population), "--at", str(TODAY),
                )  # fmt: skip
                assert explained.returncode == 0, explained.stderr
                assert "PENDING" in explained.stdout
                assert "waiting for the watermark of: ss12000" in explained.stdout
                assert first_person_of(feeds.population) not in explained.stdout
            asyncio.run(deployment.load(second, getattr(feeds, second)))
            asyncio.run(deployment.drained())
            registers[first] = register_content(deployment)
            if first == "population":
                explained = kaa(
                    deployment, "scope", "explain", "--tenant", TENANT,
                    "--personnummer", first_person_of(feeds.population), "--at", str(TODAY),
                )  # fmt: skip
                assert "PENDING" not in explained.stdout, "decided once both were complete"
    assert registers["population"] == registers["ss12000"]
    assert registers["population"]["summary"] == {
        "known": expected.identified,
        "in_scope": expected.in_scope,
        "left_scope": expected.left_scope,
        "scope_episodes": expected.identified,
    }, "and it is the register the facts imply"


def test_a_bad_watermark_is_dead_lettered_and_the_feed_goes_on(
    infra: RunningInfra, tmp_path: Path
) -> None:
    feeds = generate(60, TENANT, seed=5, out=tmp_path, today=TODAY)
    with running(infra, feed_sources=("population",)) as deployment:
        asyncio.run(deployment.load("population", feeds.population))
        asyncio.run(deployment.drained())
        topic = f"{deployment.namespace}{POPULATION_FEED}"

        partitions = len(asyncio.run(partitions_of(deployment.bootstrap_servers, [topic])))

        def marker(**changes: Any) -> bytes:
            body = {
                "feed": "watermark", "schema_version": 1, "watermark_id": str(uuid.uuid4()),
                "tenant": TENANT, "source": "population",
                "complete_up_to": "2020-01-01T00:00:00+00:00", "partitions": partitions,
            } | changes  # fmt: skip
            return json.dumps(body).encode()

        bad = {
            "complete_up_to: goes back": marker(),  # the load's marker said later
            "tenant: 1480 is not a municipality": marker(tenant="1480"),  # not served
            "complete_up_to: Input should be a valid datetime": marker(complete_up_to="yesterday"),
            f"partitions: the topic has {partitions}": marker(partitions=partitions + 1),
            "complete_up_to: lies in the future": marker(complete_up_to="2099-01-01T00:00:00Z"),
            "source: a marker on the population topic": marker(source="ss12000"),
        }

        async def send() -> None:
            producer = AIOKafkaProducer(bootstrap_servers=deployment.bootstrap_servers)
            await producer.start()
            try:
                for value in bad.values():
                    await producer.send_and_wait(topic, value=value, partition=0)
            finally:
                await producer.stop()

        with deployment.client("register", TENANT, "caseworker") as caseworker:
            known = caseworker.get("/v1/summary").json()["known"]
            assert known > 0, "a population-only municipality is decided on its watermark"
            asyncio.run(send())
            asyncio.run(deployment.drained())
            dead = asyncio.run(read_all(deployment.bootstrap_servers, f"{topic}.dlq"))
            reasons = {
                value: headers["kaa.dlq.reason"].decode() for value, headers in dead if value
            }
            assert len(dead) == len(bad), reasons
            for reason, value in bad.items():
                assert reason in reasons[value], (reason, reasons[value])
            assert all("2099" not in r and "yesterday" not in r for r in reasons.values()), (
                "reasons never echo the value"
            )
            # The line keeps running: a new delivery after the bad markers is decided.
            extra = generate(70, TENANT, seed=6, out=tmp_path / "more", today=TODAY)
            asyncio.run(deployment.load("population", extra.population))
            asyncio.run(deployment.drained())
            assert caseworker.get("/v1/summary").json()["known"] > known
            assert caseworker.get("/health").json()["status"] in ("ok", "degraded")
