"""Bad input goes to dead-letter topics and the line keeps running; re-publication changes nothing."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from kaa.deployment import Deployment
from services.identify.adapters.outbound import to_integration_event
from services.identify.adapters.store import IdentifyStore
from shared.contracts.topics import IDENTIFY_EVENTS, POPULATION_FEED, SS12000_FEED
from shared.eventstore import eventsourcing_env
from shared.intake import PLAINTEXT_REFUSED
from shared.messaging import read_topics
from shared.messaging.relay import OutboxRelay
from tests.conftest import RunningInfra
from tests.e2e.conftest import TODAY, running
from tests.e2e.test_pipeline import load_municipality

GOOD_NUMBER = "200801011230"  # 17 on TODAY
OTHER_NUMBER = "200802021238"


def population_line(
    number: str,
    *,
    tenant: str = "0180",
    kommunkod: str = "0180",
    change: str = "baseline",
    effective: str = "2026-03-01",
) -> bytes:
    return json.dumps(
        {
            "feed": "population",
            "schema_version": 1,
            "record_id": str(uuid.uuid4()),
            "tenant": tenant,
            "observed_at": f"{effective}T08:00:00Z",
            "record": {
                "personnummer": number,
                "given_name": "Test",
                "family_name": "Testsson",
                "kommunkod": kommunkod,
                "birth_date": f"{number[:4]}-{number[4:6]}-{number[6:8]}",
                "change_type": change,
                "effective_date": effective,
            },
        }
    ).encode()


async def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value=value, key=b"same-partition")
    finally:
        await producer.stop()


async def read_all(bootstrap: str, topic: str) -> list[tuple[bytes | None, dict[str, bytes]]]:
    return [(r.value, dict(r.headers or ())) for r in await read_topics(bootstrap, [topic])]


@pytest.fixture
def two_tenant_deployment(infra: RunningInfra) -> Iterator[Deployment]:
    with running(infra, tenants=("0180", "1480")) as made:
        yield made


def test_each_kind_of_bad_input_is_dead_lettered_and_the_line_keeps_running(
    deployment: Deployment,
) -> None:
    bootstrap, ns = deployment.bootstrap_servers, deployment.namespace
    # Lines on the topic as an upstream producer wrote them (not through the feed adapter) ...
    bad_population = [
        b"not json at all",
        b'{"feed": "population", "tenant": "0180"}',
        population_line("200801011231"),  # check digit
        population_line(GOOD_NUMBER, tenant="9999"),  # a municipality not served here
        population_line(GOOD_NUMBER),  # valid, but not sealed
    ]
    asyncio.run(produce(bootstrap, f"{ns}{POPULATION_FEED}", bad_population))
    # ... and through the adapter, sealed: a bad record, a tampered one and a good one.
    [(_, sealed_bad)] = asyncio.run(
        deployment.feed_adapter.sealed([population_line("200801011231")])
    )
    [(_key, tampered)] = asyncio.run(
        deployment.feed_adapter.sealed([population_line(OTHER_NUMBER)])
    )
    fields = json.loads(tampered)
    tampered = json.dumps(dict(fields, sealed=fields["sealed"][:-6] + "AAAAAA")).encode()
    asyncio.run(produce(bootstrap, f"{ns}{POPULATION_FEED}", [sealed_bad, tampered]))
    asyncio.run(deployment.publish_feed("population", [population_line(GOOD_NUMBER)]))
    asyncio.run(produce(bootstrap, f"{ns}{SS12000_FEED}", [b"\x00\x01 binary"]))
    bad_event = b'{"event_type": "YouthIdentified", "tenant": "0180"}'
    asyncio.run(produce(bootstrap, f"{ns}{IDENTIFY_EVENTS}", [bad_event]))
    asyncio.run(deployment.drained())

    population_dlq = asyncio.run(read_all(bootstrap, f"{ns}{POPULATION_FEED}.dlq"))
    assert [value for value, _ in population_dlq] == [*bad_population, sealed_bad, tampered], (
        "original bytes, in order"
    )
    reasons = [headers["kaa.dlq.reason"].decode() for _, headers in population_dlq]
    assert reasons[0].startswith("message: not JSON")
    assert reasons[1].startswith("record_id: Field required")
    assert reasons[2] == "record.personnummer: check digit does not match"
    assert reasons[3] == "tenant: 9999 is not a municipality served by this deployment"
    assert reasons[4] == PLAINTEXT_REFUSED
    # A sealed record is opened to be checked, and parked as it arrived: sealed.
    assert reasons[5] == "record.personnummer: check digit does not match"
    assert b"200801011231" not in sealed_bad
    assert b"Testsson" not in sealed_bad
    assert reasons[6].startswith("sealed: the record fails authentication")
    assert all(headers["kaa.dlq.service"] == b"identify" for _, headers in population_dlq)
    assert not any(GOOD_NUMBER in reason or "200801011231" in reason for reason in reasons)

    ss_dlq = asyncio.run(read_all(bootstrap, f"{ns}{SS12000_FEED}.dlq"))
    assert [value for value, _ in ss_dlq] == [b"\x00\x01 binary"]

    event_dlq = asyncio.run(read_all(bootstrap, f"{ns}{IDENTIFY_EVENTS}.dlq"))
    services = sorted(headers["kaa.dlq.service"].decode() for _, headers in event_dlq)
    assert services == ["measures", "outreach", "register"], (
        "every consumer parks it, none drops it"
    )
    assert all(value == bad_event for value, _ in event_dlq)

    with deployment.client("register", "0180", "caseworker") as register:
        assert register.get("/v1/summary").json()["in_scope"] == 1, (
            "the good record after them got through"
        )


def test_republished_events_change_nothing(deployment: Deployment, tmp_path: Path) -> None:
    load_municipality(deployment, tmp_path, 300, seed=3)
    with deployment.client("register", "0180", "caseworker") as register:
        before = register.get("/v1/summary").json()
        youths = register.get("/v1/youths", params={"status": "in_scope", "limit": 3}).json()[
            "items"
        ]
    with deployment.client("outreach", "0180", "caseworker") as outreach:
        for youth in youths:
            outreach.post(
                f"/v1/youths/{youth['youth_id']}/contact-attempts",
                json={
                    "channel": "letter",
                    "outcome": "not_reached",
                    "attempted_at": f"{TODAY.isoformat()}T10:00:00+01:00",
                },
            ).raise_for_status()
    asyncio.run(deployment.drained())
    with deployment.client("register", "0180", "caseworker") as register:
        before = register.get("/v1/summary").json()
    assert before["contact_attempts"] == 3

    async def republish_identify_from_the_start() -> int:
        application = await asyncio.to_thread(
            lambda: IdentifyStore(
                eventsourcing_env(deployment.database_url, "identify", create_table=False),
                master_key=deployment.master_key,
            )
        )
        producer = AIOKafkaProducer(
            bootstrap_servers=deployment.bootstrap_servers, enable_idempotence=True
        )
        await producer.start()
        try:
            relay = OutboxRelay(
                application, producer, to_integration_event, topic_prefix=deployment.namespace
            )
            position, rounds = 0, 0
            while (moved := await relay.publish_after(position)) is not None:
                position, rounds = moved, rounds + 1
            return relay.published
        finally:
            await producer.stop()
            application.close()

    republished = asyncio.run(republish_identify_from_the_start())
    assert republished == before["scope_episodes"] + before["left_scope"]
    asyncio.run(deployment.drained())
    with deployment.client("register", "0180", "caseworker") as register:
        assert register.get("/v1/summary").json() == before


def test_http_errors_name_the_field_and_never_cross_tenants(
    two_tenant_deployment: Deployment,
) -> None:
    deployment = two_tenant_deployment
    moving = "200705051233"
    asyncio.run(deployment.publish_feed("population", [population_line(GOOD_NUMBER)]))
    asyncio.run(deployment.drained())
    with deployment.client("register", "0180", "caseworker") as register:
        [only] = register.get("/v1/youths").json()["items"]
    target = only["youth_id"]
    url = f"/v1/youths/{target}/contact-attempts"
    good = {"channel": "phone", "outcome": "reached", "attempted_at": "2026-03-01T10:00:00+01:00"}

    with deployment.client("outreach", "0180", "caseworker") as outreach:
        bad = outreach.post(url, json={"channel": "pigeon", "outcome": "reached"})
        assert bad.status_code == 422
        fields = {e["field"] for e in bad.json()["errors"]}
        assert fields == {"body.channel", "body.attempted_at"}
        assert "pigeon" not in bad.text, "the submitted value is not echoed back"
        unknown = outreach.post(f"/v1/youths/{uuid.uuid4()}/contact-attempts", json=good)
        assert unknown.status_code == 404
        retry_id = str(uuid.uuid4())
        first = outreach.post(url, json={**good, "contact_attempt_id": retry_id})
        again = outreach.post(url, json={**good, "contact_attempt_id": retry_id})
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json()["recorded"] is False

    with deployment.client("outreach", "1480", "caseworker") as other_municipality:
        response = other_municipality.post(url, json=good)
        assert response.status_code == 404, "another municipality's youth does not exist for you"
    with deployment.client("register", "1480", "caseworker") as other_register:
        assert other_register.get(f"/v1/youths/{target}").status_code == 404
        assert other_register.get("/v1/summary").json()["known"] == 0
    with deployment.client("outreach", "0180", "inspector") as inspector:
        assert inspector.post(url, json=good).status_code == 403
    assert deployment.platform is not None
    assert httpx.post(f"{deployment.platform.url('outreach')}{url}", json=good).status_code == 401

    # Another youth arrives and moves away: scope ends, and contact work is refused with a reason.
    asyncio.run(deployment.publish_feed("population", [population_line(moving)]))
    asyncio.run(deployment.drained())
    with deployment.client("register", "0180", "caseworker") as register:
        items = register.get("/v1/youths").json()["items"]
    moved_youth = next(i["youth_id"] for i in items if i["youth_id"] != target)
    asyncio.run(
        deployment.publish_feed(
            "population", [population_line(moving, kommunkod="2480", change="moved_out")]
        )
    )
    asyncio.run(deployment.drained())
    with deployment.client("outreach", "0180", "caseworker") as outreach:
        refused = outreach.post(f"/v1/youths/{moved_youth}/contact-attempts", json=good)
    assert refused.status_code == 409
    [problem] = refused.json()["errors"]
    assert problem["field"] == "youth_id"
    assert "not in the municipality's activity responsibility" in problem["problem"]
