"""Logs: one JSON object per line from kaa and its libraries, and the request's correlation id."""

from __future__ import annotations

import io
import json
import logging
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.logs import (
    CORRELATION_HEADER,
    RepeatLimiter,
    _request_line,
    accepted_correlation_id,
    adopt_uvicorn_loggers,
    configure_logging,
    correlation_id,
)
from shared.messaging.consumer import Delivery, Parsed
from shared.messaging.parking import apply_isolated, traced
from shared.runtime import BackgroundLoops, service_app
from tests.unit.apps import bearer, offline_settings, service_clients

ROUTE = "/v1/youths/{youth_id}/contact-attempts"


class Lines:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def requests(self) -> list[dict[str, Any]]:
        return [line for line in self.all() if line["event"] == "request"]


@pytest.fixture
def logs() -> Iterator[Lines]:
    """The process's logging configured as a service's, into a buffer; put back afterwards."""
    saved_config = structlog.get_config()
    root = logging.getLogger()
    saved_root = (list(root.handlers), root.level)
    names = ["aiokafka", "uvicorn", "uvicorn.error", "uvicorn.access", "asyncio", "httpx"]
    saved = {
        n: (logging.getLogger(n).level, list(logging.getLogger(n).handlers),
            logging.getLogger(n).propagate, logging.getLogger(n).disabled)
        for n in names
    }  # fmt: skip
    saved_hook = sys.excepthook
    stream = io.StringIO()
    configure_logging("unit", "INFO", stream=stream)
    try:
        yield Lines(stream)
    finally:
        structlog.configure(**saved_config)
        root.handlers[:] = saved_root[0]
        root.setLevel(saved_root[1])
        for n, (level, handlers, propagate, disabled) in saved.items():
            logger = logging.getLogger(n)
            logger.setLevel(level)
            logger.handlers[:] = handlers
            logger.propagate, logger.disabled = propagate, disabled
        sys.excepthook = saved_hook
        structlog.contextvars.clear_contextvars()


def contact_attempt(client: TestClient, **headers: str) -> Any:
    """A caseworker's contact attempt with an empty body: authenticated, then refused (422)."""
    return client.post(
        f"/v1/youths/{uuid.uuid4()}/contact-attempts",
        json={},
        headers={**bearer("caseworker"), **headers},
    )


def test_a_callers_correlation_id_is_returned_and_on_the_request_line(logs: Lines) -> None:
    given = str(uuid.uuid4())
    with service_clients(services=("outreach",)) as clients:
        response = contact_attempt(clients["outreach"], **{CORRELATION_HEADER: given})
    assert response.status_code == 422
    assert response.headers[CORRELATION_HEADER] == given
    [line] = logs.requests()
    assert line["correlation_id"] == given
    assert (line["method"], line["route"], line["status"]) == ("POST", ROUTE, 422)
    assert (line["tenant"], line["actor"], line["service"]) == ("0180", "user:unit", "unit")
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0
    assert line["level"] == "info"


def test_a_request_without_one_gets_a_new_correlation_id_each(logs: Lines) -> None:
    with service_clients(services=("outreach",)) as clients:
        made = [contact_attempt(clients["outreach"]).headers[CORRELATION_HEADER] for _ in range(2)]
    assert made[0] != made[1]
    assert all(uuid.UUID(value) for value in made)
    assert [line["correlation_id"] for line in logs.requests()] == made


@pytest.mark.parametrize(
    "bad", ["not-a-uuid", "1" * 37, "x" * 2000, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0; drop"]
)
def test_a_malformed_correlation_id_is_replaced_and_never_echoed(logs: Lines, bad: str) -> None:
    with service_clients(services=("outreach",)) as clients:
        response = contact_attempt(clients["outreach"], **{CORRELATION_HEADER: bad})
    returned = response.headers[CORRELATION_HEADER]
    assert uuid.UUID(returned)
    assert bad not in returned
    assert bad not in logs.stream.getvalue()
    assert logs.requests()[0]["correlation_id"] == returned


def test_a_correlation_id_is_accepted_only_as_a_uuid() -> None:
    known = uuid.UUID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
    assert accepted_correlation_id(str(known)) == known
    assert accepted_correlation_id(known.hex.upper()) == known  # 32 hex digits (nginx)
    for bad in (None, "", "0f1e2d3c", "{" + str(known) + "}", "g" * 32, str(known) + "0"):
        assert accepted_correlation_id(bad) is None


def test_the_paths_youth_id_is_not_logged_only_the_route(logs: Lines) -> None:
    youth = uuid.uuid4()
    with service_clients(services=("outreach",)) as clients:
        clients["outreach"].get(f"/v1/youths/{youth}/case", headers=bearer("inspector"))
        clients["outreach"].get("/no/such/path/19900101-1234")
    assert str(youth) not in logs.stream.getvalue()
    assert "19900101" not in logs.stream.getvalue()
    assert [line["route"] for line in logs.requests()] == [
        "/v1/youths/{youth_id}/case",
        "unmatched",
    ]


def probe_app() -> FastAPI:
    """A service app with one route that logs, from kaa's code and from a library's."""

    async def setup(app: FastAPI, loops: BackgroundLoops) -> Any:
        raise AssertionError("the lifespan does not run here")

    settings = offline_settings()
    app = service_app(title="probe", settings=settings, setup=setup)

    @app.get("/v1/probe/{thing}")
    async def probe(thing: str) -> dict[str, str]:
        structlog.get_logger("kaa.probe").warning("probing")
        logging.getLogger("httpx").warning("a library's %s", "warning")
        return {"correlation_id": str(correlation_id())}

    return app


def test_lines_written_during_a_request_carry_its_correlation_id(logs: Lines) -> None:
    given = str(uuid.uuid4())
    response = TestClient(probe_app()).get("/v1/probe/x", headers={CORRELATION_HEADER: given})
    assert response.json() == {"correlation_id": given}
    probing, library, request = logs.all()
    assert (probing["event"], probing["correlation_id"], probing["logger"]) == (
        "probing", given, "kaa.probe",
    )  # fmt: skip
    assert (library["event"], library["correlation_id"], library["logger"]) == (
        "a library's warning", given, "httpx",
    )  # fmt: skip
    assert (request["route"], request["correlation_id"]) == ("/v1/probe/{thing}", given)
    # Outside a request, a command gets a new correlation id of its own.
    assert correlation_id() != correlation_id()


def test_a_librarys_line_is_json_and_its_chatter_is_held_back(logs: Lines) -> None:
    logging.getLogger("aiokafka.consumer").info("joined group")  # INFO of a library: not shown
    logging.getLogger("eventsourcing").info("details")
    try:
        raise ConnectionRefusedError("refused")
    except ConnectionRefusedError:
        logging.getLogger("asyncio").exception("Task exception was never retrieved")
    [line] = logs.all()
    assert (line["level"], line["logger"], line["service"]) == ("error", "asyncio", "unit")
    assert "ConnectionRefusedError" in line["exception"]
    assert line["timestamp"].endswith("Z")


def test_a_traceback_does_not_quote_the_value_pydantic_refused(logs: Lines) -> None:
    from pydantic import BaseModel

    class Person(BaseModel):
        personnummer: int

    try:
        Person.model_validate({"personnummer": "1990" + "0101-1234"})
    except ValueError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    [line] = logs.all()
    assert "ValidationError" in line["exception"]
    assert "input_value=(not logged)" in line["exception"]
    assert "19900101" not in logs.stream.getvalue()


def test_uvicorns_lines_are_json_and_its_access_line_is_replaced(logs: Lines) -> None:
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    uvicorn.Config(FastAPI(), log_config=LOGGING_CONFIG)  # installs uvicorn's own handlers
    adopt_uvicorn_loggers()  # what the service's lifespan does
    logging.getLogger("uvicorn.error").warning("Invalid HTTP request received.")
    logging.getLogger("uvicorn.access").warning('127.0.0.1 - "GET /v1/x HTTP/1.1" 200')
    [line] = logs.all()
    assert (line["event"], line["logger"]) == ("Invalid HTTP request received.", "uvicorn.error")


def test_a_brokers_repeated_complaint_is_written_once_per_window(logs: Lines) -> None:
    now = [0.0]
    limiter = RepeatLimiter(window=60.0, clock=lambda: now[0])
    handler = logging.getLogger().handlers[0]
    for old in list(handler.filters):
        handler.removeFilter(old)
    handler.addFilter(limiter)
    conn = logging.getLogger("aiokafka.conn")
    for node in range(5):
        conn.error("Unable connect to node with id %s: %s", node, "refused")
    logging.getLogger("aiokafka.conn").warning("another complaint")
    now[0] = 61.0
    conn.error("Unable connect to node with id %s: %s", 9, "refused")
    first, other, again = logs.all()
    assert first["event"] == "Unable connect to node with id 0: refused"
    assert "repeated" not in first
    assert other["event"] == "another complaint"
    assert (again["event"], again["repeated"]) == ("Unable connect to node with id 9: refused", 4)


class _LoggingSink:
    def __init__(self) -> None:
        self.log = structlog.get_logger("kaa.sink")

    async def positions(self, topic: str, partitions: Any) -> dict[int, int]:
        return {}

    async def apply(self, topic: str, partition: int, items: list[Any], next_offset: int) -> None:
        if items:
            self.log.info("applying")
            if items[0].message.event_type == "Bad":
                raise ValueError("a bad event")


class _Event:
    def __init__(self, event_type: str, correlation: uuid.UUID) -> None:
        self.event_type, self.correlation_id = event_type, correlation


async def test_a_message_applied_alone_is_logged_with_its_offset_and_correlation_id(
    logs: Lines,
) -> None:
    ids = [uuid.uuid4(), uuid.uuid4()]
    items = [
        Parsed(Delivery("t", 0, 7, None, b""), _Event("MeasureStarted", ids[0])),
        Parsed(Delivery("t", 0, 8, None, b""), _Event("Bad", ids[1])),
    ]
    parked: list[str] = []

    async def park(item: Parsed[Any], reason: str) -> None:
        structlog.get_logger("kaa.park").warning("parked")
        parked.append(reason)

    await apply_isolated(_LoggingSink(), "t", 0, items, 9, park)
    applying_first, applying_bad, parking = logs.all()
    assert (applying_first["offset"], applying_first["correlation_id"]) == (7, str(ids[0]))
    assert applying_first["event_type"] == "MeasureStarted"
    assert (applying_bad["offset"], applying_bad["correlation_id"]) == (8, str(ids[1]))
    assert (parking["event"], parking["offset"], parking["event_type"]) == ("parked", 8, "Bad")
    assert len(parked) == 1


def test_a_batch_names_its_events_correlation_ids_and_types() -> None:
    one, other = uuid.uuid4(), uuid.uuid4()
    items = [
        Parsed(Delivery("t", 1, offset, None, b""), _Event(kind, correlation))
        for offset, kind, correlation in [(3, "A", one), (4, "A", one), (5, "B", other)]
    ]
    assert traced(items) == {
        "offset": 3, "last_offset": 5, "event_types": {"A": 2, "B": 1},
        "correlation_ids": [str(one), str(other)],
    }  # fmt: skip
    assert traced(items[:2]) == {
        "offset": 3, "last_offset": 4, "event_types": {"A": 2}, "correlation_id": str(one),
    }  # fmt: skip
    many = [Parsed(Delivery("t", 1, n, None, b""), _Event("A", uuid.uuid4())) for n in range(60)]
    fields = traced(many)
    assert (len(fields["correlation_ids"]), fields["correlation_ids_left_out"]) == (50, 10)


def test_the_request_line_written_directly_is_the_line_the_chain_writes(logs: Lines) -> None:
    """The `request` line skips structlog's and logging's chains when the process's handler is
    the only one; with another handler beside it, it goes through them: both lines alike."""
    fields = {"method": "GET", "route": "/v1/worklists/{name}", "status": 200,
              "duration_ms": 1.5, "tenant": "0180", "actor": "user:unit"}  # fmt: skip
    structlog.contextvars.bind_contextvars(correlation_id="c0ffee")
    _request_line(logging.INFO, dict(fields))
    _request_line(logging.DEBUG, dict(fields))  # below the level: not written
    root = logging.getLogger()
    beside = logging.NullHandler()
    root.addHandler(beside)
    try:
        _request_line(logging.INFO, dict(fields))
    finally:
        root.removeHandler(beside)
    direct, chained = logs.all()
    assert direct.pop("timestamp").endswith("Z")
    assert chained.pop("timestamp").endswith("Z")
    assert direct == chained == {**fields, "event": "request", "correlation_id": "c0ffee",
                                 "level": "info", "logger": "shared.logs", "service": "unit"}  # fmt: skip
