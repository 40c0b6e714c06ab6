"""`GET /metrics` of every service after an end-to-end run, read with Prometheus' own parser: the
figures are what the run did (events applied per type as published, dead letters as the bad
records loaded, requests per route, no lag left, the overdue first contacts as the caseload shows
them, a retention run), and no label and no log line holds a youth's personal data."""

from __future__ import annotations

import asyncio
import gzip
import http.server
import json
import os
import random
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from prometheus_client.parser import text_string_to_metric_families

from kaa.deployment import Deployment, free_port
from kaa.dev.synthetic_feeds import generate
from shared import personnummer
from shared.contracts.topics import EVENT_TOPICS, POPULATION_FEED
from shared.messaging import read_topics
from tests.conftest import RunningInfra
from tests.e2e.conftest import TODAY, new_deployment
from tests.e2e.test_logs import EIGHTEEN, PEOPLE, enrolled, person

# The deliberately bad records: each is dead-lettered by identify; their people are as personal
# as the good ones (no label or log line may hold them). (number, given, family, street, postal).
BAD = [
    ("200801011231", "Rutgerina", "Vallinqvarn", "Dimvägsbacken 3", "172 31"),  # check digit
    ("200802021238", "Hjördisanna", "Pålsbergsson", "Lingonstigen 88", "ABCDE"),  # postal code
    ("200803031235", "Torvaldine", "Östgrensberg", "Myrtorpsgränd 12", "172 32"),  # not served
]
SERVICES = ("identify", "outreach", "measures", "register", "web")
LATER = date(2026, 3, 23)  # 15 working days on: a first contact waiting since TODAY is overdue
UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.I)


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


def person_line(
    number: str, given: str, family: str, street: str, postal: str, tenant: str
) -> bytes:
    record = {
        "personnummer": number, "given_name": given, "family_name": family,
        "address": {"street": street, "postal_code": postal, "city": "Tallbackaby"},
        "kommunkod": tenant, "birth_date": f"{number[:4]}-{number[4:6]}-{number[6:8]}",
        "change_type": "moved_in", "effective_date": "2026-01-15",
    }  # fmt: skip
    return json.dumps(
        {"feed": "population", "schema_version": 1, "record_id": str(uuid.uuid4()),
         "tenant": tenant, "observed_at": "2026-01-15T08:00:00Z", "record": record}
    ).encode()  # fmt: skip


@pytest.fixture
def observed(infra: RunningInfra, tmp_path: Path) -> Iterator[Deployment]:
    """The four services and the web application, their logs (only theirs) in `tmp_path/logs`."""
    made = new_deployment(infra)
    made.logs_dir = tmp_path / "logs"
    asyncio.run(made.reset())
    try:
        platform = made.start(dict(os.environ))
        platform.start_web(free_port())
        yield made
    finally:
        made.stop()
        asyncio.run(made.drop())


def scrape(deployment: Deployment, service: str) -> list[Sample]:
    assert deployment.platform is not None
    answered = httpx.get(f"{deployment.platform.processes[service].url}/metrics", timeout=10.0)
    assert answered.status_code == 200, f"{service}: GET /metrics answered {answered.status_code}"
    assert answered.headers["content-type"].startswith("text/plain")
    return [
        Sample(s.name, dict(s.labels), s.value)
        for family in text_string_to_metric_families(answered.text)
        for s in family.samples
    ]


def total(samples: list[Sample], name: str, **labels: str) -> float:
    return sum(
        s.value for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )  # fmt: skip


def settled(deployment: Deployment) -> dict[str, list[Sample]]:
    """Every service's metrics once no consumer has lag and no relay has events left (30 s)."""
    for _ in range(60):
        scraped = {service: scrape(deployment, service) for service in SERVICES}
        behind = [
            s
            for samples in scraped.values()
            for s in samples
            if s.name in ("kaa_consumer_lag_messages", "kaa_relay_lag_events") and s.value
        ]
        if not behind:
            return scraped
        time.sleep(0.5)
    raise AssertionError(f"lag left: {behind}")


async def published(deployment: Deployment) -> Counter[tuple[str, str]]:
    """The events on the event topics, by topic and type: an independent count."""
    topics = [f"{deployment.namespace}{t}" for t in EVENT_TOPICS]
    records = await read_topics(deployment.bootstrap_servers, topics)
    return Counter((r.topic, json.loads(r.value)["event_type"]) for r in records if r.value)


async def produce_raw(deployment: Deployment, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=deployment.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value=value)
    finally:
        await producer.stop()


def load(deployment: Deployment, out: Path) -> list[dict[str, object]]:
    """A small municipality, then the bad records (three through the feed adapter, one not JSON
    written to the topic directly); the good records' people."""
    feeds = generate(40, "0180", seed=20, out=out, today=TODAY)
    asyncio.run(deployment.load("population", feeds.population))
    asyncio.run(deployment.load("ss12000", feeds.ss12000))
    bad = [person_line(*p, tenant="9999" if i == 2 else "0180") for i, p in enumerate(BAD)]
    asyncio.run(deployment.publish_feed("population", bad, complete=False))  # no watermark
    asyncio.run(produce_raw(deployment, f"{deployment.namespace}{POPULATION_FEED}", b"not json"))
    asyncio.run(deployment.drained())
    lines = feeds.population.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["record"] for line in lines]


def casework(deployment: Deployment) -> list[str]:
    """Contact attempts with three youths in scope and measure offers to two; their ids."""
    with deployment.client("register", "0180", "caseworker") as register:
        found = register.get("/v1/youths", params={"status": "in_scope", "limit": 3})
        youths = [row["youth_id"] for row in found.json()["items"]]
    assert len(youths) == 3
    with deployment.client("outreach", "0180", "caseworker") as outreach:
        for youth in youths:
            answer = outreach.post(f"/v1/youths/{youth}/contact-attempts", json={
                "channel": "phone", "outcome": "reached",
                "attempted_at": f"{TODAY.isoformat()}T10:00:00+01:00"})  # fmt: skip
            assert answer.status_code == 201, answer.text
    with deployment.client("measures", "0180", "caseworker") as measures:
        for youth in youths[:2]:
            answer = measures.post(f"/v1/youths/{youth}/measure-offers", json={
                "measure_type": "internship", "offered_on": TODAY.isoformat()})  # fmt: skip
            assert answer.status_code == 201, answer.text
    asyncio.run(deployment.drained())
    return youths


def test_the_metrics_are_what_the_run_did(observed: Deployment, tmp_path: Path) -> None:
    people = load(observed, tmp_path)
    youths = casework(observed)
    scraped = settled(observed)
    register, identify = scraped["register"], scraped["identify"]

    # Events applied per type by the register: each one published, once.
    expected = asyncio.run(published(observed))
    kinds = Counter({kind: n for (_, kind), n in expected.items()})
    assert (kinds["ContactAttempted"], kinds["MeasureOffered"]) == (3, 2)
    assert kinds["YouthIdentified"] > 10
    applied = Counter({(s.labels["topic"], s.labels["event_type"]): int(s.value)
                       for s in register if s.name == "kaa_events_applied_total"})  # fmt: skip
    assert applied == expected
    for service in ("identify", "outreach", "measures"):
        sent = sum(n for (topic, _), n in expected.items() if f"kaa.{service}." in topic)
        assert total(scraped[service], "kaa_relay_published_total", relay=service) == sent

    # Dead letters: the four bad records (as the dead-letter topic holds them), nothing else.
    dlq = f"{observed.namespace}{POPULATION_FEED}.dlq"
    parked = asyncio.run(read_topics(observed.bootstrap_servers, [dlq]))
    assert len(parked) == len(BAD) + 1
    assert total(identify, "kaa_dead_letters_total") == len(BAD) + 1
    assert sum(total(scraped[s], "kaa_dead_letters_total") for s in SERVICES) == len(BAD) + 1

    # Requests per route template, method and status.
    count = "kaa_http_request_seconds_count"
    attempts = "/v1/youths/{youth_id}/contact-attempts"
    assert total(scraped["outreach"], count, route=attempts, method="POST", status="201") == 3
    offers = "/v1/youths/{youth_id}/measure-offers"
    assert total(scraped["measures"], count, route=offers, method="POST", status="201") == 2
    assert total(register, count, route="/v1/youths", method="GET", status="200") == 1

    # The domain's figures: the register ran retention once at start, the schedule is done.
    assert total(register, "kaa_retention_runs_total", kommun="0180") == 1
    assert total(register, "kaa_retention_last_run_timestamp_seconds") > 0
    assert [s.value for s in identify if s.name == "kaa_scope_schedule_backlog"] == [0]

    overdue_equals_the_caseload(observed, youths)
    secrets = personal_data(people)
    labelled = [s for samples in scraped.values() for s in samples]
    assert_no_personal_data_in_labels(labelled, secrets, observed.namespace)
    assert_no_personal_data_in_logs(observed.logs_dir, secrets)


def overdue_equals_the_caseload(deployment: Deployment, contacted: list[str]) -> None:
    """outreach restarted three weeks on: the youths in scope it has not contacted wait past the
    limit; its gauge is the coordinator's caseload figure."""
    assert deployment.platform is not None
    outreach = deployment.platform.processes["outreach"]
    outreach.stop()
    outreach.env["KAA_TODAY"] = LATER.isoformat()
    deployment.platform.restart("outreach")
    with deployment.client("outreach", "0180", "coordinator") as coordinator:
        load = coordinator.get("/v1/caseload").json()
    assert load["today"] == LATER.isoformat()
    shown = sum(int(h["first_contact_overdue"]) for h in load["holders"])
    in_scope = sum(int(h["open"]) for h in load["holders"])
    assert shown == in_scope - len(contacted) > 0
    for _ in range(40):  # counted once the service has started, then every minute
        gauge = total(scrape(deployment, "outreach"), "kaa_first_contact_overdue", kommun="0180")
        if gauge == shown:
            return
        time.sleep(0.25)
    raise AssertionError(f"kaa_first_contact_overdue {gauge}, the caseload {shown}")


def personal_data(people: list[dict[str, object]]) -> set[str]:
    """The generated youths' and the bad records' personnummer (each form), names and streets."""
    numbers = [str(p["personnummer"]) for p in people] + [b[0] for b in BAD]
    found = {f for n in numbers for f in (n, n[2:], f"{n[:8]}-{n[8:]}", f"{n[2:8]}-{n[8:]}")}
    for p in people:
        address = p.get("address") or {}
        assert isinstance(address, dict)
        found |= {str(p["given_name"]), str(p["family_name"]), str(address.get("street", ""))}
    found |= {part for b in BAD for part in b[1:4]}
    found.discard("")
    return found | {json.dumps(s)[1:-1] for s in found}  # as JSON writes them (\u00e5 for å)


def _leaks(text: str, secrets: set[str]) -> int:
    return sum(1 for s in secrets if re.search(rf"(?<!\w){re.escape(s)}(?!\w)", text))


def assert_no_personal_data_in_labels(samples: list[Sample], secrets: set[str], ns: str) -> None:
    # Topic labels carry the deployment's name (a test's is all digits one run in a hundred).
    values = {v.replace(ns, "") for s in samples for v in s.labels.values()}
    assert values, "labels were scraped"
    text = "\n".join(sorted(values))
    # Name how many, never the values (the test's output is a log too).
    assert _leaks(text, secrets) == 0, "a metric label holds personal data"
    assert not any(UUID.search(v) for v in values), "a metric label holds an id"
    assert not any(re.search(r"\d{10}", v) for v in values), "a metric label holds a number"


def assert_no_personal_data_in_logs(logs: Path, secrets: set[str]) -> None:
    files = sorted(logs.glob("*.log"))
    assert {f.stem for f in files} >= set(SERVICES)
    for file in files:
        text = file.read_text(encoding="utf-8")
        assert text.strip(), f"{file.name} is empty"
        leaked = _leaks(text, secrets)
        assert leaked == 0, f"{file.name} holds personal data ({leaked} values)"


@dataclass(frozen=True)
class ExportedSpan:
    service: str
    name: str
    trace_id: str
    attributes: dict[str, str]


def _value(value: Any) -> str:
    """An OTLP attribute's value, whichever kind it is, as text."""
    return str(getattr(value, value.WhichOneof("value")))


class _Collector(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP trace receiver: keeps what the services export (protobuf)."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = trace_service_pb2.ExportTraceServiceRequest()
        request.ParseFromString(body)
        spans: list[ExportedSpan] = self.server.spans  # type: ignore[attr-defined]
        for resource in request.resource_spans:
            said = {a.key: a.value.string_value for a in resource.resource.attributes}
            for scope in resource.scope_spans:
                spans.extend(
                    ExportedSpan(said["service.name"], s.name, s.trace_id.hex(),
                                 {a.key: _value(a.value) for a in s.attributes})
                    for s in scope.spans
                )  # fmt: skip
        answer = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads the spans."""


@pytest.fixture
def collector() -> Iterator[tuple[str, list[ExportedSpan]]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    server.spans = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.spans  # type: ignore[attr-defined]
    finally:
        server.shutdown()


def _joined(spans: list[ExportedSpan], correlation: uuid.UUID) -> bool:
    """The register applied the notification's events in a span of the request's trace (the
    context went from identify's request through its outbox relay and Kafka's headers)."""
    return any(
        s.service == "kaa-register" and s.name.startswith("process ")
        and s.trace_id == correlation.hex
        for s in spans
    )  # fmt: skip


def test_traces_reach_the_collector_the_standard_variable_names(
    infra: RunningInfra, tmp_path: Path, collector: tuple[str, list[ExportedSpan]]
) -> None:
    endpoint, spans = collector
    made = new_deployment(infra)
    made.logs_dir = tmp_path / "logs"
    asyncio.run(made.reset())
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    try:
        made.start(env, ["identify", "register"])
        number = personnummer.generate(EIGHTEEN, random.Random(20))
        asyncio.run(made.publish_feed("ss12000", [enrolled(number)]))
        asyncio.run(made.drained())
        asyncio.run(made.publish_feed("population", [person(number, *PEOPLE[0])]))
        asyncio.run(made.drained())
        correlation = uuid.uuid4()
        with made.client("identify", "0180", "school-reporter") as school:
            notified = school.post(
                "/v1/school-notifications",
                json={"personnummer": number, "kind": "left", "on": TODAY.isoformat(),
                      "school_type": "GY", "school_unit": "unit-1"},
                headers={"X-Correlation-Id": str(correlation)},
            )  # fmt: skip
        assert notified.status_code == 202, notified.text
        youth = notified.json()["youth_id"]
        asyncio.run(made.drained())
        with made.client("register", "0180", "caseworker") as register:
            assert register.get(f"/v1/youths/{youth}").status_code == 200
        route = "/v1/youths/{youth_id}"
        wanted = {
            ("kaa-identify", "POST /v1/school-notifications"),
            ("kaa-register", f"GET {route}"),
        }
        for _ in range(100):
            if wanted <= {(s.service, s.name) for s in spans} and _joined(spans, correlation):
                break
            time.sleep(0.1)
    finally:
        made.stop()
        asyncio.run(made.drop())
    [request] = [s for s in spans if s.name == "POST /v1/school-notifications"]
    assert request.trace_id == correlation.hex, "the trace id is the request's correlation id"
    assert _joined(spans, correlation), "the register's batch is in the request's trace"
    assert set(request.attributes) == {
        "http.request.method",
        "http.route",
        "http.response.status_code",
    }
    [read] = [s for s in spans if s.service == "kaa-register" and s.name == f"GET {route}"]
    assert (read.attributes["http.route"], read.attributes["http.response.status_code"]) == (
        route, "200",
    )  # fmt: skip
    said = "\n".join(f"{s.name} {s.attributes}" for s in spans)
    secrets = personal_data([]) | {number, number[2:], *PEOPLE[0]}
    assert _leaks(said, secrets) == 0, "a span holds personal data"
    assert youth not in said, "a span holds an id"
    assert uuid.UUID(youth).hex not in said, "a span holds an id"
