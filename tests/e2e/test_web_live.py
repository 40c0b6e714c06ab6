"""Live updates over the real services: a caseworker of 0180 has Min dag's stream open (`GET
/live`), a school reports that a student left, and the stream says so within a second or two; the
list it then fetches shows the youth. A caseworker of 1480 hears nothing of 0180's youths. A message
on the topic that is no event is skipped and the stream goes on. Prints the time from the school's
POST to the event."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from kaa.deployment import Deployment
from shared.contracts.topics import IDENTIFY_EVENTS
from tests.conftest import RunningInfra
from tests.e2e.conftest import running
from tests.e2e.web_support import enrolled_seventeen_year_olds, notify, signed_in, start_web

SAMPLES = 3


@dataclass
class Stream:
    """A signed-in user's `/live` stream, read in a thread: (arrival, event, data) as they come."""

    client: httpx.Client
    events: queue.Queue[tuple[float, str, dict[str, list[str]]]] = field(
        default_factory=queue.Queue
    )
    status: list[int] = field(default_factory=list)

    def read(self) -> None:
        event = ""
        try:
            with self.client.stream("GET", "/live") as response:
                self.status.append(response.status_code)
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        event = line.removeprefix("event: ")
                    elif line.startswith("data: "):
                        data = json.loads(line.removeprefix("data: "))
                        self.events.put((time.monotonic(), event, data))
        except httpx.HTTPError:
            return  # the client was closed at the end of the test

    def until(self, youth: str, within: float) -> float | None:
        """When an event naming `youth` arrived, or None within `within` seconds."""
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0:
            try:
                at, event, data = self.events.get(timeout=left)
            except queue.Empty:
                return None
            if event == "worklists" and youth in data["youths"]:
                return at
        return None


def stream_of(url: str, tenant: str) -> Stream:
    stream = Stream(
        signed_in(
            url, tenant=tenant, subject=f"live-{tenant}", timeout=httpx.Timeout(30.0, read=40.0)
        )
    )
    threading.Thread(target=stream.read, daemon=True).start()
    return stream


@pytest.fixture(scope="module")
def live(infra: RunningInfra) -> Iterator[tuple[Deployment, str, list[str]]]:
    """Two municipalities; SAMPLES + 1 enrolled 17-year-olds of 0180 (not in scope), and a web
    process (its cookie not Secure, so that httpx sends it over http)."""
    with running(infra, tenants=("0180", "1480")) as made:
        numbers = enrolled_seventeen_year_olds(made, SAMPLES + 1)
        yield made, start_web(made), numbers


async def garbage(made: Deployment) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=made.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(f"{made.namespace}{IDENTIFY_EVENTS}", b"not an event")
    finally:
        await producer.stop()


def test_a_reported_dropout_reaches_the_open_min_dag_of_its_municipality_only(
    live: tuple[Deployment, str, list[str]],
) -> None:
    made, url, numbers = live
    ours, theirs = stream_of(url, "0180"), stream_of(url, "1480")
    try:
        with made.client("identify", "0180", "school-reporter") as reporter:
            # Listening starts at the latest offset once the web's subscriber has its partitions:
            # an absence report (no change of scope) until the stream hears it.
            warm = numbers[-1]
            deadline = time.monotonic() + 60
            while ours.until(notify(reporter, warm, "absence"), within=2.0) is None:
                assert time.monotonic() < deadline, "the stream never heard the live topics"
            asyncio.run(garbage(made))  # skipped with a log line; the stream goes on
            took = []
            for personnummer in numbers[:SAMPLES]:
                posted = time.monotonic()
                youth = notify(reporter, personnummer, "left")
                heard = ours.until(youth, within=5.0)
                assert heard is not None, "the reported dropout never reached the stream"
                took.append(heard - posted)
                page = ours.client.get("/min-dag/lista", params={"vems": "all"},
                                       headers={"HX-Request": "true"})  # fmt: skip
                assert page.status_code == 200
                assert f'href="/ungdomar/{youth}"' in page.text  # on the list at once
        print("school's POST -> SSE event on the open page, ms: "
              + ", ".join(f"{t * 1000:.0f}" for t in took))  # fmt: skip
        assert max(took) < 2.0, took
        assert ours.status == [200]
        heard_by_1480 = []
        while not theirs.events.empty():
            heard_by_1480.extend(theirs.events.get()[2]["youths"])
        assert heard_by_1480 == []
        assert theirs.status == [200]
    finally:
        ours.client.close()
        theirs.client.close()
    log = (made.logs_dir / "web.log").read_text()
    assert "live updates: message skipped" in log
    assert "not an event" not in log


def test_the_stream_needs_a_session_and_the_list_fragment_sends_htmx_to_sign_in(
    live: tuple[Deployment, str, list[str]],
) -> None:
    _, url, _ = live
    with httpx.Client(base_url=url, timeout=10.0) as anonymous:
        assert anonymous.get("/live").status_code == 401
        fragment = anonymous.get("/min-dag/lista", headers={"HX-Request": "true"})
        assert fragment.headers["HX-Redirect"] == "/logga-in"
        assert fragment.text == ""
        assert anonymous.get("/min-dag/lista").status_code in (302, 303, 307)
